package dp

import (
	"errors"
	"fmt"
	"math"
)

// Accounting in zero-concentrated differential privacy (zCDP; Bun and
// Steinke, "Concentrated Differential Privacy: Simplifications,
// Extensions, and Lower Bounds", TCC 2016):
//
//   - a pure ε-DP mechanism (each released query, discrete Laplace) is
//     ρ = ε²/2-zCDP (BS16 Proposition 1.4);
//   - ρ-zCDP mechanisms compose by adding ρ (BS16 Lemma 1.7);
//   - ρ-zCDP implies (ρ + 2·√(ρ·ln(1/δ)), δ)-DP for every δ > 0 (BS16
//     Proposition 1.3), which converts a budget (ε, δ) into the largest ρ
//     it allows.
//
// Partition selection adds a δ of its own (see ReleaseSelected); those
// compose by adding δ, from a separate pool. A budget (ε, δ) is split:
// δ/2 for the zCDP conversion, δ/2 for selection.
//
// Units are integers so that the ledger adds exactly: a query's ε is in
// thousandths (EpsMilli), ρ in units of RhoUnit = 5·10⁻⁷, so that an
// ε-DP query costs exactly EpsMilli² units; δ in units of 10⁻¹².

// RhoUnit is the ledger's unit of ρ: (10⁻³)²/2.
const RhoUnit = 5e-7

// DeltaUnit is the ledger's unit of δ.
const DeltaUnit = 1e-12

// ErrBudgetExhausted reports a query the budget cannot pay for.
var ErrBudgetExhausted = errors.New("dp: privacy budget exhausted")

// ErrEpsilon reports a query ε outside the accountant's range.
var ErrEpsilon = errors.New("dp: query epsilon out of range")

// RhoFor is the largest ρ with ρ + 2·√(ρ·ln(1/δ)) ≤ ε (BS16 Prop. 1.3
// inverted): ρ = (√(L+ε) − √L)², L = ln(1/δ).
func RhoFor(eps, delta float64) float64 {
	l := math.Log(1 / delta)
	r := math.Sqrt(l+eps) - math.Sqrt(l)
	return r * r
}

// EpsilonFor is the ε of ρ-zCDP at δ: ρ + 2·√(ρ·ln(1/δ)).
func EpsilonFor(rho, delta float64) float64 {
	return rho + 2*math.Sqrt(rho*math.Log(1/delta))
}

// QueryRhoUnits is the zCDP cost of one ε-DP query, ε = epsMilli/1000.
func QueryRhoUnits(epsMilli int64) int64 { return epsMilli * epsMilli }

// Budget is an (ε, δ)-DP allowance.
type Budget struct {
	Epsilon float64
	Delta   float64
}

// RhoUnits is the zCDP allowance of b in ledger units (rounded down), with
// δ/2 reserved for partition selection.
func (b Budget) RhoUnits() int64 { return int64(math.Floor(RhoFor(b.Epsilon, b.Delta/2) / RhoUnit)) }

// DeltaUnits is b's selection δ pool in ledger units (rounded down).
func (b Budget) DeltaUnits() int64 { return int64(math.Floor(b.Delta / 2 / DeltaUnit)) }

// Accountant decides whether a query fits a tenant's budgets.
type Accountant struct {
	// Period is the allowance per period (e.g. per month); Lifetime the
	// cap over the tenant's whole life, which bounds any subject's total
	// privacy loss.
	Period, Lifetime Budget
	// MinEpsMilli and MaxEpsMilli bound a single query's ε (thousandths).
	MinEpsMilli, MaxEpsMilli int64
}

// Validate checks the accountant's settings.
func (a Accountant) Validate() error {
	for _, b := range []Budget{a.Period, a.Lifetime} {
		if !(b.Epsilon > 0) || !(b.Delta > 0 && b.Delta < 1) {
			return fmt.Errorf("%w: budget ε %v δ %v", ErrParam, b.Epsilon, b.Delta)
		}
	}
	if a.MinEpsMilli < 1 || a.MaxEpsMilli < a.MinEpsMilli {
		return fmt.Errorf("%w: query ε range [%d, %d]‰", ErrParam, a.MinEpsMilli, a.MaxEpsMilli)
	}
	if a.Lifetime.Epsilon < a.Period.Epsilon || a.Lifetime.Delta < a.Period.Delta {
		return fmt.Errorf("%w: the lifetime cap is below the period budget", ErrParam)
	}
	if QueryRhoUnits(a.MaxEpsMilli) > a.Period.RhoUnits() {
		return fmt.Errorf("%w: a query of the maximum ε %g does not fit the period budget (at most %g)", ErrParam,
			float64(a.MaxEpsMilli)/1000, a.Remaining(Spent{}))
	}
	return nil
}

// Spent is what a tenant has spent, in ledger units.
type Spent struct {
	PeriodRho, PeriodDelta, LifetimeRho, LifetimeDelta int64
}

// Check returns nil if a query of ε = epsMilli/1000 spending deltaUnits of
// selection δ fits both budgets given what is spent; ErrEpsilon or
// ErrBudgetExhausted otherwise.
func (a Accountant) Check(s Spent, epsMilli, deltaUnits int64) error {
	if epsMilli < a.MinEpsMilli || epsMilli > a.MaxEpsMilli {
		return ErrEpsilon
	}
	rho := QueryRhoUnits(epsMilli)
	if s.PeriodRho+rho > a.Period.RhoUnits() || s.LifetimeRho+rho > a.Lifetime.RhoUnits() ||
		s.PeriodDelta+deltaUnits > a.Period.DeltaUnits() || s.LifetimeDelta+deltaUnits > a.Lifetime.DeltaUnits() {
		return ErrBudgetExhausted
	}
	return nil
}

// Remaining is the largest single-query ε (rounded down to thousandths)
// both budgets can still pay for, from the ρ left: ε = √(2ρ) (0 if none).
func (a Accountant) Remaining(s Spent) float64 {
	left := min(a.Period.RhoUnits()-s.PeriodRho, a.Lifetime.RhoUnits()-s.LifetimeRho)
	if left <= 0 {
		return 0
	}
	m := int64(math.Floor(math.Sqrt(float64(left))))
	for m*m > left {
		m--
	}
	return float64(m) / 1000
}

// SpentEpsilon converts spent ρ into the ε it amounts to at the budget's
// conversion δ (for display).
func (b Budget) SpentEpsilon(rhoUnits int64) float64 {
	if rhoUnits <= 0 {
		return 0
	}
	return EpsilonFor(float64(rhoUnits)*RhoUnit, b.Delta/2)
}

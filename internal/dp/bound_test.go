package dp

import (
	"errors"
	"math"
	"math/big"
	"testing"
)

func TestBound(t *testing.T) {
	cs := []Contribution{
		{"a", "x", 1}, {"a", "x", 1}, {"a", "x", 1}, // summed to 3, clamped to LInf 2
		{"a", "y", 1},
		{"b", "x", 1}, {"b", "y", 5}, {"b", "z", -4}, // negative clamps to 0
		{"c", "k1", 1}, {"c", "k2", 1}, {"c", "k3", 1}, {"c", "k4", 1}, {"c", "k5", 1}, // 5 keys, L0 3
	}
	got, err := Bound(seeded(1), cs, Bounds{L0: 3, LInf: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got["x"] != 3 || got["y"] != 3 || got["z"] != 0 {
		t.Errorf("sums %v: want x 3 (2+1), y 3 (1+2), z 0", got)
	}
	c := 0
	for _, k := range []string{"k1", "k2", "k3", "k4", "k5"} {
		c += int(got[k])
	}
	if c != 3 {
		t.Errorf("subject c kept %d partitions, want L0 = 3", c)
	}
	// The kept partitions are uniform: over many runs each of 5 keys is
	// kept 3/5 of the time.
	counts := map[string]int{}
	const n = 20000
	r := seeded(2)
	for range n {
		got, err := Bound(r, cs[7:], Bounds{L0: 3, LInf: 1})
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range got {
			counts[k] += int(v)
		}
	}
	sd := math.Sqrt(n * 0.6 * 0.4)
	for k, v := range counts {
		if math.Abs(float64(v)-0.6*n) > 5*sd {
			t.Errorf("key %s kept %d of %d times, want about %.0f", k, v, n, 0.6*n)
		}
	}
	if (Bounds{L0: 6, LInf: 2}).L1() != 12 {
		t.Error("L1 of (6, 2) is not 12")
	}
}

// TestIntervalCoverage: the released interval holds the true value in
// about Confidence of releases, measured on fresh draws.
func TestIntervalCoverage(t *testing.T) {
	for _, scale := range []*big.Rat{big.NewRat(1, 1), big.NewRat(6, 1), big.NewRat(40, 1)} {
		const n = 4000
		r := seeded(3)
		in := 0
		sums := map[string]int64{"k": 1000}
		for range n {
			res, err := Release(r, sums, []string{"k"}, scale, 0.95)
			if err != nil {
				t.Fatal(err)
			}
			if iv := res[0].Interval; iv[0] <= 1000 && 1000 <= iv[1] {
				in++
			}
		}
		cov := float64(in) / n
		if cov < 0.94 || cov > 0.985 { // discrete: coverage is ≥ 95%, a little above
			t.Errorf("scale %v: coverage %.3f, want ≥ 0.95 (and not far above)", scale, cov)
		}
		// The half-width is the least k with P(|X| ≤ k) ≥ 0.95, exactly.
		tf, _ := scale.Float64()
		q := math.Exp(-1 / tf)
		k := LaplaceHalfWidth(scale, 0.95)
		if tail := 2 * math.Pow(q, float64(k+1)) / (1 + q); tail > 0.05 {
			t.Errorf("scale %v: half-width %d leaves %.4f outside", scale, k, tail)
		}
		if k > 0 {
			if tail := 2 * math.Pow(q, float64(k)) / (1 + q); tail <= 0.05 {
				t.Errorf("scale %v: half-width %d is not the least (k−1 leaves %.4f)", scale, k, tail)
			}
		}
	}
}

func TestSelectThreshold(t *testing.T) {
	scale := big.NewRat(4, 1)
	tau := SelectThreshold(scale, 1, 1e-6)
	q := math.Exp(-1.0 / 4)
	// A partition of one subject (true count 1) passes with P(X ≥ τ−1).
	if p := math.Pow(q, float64(tau-1)) / (1 + q); p > 1e-6 {
		t.Errorf("τ = %d lets a single subject's key through with p = %g", tau, p)
	}
	if p := math.Pow(q, float64(tau-2)) / (1 + q); p <= 1e-6 {
		t.Errorf("τ = %d is not the least threshold", tau)
	}
	// Measured: with δ = 0.05 (so the event is visible), a one-subject key
	// is released at most about 5% of the time; a popular key always.
	tau = SelectThreshold(scale, 1, 0.05)
	r := seeded(4)
	rare := 0
	const n = 20000
	for range n {
		res, err := ReleaseSelected(r, map[string]int64{"rare": 1, "popular": 200}, scale, tau, 0.95)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, x := range res {
			seen[x.Key] = true
		}
		if seen["rare"] {
			rare++
		}
		if !seen["popular"] {
			t.Fatal("a key with 200 subjects was suppressed")
		}
	}
	if p := float64(rare) / n; p > 0.05+4*math.Sqrt(0.05*0.95/n) {
		t.Errorf("one-subject key released %.4f of the time, want ≤ 0.05", p)
	}
}

func TestAccountant(t *testing.T) {
	a := Accountant{Period: Budget{Epsilon: 10, Delta: 1e-6}, Lifetime: Budget{Epsilon: 30, Delta: 1e-5}, MinEpsMilli: 50, MaxEpsMilli: 1000}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	// The conversion round-trips: ρ allowed by (ε, δ) converts back to ε.
	for _, b := range []Budget{a.Period, a.Lifetime, {1, 1e-9}} {
		rho := RhoFor(b.Epsilon, b.Delta)
		if got := EpsilonFor(rho, b.Delta); math.Abs(got-b.Epsilon) > 1e-9 {
			t.Errorf("EpsilonFor(RhoFor(%v)) = %v", b, got)
		}
	}
	// ε = 1 costs ρ = 1/2: 1000² units of 5e-7.
	if got := float64(QueryRhoUnits(1000)) * RhoUnit; got != 0.5 {
		t.Errorf("ρ of ε = 1 is %v, want 0.5", got)
	}
	// Spend ε = 1 queries until refused: the count is ⌊ρ_period / 0.5⌋.
	var s Spent
	n := 0
	for a.Check(s, 1000, 0) == nil {
		s.PeriodRho += QueryRhoUnits(1000)
		s.LifetimeRho += QueryRhoUnits(1000)
		n++
	}
	if want := int(RhoFor(10, 0.5e-6) / 0.5); n != want {
		t.Errorf("%d queries of ε = 1 fit the period, want %d", n, want)
	}
	if err := a.Check(s, 1000, 0); !errors.Is(err, ErrBudgetExhausted) {
		t.Errorf("overspend: %v", err)
	}
	// What the period spent, converted, stays within the period's ε.
	if e := a.Period.SpentEpsilon(s.PeriodRho); e > 10 {
		t.Errorf("spent ε %v > 10", e)
	}
	if r := a.Remaining(s); r >= 1 || a.Check(s, int64(r*1000), 0) != nil && r >= 0.05 {
		t.Errorf("Remaining = %v, but a query of that ε is refused or ε = 1 was refused", r)
	}
	// Range and lifetime.
	for _, em := range []int64{49, 1001, 0} {
		if err := a.Check(Spent{}, em, 0); !errors.Is(err, ErrEpsilon) {
			t.Errorf("ε %d‰: %v, want ErrEpsilon", em, err)
		}
	}
	if err := a.Check(Spent{LifetimeRho: a.Lifetime.RhoUnits()}, 50, 0); !errors.Is(err, ErrBudgetExhausted) {
		t.Errorf("lifetime cap not enforced: %v", err)
	}
	if err := a.Check(Spent{PeriodDelta: a.Period.DeltaUnits()}, 50, 1); !errors.Is(err, ErrBudgetExhausted) {
		t.Errorf("selection δ pool not enforced: %v", err)
	}
	bad := a
	bad.Lifetime.Epsilon = 5
	if bad.Validate() == nil {
		t.Error("a lifetime cap below the period budget validated")
	}
}

package squeeze

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// FitModel fits a Model for squeezer k to natural faces:
// least squares of ln(shift) on ln(side) over the pairs (sides[i],
// shifts[i]), Sigma the residuals' root mean square. It needs at least
// three faces of at least two sizes.
func FitModel(k Squeezer, sides []int, shifts []float64) (Model, error) {
	if len(sides) != len(shifts) || len(sides) < 3 {
		return Model{}, fmt.Errorf("fit %v: %d sides, %d shifts", k, len(sides), len(shifts))
	}
	n := float64(len(sides))
	var mx, my float64
	xs, ys := make([]float64, len(sides)), make([]float64, len(sides))
	for i := range sides {
		xs[i], ys[i] = math.Log(float64(max(sides[i], 1))), math.Log(max(shifts[i], MinShift))
		mx += xs[i] / n
		my += ys[i] / n
	}
	var sxx, sxy float64
	for i := range xs {
		sxx += (xs[i] - mx) * (xs[i] - mx)
		sxy += (xs[i] - mx) * (ys[i] - my)
	}
	if sxx == 0 {
		return Model{}, fmt.Errorf("fit %v: every face has the same size", k)
	}
	m := Model{Squeezer: k, B: sxy / sxx}
	m.A = my - m.B*mx
	var ss float64
	for i := range xs {
		r := ys[i] - m.A - m.B*xs[i]
		ss += r * r
	}
	m.Sigma = math.Sqrt(ss / n)
	if m.Sigma == 0 {
		return Model{}, fmt.Errorf("fit %v: no spread", k)
	}
	return m, nil
}

// Quantile is the q-quantile (0..1, nearest rank) of xs.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// ReadShifts reads a calibration CSV (one face a line: file, variant,
// region side in pixels, then n shifts in model order), as
// guardeval.TestCalibrateSqueeze writes it.
func ReadShifts(r io.Reader, n int) (sides []int, shifts [][]float64, err error) {
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		f := strings.Split(sc.Text(), ",")
		if len(f) != 3+n {
			return nil, nil, fmt.Errorf("line %d: %d fields, want %d", line, len(f), 3+n)
		}
		side, err := strconv.Atoi(f[2])
		if err != nil || side <= 0 {
			return nil, nil, fmt.Errorf("line %d: side %q", line, f[2])
		}
		sh := make([]float64, n)
		for i := range sh {
			if sh[i], err = strconv.ParseFloat(f[3+i], 64); err != nil || sh[i] < 0 || math.IsNaN(sh[i]) || math.IsInf(sh[i], 0) {
				return nil, nil, fmt.Errorf("line %d: shift %q", line, f[3+i])
			}
		}
		sides, shifts = append(sides, side), append(shifts, sh)
	}
	return sides, shifts, sc.Err()
}

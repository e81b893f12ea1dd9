// Package normality tests whether values look normally distributed: the
// Shapiro–Wilk W statistic, which the extraction guard (package guard,
// PRADA) applies to the distances between a key's queries.
package normality

import (
	"math"
	"slices"
)

// ShapiroWilk returns the Shapiro–Wilk W statistic of x (3 ≤ n ≤ 5000):
// close to 1 when x looks normally distributed, lower when it does not.
// Coefficients follow Royston's approximation (Royston 1992, "Approximating
// the Shapiro-Wilk W-test for non-normality", the algorithm behind R's
// shapiro.test). It returns 1 for fewer than 3 values or zero spread.
func ShapiroWilk(x []float64) float64 {
	n := len(x)
	if n < 3 || n > 5000 {
		return 1
	}
	s := slices.Clone(x)
	slices.Sort(s)
	if s[n-1]-s[0] == 0 {
		return 1
	}
	a := swCoefficients(n)
	mean := 0.0
	for _, v := range s {
		mean += v
	}
	mean /= float64(n)
	num, den := 0.0, 0.0
	for i, v := range s {
		num += a[i] * v
		den += (v - mean) * (v - mean)
	}
	w := num * num / den
	return math.Min(w, 1)
}

// normQuantile is Φ⁻¹(p).
func normQuantile(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }

// swCoefficients are the a_i of W for sample size n (antisymmetric).
func swCoefficients(n int) []float64 {
	a := make([]float64, n)
	if n == 3 {
		a[0], a[2] = -math.Sqrt(0.5), math.Sqrt(0.5)
		return a
	}
	m := make([]float64, n)
	mm := 0.0
	for i := range n {
		m[i] = normQuantile((float64(i+1) - 0.375) / (float64(n) + 0.25))
		mm += m[i] * m[i]
	}
	u := 1 / math.Sqrt(float64(n))
	poly := func(c0 float64, c ...float64) float64 {
		v, p := c0, u
		for _, ci := range c {
			v += ci * p
			p *= u
		}
		return v
	}
	an := poly(m[n-1]/math.Sqrt(mm), 0.221157, -0.147981, -2.071190, 4.434685, -2.706056)
	if n <= 5 {
		phi := (mm - 2*m[n-1]*m[n-1]) / (1 - 2*an*an)
		for i := 1; i < n-1; i++ {
			a[i] = m[i] / math.Sqrt(phi)
		}
		a[0], a[n-1] = -an, an
		return a
	}
	an1 := poly(m[n-2]/math.Sqrt(mm), 0.042981, -0.293762, -1.752461, 5.682633, -3.582633)
	phi := (mm - 2*m[n-1]*m[n-1] - 2*m[n-2]*m[n-2]) / (1 - 2*an*an - 2*an1*an1)
	for i := 2; i < n-2; i++ {
		a[i] = m[i] / math.Sqrt(phi)
	}
	a[0], a[1], a[n-2], a[n-1] = -an, -an1, an1, an
	return a
}

package scene

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Shape is a head's architecture: In features, one hidden ReLU layer of
// Hidden units (0: none, a logistic regression), Out classes with softmax.
type Shape struct {
	In, Hidden, Out int
}

// Len is the number of parameters.
func (s Shape) Len() int {
	if s.Hidden == 0 {
		return s.Out*s.In + s.Out
	}
	return s.Hidden*s.In + s.Hidden + s.Out*s.Hidden + s.Out
}

// Valid reports whether the shape is usable.
func (s Shape) Valid() bool {
	return s.In > 0 && s.In <= 1<<14 && s.Out >= 2 && s.Out <= 64 && s.Hidden >= 0 && s.Hidden <= 1024 && s.Len() <= 1<<20
}

// Example is one labelled feature vector.
type Example struct {
	X []float32
	Y int
}

// Head is a small classifier over feature vectors; W holds every parameter
// in the order W1 (Hidden×In), b1, W2 (Out×Hidden), b2 (or W, b without a
// hidden layer).
type Head struct {
	Shape
	W []float64
}

// ErrShape: parameters and shape disagree, or a feature vector has the wrong length.
var ErrShape = errors.New("fl: shape mismatch")

// NewHead returns a head with Glorot-uniform weights from seed.
func NewHead(s Shape, seed uint64) (*Head, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("shape %+v: %w", s, ErrShape)
	}
	h := &Head{Shape: s, W: make([]float64, s.Len())}
	r := rand.New(rand.NewPCG(seed, 0x666c))
	fill := func(w []float64, fanIn, fanOut int) {
		lim := math.Sqrt(6 / float64(fanIn+fanOut))
		for i := range w {
			w[i] = (2*r.Float64() - 1) * lim
		}
	}
	if s.Hidden == 0 {
		fill(h.W[:s.Out*s.In], s.In, s.Out)
	} else {
		fill(h.W[:s.Hidden*s.In], s.In, s.Hidden)
		o := s.Hidden*s.In + s.Hidden
		fill(h.W[o:o+s.Out*s.Hidden], s.Hidden, s.Out)
	}
	return h, nil
}

// Clone copies the head.
func (h *Head) Clone() *Head { return &Head{Shape: h.Shape, W: append([]float64(nil), h.W...)} }

// forward computes hidden activations (nil without a hidden layer) and class
// probabilities for x.
func (h *Head) forward(x []float32, hid, p []float64) {
	s := h.Shape
	in := func(i int) float64 { return float64(x[i]) }
	var w2, b2 []float64
	n := s.In
	if s.Hidden > 0 {
		w1, b1 := h.W[:s.Hidden*s.In], h.W[s.Hidden*s.In:s.Hidden*s.In+s.Hidden]
		for j := 0; j < s.Hidden; j++ {
			a := b1[j]
			row := w1[j*s.In : (j+1)*s.In]
			for i, v := range x {
				a += row[i] * float64(v)
			}
			hid[j] = math.Max(a, 0)
		}
		o := s.Hidden*s.In + s.Hidden
		w2, b2 = h.W[o:o+s.Out*s.Hidden], h.W[o+s.Out*s.Hidden:]
		n = s.Hidden
		in = func(i int) float64 { return hid[i] }
	} else {
		w2, b2 = h.W[:s.Out*s.In], h.W[s.Out*s.In:]
	}
	mx := math.Inf(-1)
	for k := 0; k < s.Out; k++ {
		a := b2[k]
		row := w2[k*n : (k+1)*n]
		for i := 0; i < n; i++ {
			a += row[i] * in(i)
		}
		p[k] = a
		mx = math.Max(mx, a)
	}
	var z float64
	for k := range p[:s.Out] {
		p[k] = math.Exp(p[k] - mx)
		z += p[k]
	}
	for k := range p[:s.Out] {
		p[k] /= z
	}
}

// Predict returns the most probable class of x.
func (h *Head) Predict(x []float32) int {
	hid := make([]float64, h.Hidden)
	p := make([]float64, h.Out)
	h.forward(x, hid, p)
	best := 0
	for k := range p {
		if p[k] > p[best] {
			best = k
		}
	}
	return best
}

// Accuracy is the fraction of data h classifies correctly (0 for no data).
func (h *Head) Accuracy(data []Example) float64 {
	if len(data) == 0 {
		return 0
	}
	ok := 0
	for _, e := range data {
		if h.Predict(e.X) == e.Y {
			ok++
		}
	}
	return float64(ok) / float64(len(data))
}

// Check verifies that every example fits the shape.
func (h *Head) Check(data []Example) error {
	for _, e := range data {
		if len(e.X) != h.In || e.Y < 0 || e.Y >= h.Out {
			return fmt.Errorf("example of %d features, label %d: %w", len(e.X), e.Y, ErrShape)
		}
	}
	return nil
}

// Train runs epochs of SGD (batch size 1, cross-entropy loss, learning rate
// lr) over data in an order drawn from seed.
func (h *Head) Train(data []Example, epochs int, lr float64, seed uint64) {
	s := h.Shape
	r := rand.New(rand.NewPCG(seed, 0x7472))
	hid := make([]float64, s.Hidden)
	p := make([]float64, s.Out)
	dh := make([]float64, s.Hidden)
	order := make([]int, len(data))
	for i := range order {
		order[i] = i
	}
	for ep := 0; ep < epochs; ep++ {
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, idx := range order {
			e := data[idx]
			h.forward(e.X, hid, p)
			p[e.Y]-- // dL/dlogit
			if s.Hidden == 0 {
				w, b := h.W[:s.Out*s.In], h.W[s.Out*s.In:]
				for k := 0; k < s.Out; k++ {
					g := lr * p[k]
					row := w[k*s.In : (k+1)*s.In]
					for i, v := range e.X {
						row[i] -= g * float64(v)
					}
					b[k] -= g
				}
				continue
			}
			o := s.Hidden*s.In + s.Hidden
			w2, b2 := h.W[o:o+s.Out*s.Hidden], h.W[o+s.Out*s.Hidden:]
			clear(dh)
			for k := 0; k < s.Out; k++ {
				g := p[k]
				row := w2[k*s.Hidden : (k+1)*s.Hidden]
				for j := range row {
					if hid[j] > 0 {
						dh[j] += g * row[j]
					}
					row[j] -= lr * g * hid[j]
				}
				b2[k] -= lr * g
			}
			w1, b1 := h.W[:s.Hidden*s.In], h.W[s.Hidden*s.In:o]
			for j := 0; j < s.Hidden; j++ {
				if dh[j] == 0 {
					continue
				}
				g := lr * dh[j]
				row := w1[j*s.In : (j+1)*s.In]
				for i, v := range e.X {
					row[i] -= g * float64(v)
				}
				b1[j] -= g
			}
		}
	}
}

// Loss is the mean cross-entropy of h on data (+Inf for no data), in nats;
// a probability below 1e-12 counts as 1e-12.
func (h *Head) Loss(data []Example) float64 {
	if len(data) == 0 {
		return math.Inf(1)
	}
	hid := make([]float64, h.Hidden)
	p := make([]float64, h.Out)
	var l float64
	for _, e := range data {
		h.forward(e.X, hid, p)
		l -= math.Log(math.Max(p[e.Y], 1e-12))
	}
	return l / float64(len(data))
}

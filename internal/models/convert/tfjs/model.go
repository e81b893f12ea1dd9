// Package tfjs converts TensorFlow.js models (graph models and Keras layers
// models, as the npm packages of BlazeFace, CenterNet and nsfwjs ship them)
// into ONNX graphs that Obscura runs with ONNX Runtime. Conversion happens
// once, at setup, on files whose hashes the model manifest pins; the output
// is deterministic, so its SHA-256 is pinned as well.
//
// The parsers here read third-party files (model.json, weight shards, and
// the JavaScript modules in which nsfwjs wraps its model): they bound sizes,
// check every shape against the bytes present, and return errors rather than
// panicking on malformed input (fuzzed).
//
// Only the operators these models use are supported; anything else is a
// clear error naming the operator, never a silently wrong graph.
package tfjs

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// ErrFormat reports a model file this package cannot read.
var ErrFormat = errors.New("tfjs: malformed model")

// ErrUnsupported reports an operator or layer this converter does not handle.
var ErrUnsupported = errors.New("tfjs: unsupported")

// maxElements bounds one weight tensor (256 M values).
const maxElements = 1 << 28

// Weight is one decoded weight tensor. Floating-point weights (including
// quantized ones, dequantized here) fill F; int32 weights fill I.
type Weight struct {
	Name  string
	Shape []int
	F     []float32
	I     []int32
}

// Len is the number of elements.
func (w Weight) Len() int {
	if w.F != nil {
		return len(w.F)
	}
	return len(w.I)
}

type quantization struct {
	DType string  `json:"dtype"`
	Scale float64 `json:"scale"`
	Min   float64 `json:"min"`
}

type weightSpec struct {
	Name         string        `json:"name"`
	Shape        []int         `json:"shape"`
	DType        string        `json:"dtype"`
	Quantization *quantization `json:"quantization"`
}

type weightGroup struct {
	Paths   []string     `json:"paths"`
	Weights []weightSpec `json:"weights"`
}

func elements(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 || d > maxElements {
			return 0, fmt.Errorf("%w: dimension %d", ErrFormat, d)
		}
		n *= d
		if n > maxElements {
			return 0, fmt.Errorf("%w: tensor of over %d elements", ErrFormat, maxElements)
		}
	}
	return n, nil
}

// decodeWeights reads the weights a manifest lists from the concatenation
// of its shards, in order.
func decodeWeights(groups []weightGroup, data []byte) (map[string]Weight, error) {
	out := map[string]Weight{}
	off := 0
	for _, g := range groups {
		for _, s := range g.Weights {
			n, err := elements(s.Shape)
			if err != nil {
				return nil, fmt.Errorf("weight %q: %w", s.Name, err)
			}
			w := Weight{Name: s.Name, Shape: s.Shape}
			width := 4
			enc := s.DType
			if s.Quantization != nil {
				enc = s.Quantization.DType
				switch enc {
				case "uint8":
					width = 1
				case "uint16", "float16":
					width = 2
				default:
					return nil, fmt.Errorf("weight %q: %w quantization %q", s.Name, ErrUnsupported, enc)
				}
			}
			if off+n*width > len(data) || off+n*width < off {
				return nil, fmt.Errorf("weight %q: %w: shards end before its data", s.Name, ErrFormat)
			}
			b := data[off : off+n*width]
			off += n * width
			switch {
			case s.DType == "int32" && s.Quantization == nil:
				w.I = make([]int32, n)
				for i := range w.I {
					w.I[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
				}
			case s.DType == "float32" && s.Quantization == nil:
				w.F = make([]float32, n)
				for i := range w.F {
					w.F[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
				}
			case s.DType == "float32" && enc == "float16":
				w.F = make([]float32, n)
				for i := range w.F {
					w.F[i] = halfToFloat(binary.LittleEndian.Uint16(b[2*i:]))
				}
			case s.DType == "float32" && enc == "uint8":
				w.F = make([]float32, n)
				for i := range w.F {
					w.F[i] = float32(float64(b[i])*s.Quantization.Scale + s.Quantization.Min)
				}
			case s.DType == "float32" && enc == "uint16":
				w.F = make([]float32, n)
				for i := range w.F {
					w.F[i] = float32(float64(binary.LittleEndian.Uint16(b[2*i:]))*s.Quantization.Scale + s.Quantization.Min)
				}
			default:
				return nil, fmt.Errorf("weight %q: %w dtype %q", s.Name, ErrUnsupported, s.DType)
			}
			if _, dup := out[s.Name]; dup {
				return nil, fmt.Errorf("weight %q: %w: listed twice", s.Name, ErrFormat)
			}
			out[s.Name] = w
		}
	}
	if off != len(data) {
		return nil, fmt.Errorf("%w: %d bytes of shard data left over", ErrFormat, len(data)-off)
	}
	return out, nil
}

// halfToFloat converts an IEEE 754 binary16 value.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0 && man == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		for man&0x400 == 0 {
			man <<= 1
			exp--
		}
		exp++
		man &= 0x3ff
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | man<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
}

// Weights decodes a model.json's weights manifest over the concatenated
// shard bytes (exported for tests and tools that inspect models).
func Weights(modelJSON, shards []byte) (map[string]Weight, error) {
	var m struct {
		WeightsManifest []weightGroup `json:"weightsManifest"`
	}
	if err := json.Unmarshal(modelJSON, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return decodeWeights(m.WeightsManifest, shards)
}

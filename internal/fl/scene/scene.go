// Package scene is federated learning's first task: classifying a photo
// as a document, a screenshot or a photo from a small feature vector
// (Features), the committed scene-v1 feature set it is evaluated on
// (SceneData; the scene-v1 format is in docs/spec/secagg-v1.md), and the classifier head devices and the
// coordinator train (Head: logistic regression or one hidden layer).
package scene

import (
	_ "embed" // SceneData
	"encoding/binary"
	"errors"
	"fmt"
)

// Scene is a labelled feature set of the scene task: each example with the
// group it came from (a source text, an application theme, a photograph), so
// held-out splits never share a source with training data.
type Scene struct {
	Examples []Example
	Groups   []uint16
}

// ErrScene: the bytes are not a scene-v1 feature set.
var ErrScene = errors.New("fl: malformed scene feature set")

// maxScene bounds the examples ReadScene accepts.
const maxScene = 1 << 20

// ReadScene parses the scene-v1 layout: "OFLS", version 1, the feature
// length (uint16 BE), the count (uint32 BE), then per example its label
// (uint8), its group (uint16 BE) and its features, one byte each (v·255).
func ReadScene(b []byte) (*Scene, error) {
	if len(b) < 11 || string(b[:4]) != "OFLS" || b[4] != 1 {
		return nil, fmt.Errorf("header: %w", ErrScene)
	}
	dim := int(binary.BigEndian.Uint16(b[5:]))
	n := int(binary.BigEndian.Uint32(b[7:]))
	rest := b[11:]
	if dim == 0 || n > maxScene || len(rest) != n*(3+dim) {
		return nil, fmt.Errorf("length: %w", ErrScene)
	}
	s := &Scene{Examples: make([]Example, n), Groups: make([]uint16, n)}
	for i := 0; i < n; i++ {
		r := rest[i*(3+dim):]
		x := make([]float32, dim)
		for j := range x {
			x[j] = float32(r[3+j]) / 255
		}
		s.Examples[i] = Example{X: x, Y: int(r[0])}
		s.Groups[i] = binary.BigEndian.Uint16(r[1:])
	}
	return s, nil
}

// Add appends an example from the given group.
func (s *Scene) Add(e Example, group uint16) {
	s.Examples = append(s.Examples, e)
	s.Groups = append(s.Groups, group)
}

// Marshal writes the scene-v1 layout ReadScene parses; features are
// clamped to [0, 1] and rounded to the nearest byte. A missing group is 0.
func (s *Scene) Marshal() []byte {
	dim := 0
	if len(s.Examples) > 0 {
		dim = len(s.Examples[0].X)
	}
	b := binary.BigEndian.AppendUint16([]byte("OFLS\x01"), uint16(dim))
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.Examples)))
	for i, e := range s.Examples {
		var g uint16
		if i < len(s.Groups) {
			g = s.Groups[i]
		}
		b = binary.BigEndian.AppendUint16(append(b, byte(e.Y)), g)
		for _, v := range e.X {
			b = append(b, byte(min(max(v, 0), 1)*255+0.5))
		}
	}
	return b
}

// Split divides the set by group: test (held out from every client and from
// the canary: group mod 5 = 0), canary (the server's check set: group mod 5
// = 1) and train (the rest, for clients and the seed).
func (s *Scene) Split() (train, canary, test []Example) {
	for i, e := range s.Examples {
		switch s.Groups[i] % 5 {
		case 0:
			test = append(test, e)
		case 1:
			canary = append(canary, e)
		default:
			train = append(train, e)
		}
	}
	return train, canary, test
}

// SceneData is the scene task's feature set (data/README.md says how it was
// made): the seed, canary and held-out sets of simulations and tests.
//
//go:embed data/scene.bin
var SceneData []byte

// Package onnxgraph builds ONNX models (the ModelProto protobuf of
// onnx/onnx.proto, IR version 8, default opset 13) from Go, so that
// Obscura's model converters produce byte-for-byte deterministic files whose
// SHA-256 can be pinned in the model manifest. Only what the converters need
// is encoded: nodes, attributes, float32/int64 initializers, and graph inputs
// and outputs.
//
// It writes graphs; it does not parse or validate them. ONNX Runtime checks
// every graph it loads.
package onnxgraph

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Opset is the default ONNX operator set the graphs target.
const Opset = 13

// IRVersion is the ONNX IR version written.
const IRVersion = 8

// Element types (TensorProto.DataType).
const (
	Float = 1
	Int32 = 6
	Int64 = 7
)

// Attr is one node attribute.
type Attr struct {
	name   string
	kind   int // AttributeProto.AttributeType
	f      float32
	i      int64
	s      string
	floats []float32
	ints   []int64
}

// Int is an INT attribute.
func Int(name string, v int64) Attr { return Attr{name: name, kind: 2, i: v} }

// F is a FLOAT attribute.
func F(name string, v float32) Attr { return Attr{name: name, kind: 1, f: v} }

// S is a STRING attribute.
func S(name, v string) Attr { return Attr{name: name, kind: 3, s: v} }

// Ints is an INTS attribute.
func Ints(name string, v ...int64) Attr { return Attr{name: name, kind: 7, ints: v} }

// Floats is a FLOATS attribute.
func Floats(name string, v ...float32) Attr { return Attr{name: name, kind: 6, floats: v} }

type node struct {
	op      string
	name    string
	inputs  []string
	outputs []string
	attrs   []Attr
}

type tensor struct {
	name  string
	dims  []int64
	dtype int
	f32   []float32
	i64   []int64
}

type valueInfo struct {
	name  string
	dtype int
	dims  []int64 // -1: unknown
}

// Graph is an ONNX graph under construction. Values are named by strings;
// Op returns the name of its output.
type Graph struct {
	name     string
	producer string
	nodes    []node
	inits    []tensor
	inputs   []valueInfo
	outputs  []valueInfo
	used     map[string]bool
	seq      int
}

// New starts a graph. producer names the converter (recorded in the model).
func New(name, producer string) *Graph {
	return &Graph{name: name, producer: producer, used: map[string]bool{}}
}

// fresh returns a unique value name derived from hint.
func (g *Graph) fresh(hint string) string {
	if hint != "" && !g.used[hint] {
		g.used[hint] = true
		return hint
	}
	for {
		g.seq++
		n := fmt.Sprintf("%s_%d", hint, g.seq)
		if !g.used[n] {
			g.used[n] = true
			return n
		}
	}
}

// Input declares a float32 graph input; a negative dim is dynamic.
func (g *Graph) Input(name string, dims ...int64) string {
	g.used[name] = true
	g.inputs = append(g.inputs, valueInfo{name: name, dtype: Float, dims: dims})
	return name
}

// Output marks value as a float32 graph output under its own name.
func (g *Graph) Output(value string) {
	g.outputs = append(g.outputs, valueInfo{name: value, dtype: Float})
}

// Const adds a float32 initializer and returns its name.
func (g *Graph) Const(hint string, dims []int64, data []float32) string {
	if n := product(dims); n != len(data) {
		panic(fmt.Sprintf("onnxgraph: const %s: %d values for dims %v", hint, len(data), dims))
	}
	name := g.fresh(hint)
	g.inits = append(g.inits, tensor{name: name, dims: dims, dtype: Float, f32: data})
	return name
}

// ConstInt64 adds an int64 initializer and returns its name.
func (g *Graph) ConstInt64(hint string, dims []int64, data []int64) string {
	if n := product(dims); n != len(data) {
		panic(fmt.Sprintf("onnxgraph: const %s: %d values for dims %v", hint, len(data), dims))
	}
	name := g.fresh(hint)
	g.inits = append(g.inits, tensor{name: name, dims: dims, dtype: Int64, i64: data})
	return name
}

// Op adds a node with one output and returns the output's name. An empty
// input name is an omitted optional input.
func (g *Graph) Op(op, hint string, inputs []string, attrs ...Attr) string {
	return g.OpN(op, hint, inputs, 1, attrs...)[0]
}

// OpN adds a node with n outputs.
func (g *Graph) OpN(op, hint string, inputs []string, n int, attrs ...Attr) []string {
	if hint == "" {
		hint = op
	}
	outs := make([]string, n)
	for i := range outs {
		outs[i] = g.fresh(hint)
	}
	g.nodes = append(g.nodes, node{op: op, name: outs[0], inputs: inputs, outputs: outs, attrs: attrs})
	return outs
}

// Rename makes the graph output value available under name, via Identity.
func (g *Graph) Rename(value, name string) string {
	if g.used[name] {
		panic("onnxgraph: name in use: " + name)
	}
	g.used[name] = true
	g.nodes = append(g.nodes, node{op: "Identity", name: name, inputs: []string{value}, outputs: []string{name}})
	return name
}

func product(dims []int64) int {
	n := 1
	for _, d := range dims {
		n *= int(d)
	}
	return n
}

// Marshal encodes the model. The encoding is deterministic.
func (g *Graph) Marshal() []byte {
	var gb []byte
	for _, n := range g.nodes {
		gb = protowire.AppendTag(gb, 1, protowire.BytesType)
		gb = protowire.AppendBytes(gb, n.encode())
	}
	gb = appendString(gb, 2, g.name)
	for _, t := range g.inits {
		gb = protowire.AppendTag(gb, 5, protowire.BytesType)
		gb = protowire.AppendBytes(gb, t.encode())
	}
	for _, v := range g.inputs {
		gb = protowire.AppendTag(gb, 11, protowire.BytesType)
		gb = protowire.AppendBytes(gb, v.encode())
	}
	for _, v := range g.outputs {
		gb = protowire.AppendTag(gb, 12, protowire.BytesType)
		gb = protowire.AppendBytes(gb, v.encode())
	}

	var m []byte
	m = protowire.AppendTag(m, 1, protowire.VarintType)
	m = protowire.AppendVarint(m, IRVersion)
	m = appendString(m, 2, g.producer)
	m = protowire.AppendTag(m, 7, protowire.BytesType)
	m = protowire.AppendBytes(m, gb)
	var op []byte
	op = appendString(op, 1, "")
	op = protowire.AppendTag(op, 2, protowire.VarintType)
	op = protowire.AppendVarint(op, Opset)
	m = protowire.AppendTag(m, 8, protowire.BytesType)
	m = protowire.AppendBytes(m, op)
	return m
}

func appendString(b []byte, field protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func (n node) encode() []byte {
	var b []byte
	for _, in := range n.inputs {
		b = appendString(b, 1, in)
	}
	for _, out := range n.outputs {
		b = appendString(b, 2, out)
	}
	b = appendString(b, 3, n.name)
	b = appendString(b, 4, n.op)
	for _, a := range n.attrs {
		b = protowire.AppendTag(b, 5, protowire.BytesType)
		b = protowire.AppendBytes(b, a.encode())
	}
	return b
}

func (a Attr) encode() []byte {
	var b []byte
	b = appendString(b, 1, a.name)
	switch a.kind {
	case 1:
		b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.f))
	case 2:
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(a.i))
	case 3:
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendString(b, a.s)
	case 6:
		var p []byte
		for _, f := range a.floats {
			p = protowire.AppendFixed32(p, math.Float32bits(f))
		}
		b = protowire.AppendTag(b, 7, protowire.BytesType)
		b = protowire.AppendBytes(b, p)
	case 7:
		var p []byte
		for _, i := range a.ints {
			p = protowire.AppendVarint(p, uint64(i))
		}
		b = protowire.AppendTag(b, 8, protowire.BytesType)
		b = protowire.AppendBytes(b, p)
	}
	b = protowire.AppendTag(b, 20, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(a.kind))
	return b
}

func (t tensor) encode() []byte {
	var b []byte
	for _, d := range t.dims {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(t.dtype))
	b = appendString(b, 8, t.name)
	var raw []byte
	switch t.dtype {
	case Float:
		raw = make([]byte, 4*len(t.f32))
		for i, f := range t.f32 {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
		}
	case Int64:
		raw = make([]byte, 8*len(t.i64))
		for i, v := range t.i64 {
			binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
		}
	}
	b = protowire.AppendTag(b, 9, protowire.BytesType)
	return protowire.AppendBytes(b, raw)
}

func (v valueInfo) encode() []byte {
	var shape []byte
	for _, d := range v.dims {
		var dim []byte
		if d >= 0 {
			dim = protowire.AppendTag(dim, 1, protowire.VarintType)
			dim = protowire.AppendVarint(dim, uint64(d))
		} else {
			dim = appendString(dim, 2, "n")
		}
		shape = protowire.AppendTag(shape, 1, protowire.BytesType)
		shape = protowire.AppendBytes(shape, dim)
	}
	var tt []byte
	tt = protowire.AppendTag(tt, 1, protowire.VarintType)
	tt = protowire.AppendVarint(tt, uint64(v.dtype))
	if v.dims != nil {
		tt = protowire.AppendTag(tt, 2, protowire.BytesType)
		tt = protowire.AppendBytes(tt, shape)
	}
	var typ []byte
	typ = protowire.AppendTag(typ, 1, protowire.BytesType)
	typ = protowire.AppendBytes(typ, tt)
	var b []byte
	b = appendString(b, 1, v.name)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	return protowire.AppendBytes(b, typ)
}

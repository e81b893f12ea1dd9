package tfjs

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/obscuraproject/obscura/internal/models/convert/onnxgraph"
)

// Output names a graph-model node to expose as an ONNX output.
type Output struct {
	Node string `json:"node"` // TF.js node name
	Name string `json:"name"` // ONNX output name
}

type attrValue struct {
	S    *string  `json:"s"`
	I    *string  `json:"i"`
	F    *float64 `json:"f"`
	B    *bool    `json:"b"`
	List *struct {
		S []string  `json:"s"`
		I []string  `json:"i"`
		F []float64 `json:"f"`
	} `json:"list"`
	Shape *struct {
		Dim []struct {
			Size string `json:"size"`
		} `json:"dim"`
	} `json:"shape"`
}

type tfNode struct {
	Name  string               `json:"name"`
	Op    string               `json:"op"`
	Input []string             `json:"input"`
	Attr  map[string]attrValue `json:"attr"`
}

func (n *tfNode) str(key string) string {
	a, ok := n.Attr[key]
	if !ok || a.S == nil {
		return ""
	}
	b, err := base64.StdEncoding.DecodeString(*a.S)
	if err != nil {
		return ""
	}
	return string(b)
}

func (n *tfNode) boolean(key string) bool {
	a, ok := n.Attr[key]
	return ok && a.B != nil && *a.B
}

func (n *tfNode) ints(key string) []int64 {
	a, ok := n.Attr[key]
	if !ok || a.List == nil {
		return nil
	}
	out := make([]int64, 0, len(a.List.I))
	for _, s := range a.List.I {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil
		}
		out = append(out, v)
	}
	return out
}

func (n *tfNode) float(key string, def float64) float64 {
	if a, ok := n.Attr[key]; ok && a.F != nil {
		return *a.F
	}
	return def
}

func (n *tfNode) strs(key string) []string {
	a, ok := n.Attr[key]
	if !ok || a.List == nil {
		return nil
	}
	var out []string
	for _, s := range a.List.S {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil
		}
		out = append(out, string(b))
	}
	return out
}

// val is a converted tensor: an ONNX value, or a constant not yet emitted.
type val struct {
	name  string
	rank  int
	nchw  bool // a rank-4 tensor held as NCHW (TF.js holds NHWC)
	konst *Weight
}

type graphConv struct {
	g       *onnxgraph.Graph
	nodes   map[string]*tfNode
	weights map[string]Weight
	done    map[string]val
	busy    map[string]bool
}

// ConvertGraph converts a TF.js graph model (model.json and the concatenated
// weight shards) into an ONNX model exposing outputs. Rank-4 tensors are
// NHWC at the model's edges, as in TF.js, and NCHW inside.
func ConvertGraph(name string, modelJSON, shards []byte, outputs []Output) ([]byte, error) {
	var m struct {
		Format        string `json:"format"`
		ModelTopology struct {
			Node []*tfNode `json:"node"`
		} `json:"modelTopology"`
		WeightsManifest []weightGroup `json:"weightsManifest"`
	}
	if err := json.Unmarshal(modelJSON, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if m.Format != "graph-model" {
		return nil, fmt.Errorf("%w: format %q, want graph-model", ErrFormat, m.Format)
	}
	ws, err := decodeWeights(m.WeightsManifest, shards)
	if err != nil {
		return nil, err
	}
	c := &graphConv{
		g:       onnxgraph.New(name, "obscura tfjs graph converter"),
		nodes:   map[string]*tfNode{},
		weights: ws,
		done:    map[string]val{},
		busy:    map[string]bool{},
	}
	for _, n := range m.ModelTopology.Node {
		if n == nil || n.Name == "" {
			return nil, fmt.Errorf("%w: node without a name", ErrFormat)
		}
		c.nodes[n.Name] = n
	}
	if len(outputs) == 0 {
		return nil, fmt.Errorf("%w: no outputs requested", ErrFormat)
	}
	for _, o := range outputs {
		v, err := c.value(o.Node)
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", o.Node, err)
		}
		if v.konst != nil {
			return nil, fmt.Errorf("%w: output %s is a constant", ErrUnsupported, o.Node)
		}
		x := v.name
		if v.nchw {
			x = c.g.Op("Transpose", "to_nhwc", []string{x}, onnxgraph.Ints("perm", 0, 2, 3, 1))
		}
		c.g.Output(c.g.Rename(x, o.Name))
	}
	return c.g.Marshal(), nil
}

// value converts the tensor named ref ("node" or "node:k").
func (c *graphConv) value(ref string) (val, error) {
	if v, ok := c.done[ref]; ok {
		return v, nil
	}
	name, idx := ref, 0
	if i := strings.LastIndexByte(ref, ':'); i > 0 {
		k, err := strconv.Atoi(ref[i+1:])
		if err == nil {
			name, idx = ref[:i], k
		}
	}
	if idx != 0 {
		return val{}, fmt.Errorf("%w: output %d of %s", ErrUnsupported, idx, name)
	}
	n, ok := c.nodes[name]
	if !ok {
		return val{}, fmt.Errorf("%w: no node %q", ErrFormat, name)
	}
	if c.busy[name] {
		return val{}, fmt.Errorf("%w: cycle at %q", ErrFormat, name)
	}
	c.busy[name] = true
	defer delete(c.busy, name)
	v, err := c.convert(n)
	if err != nil {
		return val{}, fmt.Errorf("%s (%s): %w", n.Name, n.Op, err)
	}
	c.done[ref] = v
	return v, nil
}

// inputs converts a node's data inputs (control inputs are dropped).
func (c *graphConv) inputs(n *tfNode) ([]val, error) {
	var out []val
	for _, in := range n.Input {
		if strings.HasPrefix(in, "^") {
			continue
		}
		v, err := c.value(in)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// tensor emits v as an ONNX value, laid out to combine with a tensor whose
// layout is nchw.
func (c *graphConv) tensor(v val, nchw bool) (string, error) {
	if v.konst == nil {
		return v.name, nil
	}
	w := *v.konst
	data := w.F
	if data == nil {
		data = make([]float32, len(w.I))
		for i, x := range w.I {
			data[i] = float32(x)
		}
	}
	dims := toInt64(w.Shape)
	if nchw {
		switch {
		case len(w.Shape) == 4:
			data, dims = nhwcToNCHW(data, w.Shape)
		case len(w.Shape) == 1 && w.Shape[0] > 1:
			dims = []int64{int64(w.Shape[0]), 1, 1}
		}
	}
	return c.g.Const(w.Name, dims, data), nil
}

func toInt64(s []int) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}

func nhwcToNCHW(data []float32, s []int) ([]float32, []int64) {
	n, h, w, ch := s[0], s[1], s[2], s[3]
	out := make([]float32, len(data))
	for a := range n {
		for y := range h {
			for x := range w {
				for k := range ch {
					out[((a*ch+k)*h+y)*w+x] = data[((a*h+y)*w+x)*ch+k]
				}
			}
		}
	}
	return out, []int64{int64(n), int64(ch), int64(h), int64(w)}
}

// constInts reads a constant integer tensor (shapes, axes, paddings).
func constInts(v val) ([]int64, error) {
	if v.konst == nil {
		return nil, fmt.Errorf("%w: non-constant shape or axis operand", ErrUnsupported)
	}
	if v.konst.I != nil {
		out := make([]int64, len(v.konst.I))
		for i, x := range v.konst.I {
			out[i] = int64(x)
		}
		return out, nil
	}
	out := make([]int64, len(v.konst.F))
	for i, x := range v.konst.F {
		out[i] = int64(x)
	}
	return out, nil
}

// nchwAxis maps an NHWC axis of a rank-4 tensor to its NCHW axis. An axis
// outside [-4, 4) is a format error: it comes from the model file.
func nchwAxis(a int64) (int64, error) {
	if a < 0 {
		a += 4
	}
	if a < 0 || a > 3 {
		return 0, fmt.Errorf("%w: axis %d of a rank-4 tensor", ErrFormat, a)
	}
	return [4]int64{0, 2, 3, 1}[a], nil
}

func (c *graphConv) convert(n *tfNode) (val, error) {
	switch n.Op {
	case "Const":
		w, ok := c.weights[n.Name]
		if !ok {
			return val{}, fmt.Errorf("%w: constant without weights", ErrFormat)
		}
		return val{rank: len(w.Shape), konst: &w}, nil
	case "Placeholder":
		a, ok := n.Attr["shape"]
		if !ok || a.Shape == nil {
			return val{}, fmt.Errorf("%w: placeholder without a shape", ErrFormat)
		}
		dims := make([]int64, len(a.Shape.Dim))
		for i, d := range a.Shape.Dim {
			v, err := strconv.ParseInt(d.Size, 10, 64)
			if err != nil || v < -1 || v > 1<<16 {
				return val{}, fmt.Errorf("%w: placeholder dimension %q", ErrFormat, d.Size)
			}
			dims[i] = v
		}
		in := c.g.Input("input", dims...)
		if len(dims) == 4 {
			t := c.g.Op("Transpose", "to_nchw", []string{in}, onnxgraph.Ints("perm", 0, 3, 1, 2))
			return val{name: t, rank: 4, nchw: true}, nil
		}
		return val{name: in, rank: len(dims)}, nil
	}
	in, err := c.inputs(n)
	if err != nil {
		return val{}, err
	}
	need := func(k int) error {
		if len(in) < k {
			return fmt.Errorf("%w: %d inputs, want %d", ErrFormat, len(in), k)
		}
		if in[0].konst != nil {
			return fmt.Errorf("%w: constant data input", ErrUnsupported)
		}
		return nil
	}
	switch n.Op {
	case "Identity":
		if len(in) != 1 {
			return val{}, fmt.Errorf("%w: identity of %d inputs", ErrFormat, len(in))
		}
		return in[0], nil
	case "Conv2D", "_FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative":
		if err := need(2); err != nil {
			return val{}, err
		}
		return c.conv(n, in)
	case "Relu", "Relu6", "Sigmoid", "Tanh", "Elu", "LeakyRelu":
		if err := need(1); err != nil {
			return val{}, err
		}
		return c.activation(n.Op, in[0], n.float("alpha", 0.2)), nil
	case "Add", "AddV2", "Sub", "Mul", "RealDiv", "Maximum", "Minimum":
		if len(in) != 2 {
			return val{}, fmt.Errorf("%w: %d operands", ErrFormat, len(in))
		}
		return c.binary(n.Op, in[0], in[1])
	case "MaxPool", "AvgPool":
		if err := need(1); err != nil {
			return val{}, err
		}
		if !in[0].nchw {
			return val{}, fmt.Errorf("%w: pooling of a non-image tensor", ErrUnsupported)
		}
		k, s := n.ints("ksize"), n.ints("strides")
		if len(k) != 4 || len(s) != 4 {
			return val{}, fmt.Errorf("%w: pooling window", ErrFormat)
		}
		attrs := []onnxgraph.Attr{onnxgraph.Ints("kernel_shape", k[1], k[2]), onnxgraph.Ints("strides", s[1], s[2])}
		switch n.str("padding") {
		case "SAME":
			attrs = append(attrs, onnxgraph.S("auto_pad", "SAME_UPPER"))
		case "VALID":
		default:
			return val{}, fmt.Errorf("%w: padding %q", ErrUnsupported, n.str("padding"))
		}
		op := "MaxPool"
		if n.Op == "AvgPool" {
			op = "AveragePool"
		}
		return val{name: c.g.Op(op, "", []string{in[0].name}, attrs...), rank: 4, nchw: true}, nil
	case "Pad", "PadV2":
		if err := need(2); err != nil {
			return val{}, err
		}
		p, err := constInts(in[1])
		if err != nil {
			return val{}, err
		}
		r := in[0].rank
		if len(p) != 2*r {
			return val{}, fmt.Errorf("%w: %d paddings for rank %d", ErrFormat, len(p), r)
		}
		pads := make([]int64, 2*r)
		for ax := range r {
			to := int64(ax)
			if in[0].nchw {
				if to, err = nchwAxis(int64(ax)); err != nil {
					return val{}, err
				}
			}
			pads[to], pads[int64(r)+to] = p[2*ax], p[2*ax+1]
		}
		args := []string{in[0].name, c.g.ConstInt64("pads", []int64{int64(2 * r)}, pads)}
		if n.Op == "PadV2" && len(in) > 2 {
			cv, err := c.tensor(in[2], false)
			if err != nil {
				return val{}, err
			}
			args = append(args, cv)
		}
		return val{name: c.g.Op("Pad", "", args), rank: r, nchw: in[0].nchw}, nil
	case "Reshape":
		if err := need(2); err != nil {
			return val{}, err
		}
		shape, err := constInts(in[1])
		if err != nil {
			return val{}, err
		}
		x := c.plain(in[0])
		return val{name: c.g.Op("Reshape", "", []string{x, c.g.ConstInt64("shape", []int64{int64(len(shape))}, shape)}), rank: len(shape)}, nil
	case "ConcatV2":
		if len(in) < 2 {
			return val{}, fmt.Errorf("%w: concat of nothing", ErrFormat)
		}
		ax, err := constInts(in[len(in)-1])
		if err != nil || len(ax) != 1 {
			return val{}, fmt.Errorf("%w: concat axis", ErrUnsupported)
		}
		parts := in[:len(in)-1]
		nchw := true
		for _, p := range parts {
			nchw = nchw && (p.nchw || (p.konst != nil && len(p.konst.Shape) == 4))
		}
		axis := ax[0]
		var names []string
		for _, p := range parts {
			var x string
			if nchw {
				x, err = c.tensor(p, true)
			} else if p.konst != nil {
				x, err = c.tensor(p, false)
			} else {
				x = c.plain(p)
			}
			if err != nil {
				return val{}, err
			}
			names = append(names, x)
		}
		if nchw {
			if axis, err = nchwAxis(axis); err != nil {
				return val{}, err
			}
		}
		return val{name: c.g.Op("Concat", "", names, onnxgraph.Int("axis", axis)), rank: parts[0].rank, nchw: nchw}, nil
	case "Mean":
		if err := need(2); err != nil {
			return val{}, err
		}
		axes, err := constInts(in[1])
		if err != nil {
			return val{}, err
		}
		keep := n.boolean("keep_dims")
		x := in[0].name
		if in[0].nchw && !keep {
			x = c.plain(in[0])
		} else if in[0].nchw {
			for i := range axes {
				if axes[i], err = nchwAxis(axes[i]); err != nil {
					return val{}, err
				}
			}
		}
		k := int64(0)
		if keep {
			k = 1
		}
		out := c.g.Op("ReduceMean", "", []string{x}, onnxgraph.Ints("axes", axes...), onnxgraph.Int("keepdims", k))
		if keep {
			return val{name: out, rank: in[0].rank, nchw: in[0].nchw}, nil
		}
		return val{name: out, rank: in[0].rank - len(axes)}, nil
	case "ResizeBilinear", "ResizeNearestNeighbor":
		if err := need(2); err != nil {
			return val{}, err
		}
		if !in[0].nchw {
			return val{}, fmt.Errorf("%w: resize of a non-image tensor", ErrUnsupported)
		}
		size, err := constInts(in[1])
		if err != nil || len(size) != 2 {
			return val{}, fmt.Errorf("%w: resize size", ErrUnsupported)
		}
		mode, ctm := "linear", "asymmetric"
		if n.Op == "ResizeNearestNeighbor" {
			mode = "nearest"
		}
		switch {
		case n.boolean("align_corners"):
			ctm = "align_corners"
		case n.boolean("half_pixel_centers") && mode == "linear":
			ctm = "half_pixel"
		case n.boolean("half_pixel_centers"):
			ctm = "tf_half_pixel_for_nn"
		}
		shape := c.g.Op("Shape", "", []string{in[0].name})
		nc := c.g.Op("Slice", "", []string{shape, c.g.ConstInt64("s0", []int64{1}, []int64{0}), c.g.ConstInt64("s2", []int64{1}, []int64{2})})
		sizes := c.g.Op("Concat", "sizes", []string{nc, c.g.ConstInt64("hw", []int64{2}, size)}, onnxgraph.Int("axis", 0))
		attrs := []onnxgraph.Attr{onnxgraph.S("mode", mode), onnxgraph.S("coordinate_transformation_mode", ctm)}
		if mode == "nearest" {
			attrs = append(attrs, onnxgraph.S("nearest_mode", "floor"))
			if ctm == "align_corners" {
				attrs[len(attrs)-1] = onnxgraph.S("nearest_mode", "round_prefer_ceil")
			}
		}
		return val{name: c.g.Op("Resize", "", []string{in[0].name, "", "", sizes}, attrs...), rank: 4, nchw: true}, nil
	}
	return val{}, fmt.Errorf("%w operator %s", ErrUnsupported, n.Op)
}

// plain returns v's value in TF.js (NHWC) layout.
func (c *graphConv) plain(v val) string {
	if v.nchw {
		return c.g.Op("Transpose", "to_nhwc", []string{v.name}, onnxgraph.Ints("perm", 0, 2, 3, 1))
	}
	return v.name
}

func (c *graphConv) activation(op string, v val, alpha float64) val {
	var out string
	switch op {
	case "Relu":
		out = c.g.Op("Relu", "", []string{v.name})
	case "Relu6":
		lo := c.g.Const("zero", nil, []float32{0})
		hi := c.g.Const("six", nil, []float32{6})
		out = c.g.Op("Clip", "relu6", []string{v.name, lo, hi})
	case "Sigmoid", "Tanh", "Elu":
		out = c.g.Op(op, "", []string{v.name})
	case "LeakyRelu":
		out = c.g.Op("LeakyRelu", "", []string{v.name}, onnxgraph.F("alpha", float32(alpha)))
	}
	return val{name: out, rank: v.rank, nchw: v.nchw}
}

func (c *graphConv) binary(op string, a, b val) (val, error) {
	if a.konst != nil && b.konst != nil {
		return val{}, fmt.Errorf("%w: operation on two constants", ErrUnsupported)
	}
	if a.nchw != b.nchw && a.konst == nil && b.konst == nil {
		// Mixed layouts: bring both to NHWC.
		a, b = val{name: c.plain(a), rank: a.rank}, val{name: c.plain(b), rank: b.rank}
	}
	nchw := a.nchw || b.nchw
	x, err := c.tensor(a, nchw)
	if err != nil {
		return val{}, err
	}
	y, err := c.tensor(b, nchw)
	if err != nil {
		return val{}, err
	}
	onnxOp := map[string]string{"Add": "Add", "AddV2": "Add", "Sub": "Sub", "Mul": "Mul", "RealDiv": "Div", "Maximum": "Max", "Minimum": "Min"}[op]
	return val{name: c.g.Op(onnxOp, "", []string{x, y}), rank: max(a.rank, b.rank), nchw: nchw}, nil
}

func (c *graphConv) conv(n *tfNode, in []val) (val, error) {
	x := in[0]
	if !x.nchw {
		return val{}, fmt.Errorf("%w: convolution of a non-image tensor", ErrUnsupported)
	}
	f := in[1].konst
	if f == nil || len(f.Shape) != 4 || f.F == nil {
		return val{}, fmt.Errorf("%w: filter is not a constant float tensor", ErrUnsupported)
	}
	kh, kw := f.Shape[0], f.Shape[1]
	w, dims, group := convFilter(*f, strings.Contains(n.Op, "Depthwise"))
	strides, dil := n.ints("strides"), n.ints("dilations")
	if len(strides) != 4 {
		return val{}, fmt.Errorf("%w: strides", ErrFormat)
	}
	if len(dil) != 4 {
		dil = []int64{1, 1, 1, 1}
	}
	if df := n.str("data_format"); df != "" && df != "NHWC" {
		return val{}, fmt.Errorf("%w: data format %s", ErrUnsupported, df)
	}
	attrs := []onnxgraph.Attr{
		onnxgraph.Ints("kernel_shape", int64(kh), int64(kw)),
		onnxgraph.Ints("strides", strides[1], strides[2]),
		onnxgraph.Ints("dilations", dil[1], dil[2]),
		onnxgraph.Int("group", group),
	}
	switch n.str("padding") {
	case "SAME":
		attrs = append(attrs, onnxgraph.S("auto_pad", "SAME_UPPER"))
	case "VALID":
	case "EXPLICIT":
		p := n.ints("explicit_paddings")
		if len(p) != 8 {
			return val{}, fmt.Errorf("%w: explicit paddings", ErrFormat)
		}
		attrs = append(attrs, onnxgraph.Ints("pads", p[2], p[4], p[3], p[5]))
	default:
		return val{}, fmt.Errorf("%w: padding %q", ErrUnsupported, n.str("padding"))
	}
	args := []string{x.name, c.g.Const(f.Name, dims, w)}
	fused := n.strs("fused_ops")
	rest := in[2:]
	if len(fused) > 0 && fused[0] == "BiasAdd" {
		if len(rest) < 1 || rest[0].konst == nil || rest[0].konst.F == nil {
			return val{}, fmt.Errorf("%w: bias is not a constant", ErrUnsupported)
		}
		b := rest[0].konst
		args = append(args, c.g.Const(b.Name, []int64{int64(len(b.F))}, b.F))
		fused = fused[1:]
	}
	out := val{name: c.g.Op("Conv", "", args, attrs...), rank: 4, nchw: true}
	for _, op := range fused {
		switch op {
		case "Relu", "Relu6", "Elu", "Sigmoid", "Tanh", "LeakyRelu":
			out = c.activation(op, out, n.float("leakyrelu_alpha", 0.2))
		default:
			return val{}, fmt.Errorf("%w fused operation %s", ErrUnsupported, op)
		}
	}
	return out, nil
}

// convFilter reorders a TF filter into ONNX layout: [kh, kw, cin, cout] →
// [cout, cin, kh, kw], or for a depthwise filter [kh, kw, cin, mult] →
// [cin*mult, 1, kh, kw] with group cin.
func convFilter(f Weight, depthwise bool) (w []float32, dims []int64, group int64) {
	kh, kw, cin, cout := f.Shape[0], f.Shape[1], f.Shape[2], f.Shape[3]
	w = make([]float32, len(f.F))
	if depthwise {
		mult := cout
		for y := range kh {
			for xx := range kw {
				for ci := range cin {
					for m := range mult {
						w[((ci*mult+m)*kh+y)*kw+xx] = f.F[((y*kw+xx)*cin+ci)*mult+m]
					}
				}
			}
		}
		return w, []int64{int64(cin * mult), 1, int64(kh), int64(kw)}, int64(cin)
	}
	for y := range kh {
		for xx := range kw {
			for ci := range cin {
				for co := range cout {
					w[((co*cin+ci)*kh+y)*kw+xx] = f.F[((y*kw+xx)*cin+ci)*cout+co]
				}
			}
		}
	}
	return w, []int64{int64(cout), int64(cin), int64(kh), int64(kw)}, 1
}

package tfjs

import (
	"encoding/json"
	"fmt"

	"github.com/obscuraproject/obscura/internal/models/convert/onnxgraph"
)

type kerasLayer struct {
	Name      string          `json:"name"`
	ClassName string          `json:"class_name"`
	Config    json.RawMessage `json:"config"`
	// InboundNodes is [[["layer", nodeIndex, tensorIndex, {kwargs}], …]].
	InboundNodes [][][]json.RawMessage `json:"inbound_nodes"`
}

// layerConfig holds the Keras layer options the supported layers use.
type layerConfig struct {
	BatchInputShape []*int   `json:"batch_input_shape"`
	Padding         any      `json:"padding"`
	Filters         int      `json:"filters"`
	KernelSize      []int    `json:"kernel_size"`
	Strides         []int    `json:"strides"`
	DilationRate    []int    `json:"dilation_rate"`
	DataFormat      string   `json:"data_format"`
	Activation      string   `json:"activation"`
	UseBias         *bool    `json:"use_bias"`
	DepthMultiplier int      `json:"depth_multiplier"`
	Axis            any      `json:"axis"`
	Epsilon         float64  `json:"epsilon"`
	Center          *bool    `json:"center"`
	Scale           *bool    `json:"scale"`
	MaxValue        *float64 `json:"max_value"`
	NegativeSlope   float64  `json:"negative_slope"`
	Threshold       float64  `json:"threshold"`
	PoolSize        []int    `json:"pool_size"`
	Units           int      `json:"units"`
}

type layersConv struct {
	g       *onnxgraph.Graph
	weights map[string]Weight
	done    map[string]val
	used    map[string]bool
}

// ConvertLayers converts a TF.js Keras layers model (a functional "Model"
// or "Sequential" topology, model.json plus its concatenated weight shards)
// into an ONNX model with one NHWC input named "input" and its output
// renamed to output. Layers are converted in the order the topology lists
// them, which Keras writes topologically; a layer whose inputs are not yet
// defined is ErrFormat.
func ConvertLayers(name string, modelJSON, shards []byte, output string) ([]byte, error) {
	var m struct {
		Format        string `json:"format"`
		ModelTopology struct {
			ModelConfig struct {
				ClassName string `json:"class_name"`
				Config    struct {
					Layers       []kerasLayer        `json:"layers"`
					OutputLayers [][]json.RawMessage `json:"output_layers"`
				} `json:"config"`
			} `json:"model_config"`
		} `json:"modelTopology"`
		WeightsManifest []weightGroup `json:"weightsManifest"`
	}
	if err := json.Unmarshal(modelJSON, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if m.Format != "" && m.Format != "layers-model" {
		return nil, fmt.Errorf("%w: format %q, want layers-model", ErrFormat, m.Format)
	}
	if cn := m.ModelTopology.ModelConfig.ClassName; cn != "Model" && cn != "Functional" {
		return nil, fmt.Errorf("%w: model class %q", ErrUnsupported, cn)
	}
	ws, err := decodeWeights(m.WeightsManifest, shards)
	if err != nil {
		return nil, err
	}
	c := &layersConv{
		g:       onnxgraph.New(name, "obscura tfjs layers converter"),
		weights: ws,
		done:    map[string]val{},
		used:    map[string]bool{},
	}
	layers := m.ModelTopology.ModelConfig.Config.Layers
	if len(layers) == 0 {
		return nil, fmt.Errorf("%w: no layers", ErrFormat)
	}
	for _, l := range layers {
		if l.Name == "" || c.done[l.Name].name != "" {
			return nil, fmt.Errorf("%w: layer without a unique name", ErrFormat)
		}
		v, err := c.layer(l)
		if err != nil {
			return nil, fmt.Errorf("layer %s (%s): %w", l.Name, l.ClassName, err)
		}
		c.done[l.Name] = v
	}
	outs := m.ModelTopology.ModelConfig.Config.OutputLayers
	if len(outs) != 1 || len(outs[0]) < 1 {
		return nil, fmt.Errorf("%w: %d output layers, want 1", ErrUnsupported, len(outs))
	}
	var outName string
	if err := json.Unmarshal(outs[0][0], &outName); err != nil {
		return nil, fmt.Errorf("%w: output layer: %v", ErrFormat, err)
	}
	v, ok := c.done[outName]
	if !ok {
		return nil, fmt.Errorf("%w: output layer %q not defined", ErrFormat, outName)
	}
	for n := range ws {
		if !c.used[n] {
			return nil, fmt.Errorf("%w: weight %q belongs to no layer", ErrFormat, n)
		}
	}
	x := v.name
	if v.nchw {
		x = c.g.Op("Transpose", "to_nhwc", []string{x}, onnxgraph.Ints("perm", 0, 2, 3, 1))
	}
	c.g.Output(c.g.Rename(x, output))
	return c.g.Marshal(), nil
}

// weight returns the named weight of layer l with the given rank.
func (c *layersConv) weight(l kerasLayer, suffix string, shape ...int) (Weight, error) {
	w, ok := c.weights[l.Name+"/"+suffix]
	if !ok || w.F == nil {
		return Weight{}, fmt.Errorf("%w: missing float weight %s/%s", ErrFormat, l.Name, suffix)
	}
	if len(w.Shape) != len(shape) {
		return Weight{}, fmt.Errorf("%w: weight %s has shape %v", ErrFormat, w.Name, w.Shape)
	}
	for i, d := range shape {
		if d >= 0 && w.Shape[i] != d {
			return Weight{}, fmt.Errorf("%w: weight %s has shape %v, want %v", ErrFormat, w.Name, w.Shape, shape)
		}
	}
	c.used[w.Name] = true
	return w, nil
}

func (c *layersConv) inputs(l kerasLayer) ([]val, error) {
	if len(l.InboundNodes) > 1 {
		return nil, fmt.Errorf("%w: a shared layer", ErrUnsupported)
	}
	var in []val
	for _, node := range l.InboundNodes {
		for _, ref := range node {
			if len(ref) < 3 {
				return nil, fmt.Errorf("%w: inbound node", ErrFormat)
			}
			var src string
			var nodeIdx, tensorIdx int
			if json.Unmarshal(ref[0], &src) != nil || json.Unmarshal(ref[1], &nodeIdx) != nil || json.Unmarshal(ref[2], &tensorIdx) != nil {
				return nil, fmt.Errorf("%w: inbound node", ErrFormat)
			}
			if nodeIdx != 0 || tensorIdx != 0 {
				return nil, fmt.Errorf("%w: inbound node %d/%d", ErrUnsupported, nodeIdx, tensorIdx)
			}
			v, ok := c.done[src]
			if !ok {
				return nil, fmt.Errorf("%w: input %q is not defined before its use", ErrFormat, src)
			}
			in = append(in, v)
		}
	}
	return in, nil
}

func pair(v []int, def int) (int64, int64, error) {
	switch len(v) {
	case 0:
		return int64(def), int64(def), nil
	case 2:
		if v[0] < 1 || v[1] < 1 || v[0] > 64 || v[1] > 64 {
			return 0, 0, fmt.Errorf("%w: window %v", ErrFormat, v)
		}
		return int64(v[0]), int64(v[1]), nil
	}
	return 0, 0, fmt.Errorf("%w: window %v", ErrFormat, v)
}

func (c *layersConv) layer(l kerasLayer) (val, error) {
	var cfg layerConfig
	if len(l.Config) > 0 {
		if err := json.Unmarshal(l.Config, &cfg); err != nil {
			return val{}, fmt.Errorf("%w: config: %v", ErrFormat, err)
		}
	}
	if cfg.DataFormat != "" && cfg.DataFormat != "channels_last" {
		return val{}, fmt.Errorf("%w: data format %s", ErrUnsupported, cfg.DataFormat)
	}
	in, err := c.inputs(l)
	if err != nil {
		return val{}, err
	}
	want := 1
	switch l.ClassName {
	case "InputLayer":
		want = 0
	case "Add":
		want = -1
	}
	if want >= 0 && len(in) != want {
		return val{}, fmt.Errorf("%w: %d inputs, want %d", ErrFormat, len(in), want)
	}
	image := func() error {
		if !in[0].nchw {
			return fmt.Errorf("%w: spatial layer on a non-image tensor", ErrUnsupported)
		}
		return nil
	}
	switch l.ClassName {
	case "InputLayer":
		s := cfg.BatchInputShape
		if len(s) != 4 || s[1] == nil || s[2] == nil || s[3] == nil {
			return val{}, fmt.Errorf("%w: input shape (want [batch, h, w, c])", ErrUnsupported)
		}
		x := c.g.Input("input", -1, int64(*s[1]), int64(*s[2]), int64(*s[3]))
		return val{name: c.g.Op("Transpose", "to_nchw", []string{x}, onnxgraph.Ints("perm", 0, 3, 1, 2)), rank: 4, nchw: true}, nil
	case "Dropout":
		return in[0], nil
	case "ZeroPadding2D":
		if err := image(); err != nil {
			return val{}, err
		}
		var p [][]int
		raw, _ := json.Marshal(cfg.Padding)
		if json.Unmarshal(raw, &p) != nil || len(p) != 2 || len(p[0]) != 2 || len(p[1]) != 2 {
			return val{}, fmt.Errorf("%w: padding %s", ErrUnsupported, raw)
		}
		pads := []int64{0, 0, int64(p[0][0]), int64(p[1][0]), 0, 0, int64(p[0][1]), int64(p[1][1])}
		for _, v := range pads {
			if v < 0 || v > 64 {
				return val{}, fmt.Errorf("%w: padding %s", ErrFormat, raw)
			}
		}
		return val{name: c.g.Op("Pad", "", []string{in[0].name, c.g.ConstInt64("pads", []int64{8}, pads)}), rank: 4, nchw: true}, nil
	case "Conv2D", "DepthwiseConv2D":
		if err := image(); err != nil {
			return val{}, err
		}
		return c.conv(l, cfg, in[0])
	case "BatchNormalization":
		return c.batchNorm(l, cfg, in[0])
	case "ReLU":
		if cfg.NegativeSlope != 0 || cfg.Threshold != 0 {
			return val{}, fmt.Errorf("%w: leaky or thresholded ReLU", ErrUnsupported)
		}
		if cfg.MaxValue == nil {
			return val{name: c.g.Op("Relu", "", []string{in[0].name}), rank: in[0].rank, nchw: in[0].nchw}, nil
		}
		lo := c.g.Const("zero", nil, []float32{0})
		hi := c.g.Const("max", nil, []float32{float32(*cfg.MaxValue)})
		return val{name: c.g.Op("Clip", "relu", []string{in[0].name, lo, hi}), rank: in[0].rank, nchw: in[0].nchw}, nil
	case "Add":
		if len(in) < 2 {
			return val{}, fmt.Errorf("%w: Add of %d inputs", ErrFormat, len(in))
		}
		out := in[0]
		for _, b := range in[1:] {
			if b.nchw != out.nchw || b.rank != out.rank {
				return val{}, fmt.Errorf("%w: Add of differently shaped inputs", ErrUnsupported)
			}
			out = val{name: c.g.Op("Add", "", []string{out.name, b.name}), rank: out.rank, nchw: out.nchw}
		}
		return out, nil
	case "AveragePooling2D", "MaxPooling2D":
		if err := image(); err != nil {
			return val{}, err
		}
		kh, kw, err := pair(cfg.PoolSize, 2)
		if err != nil {
			return val{}, err
		}
		sh, sw, err := pair(cfg.Strides, int(kh))
		if err != nil {
			return val{}, err
		}
		attrs := []onnxgraph.Attr{onnxgraph.Ints("kernel_shape", kh, kw), onnxgraph.Ints("strides", sh, sw)}
		switch cfg.Padding {
		case "valid", nil:
		case "same":
			attrs = append(attrs, onnxgraph.S("auto_pad", "SAME_UPPER"))
		default:
			return val{}, fmt.Errorf("%w: padding %v", ErrUnsupported, cfg.Padding)
		}
		op := "AveragePool"
		if l.ClassName == "MaxPooling2D" {
			op = "MaxPool"
		}
		return val{name: c.g.Op(op, "", []string{in[0].name}, attrs...), rank: 4, nchw: true}, nil
	case "Flatten":
		x := in[0].name
		if in[0].nchw {
			// Keras flattens in NHWC order.
			x = c.g.Op("Transpose", "to_nhwc", []string{x}, onnxgraph.Ints("perm", 0, 2, 3, 1))
		}
		return val{name: c.g.Op("Flatten", "", []string{x}, onnxgraph.Int("axis", 1)), rank: 2}, nil
	case "Dense":
		return c.dense(l, cfg, in[0])
	}
	return val{}, fmt.Errorf("%w layer %s", ErrUnsupported, l.ClassName)
}

func (c *layersConv) activation(name string, v val) (val, error) {
	switch name {
	case "", "linear":
		return v, nil
	case "relu":
		return val{name: c.g.Op("Relu", "", []string{v.name}), rank: v.rank, nchw: v.nchw}, nil
	case "softmax":
		if v.rank != 2 {
			return val{}, fmt.Errorf("%w: softmax of rank %d", ErrUnsupported, v.rank)
		}
		return val{name: c.g.Op("Softmax", "", []string{v.name}, onnxgraph.Int("axis", -1)), rank: 2}, nil
	case "sigmoid":
		return val{name: c.g.Op("Sigmoid", "", []string{v.name}), rank: v.rank, nchw: v.nchw}, nil
	}
	return val{}, fmt.Errorf("%w activation %q", ErrUnsupported, name)
}

func (c *layersConv) conv(l kerasLayer, cfg layerConfig, x val) (val, error) {
	depthwise := l.ClassName == "DepthwiseConv2D"
	kh, kw, err := pair(cfg.KernelSize, 0)
	if err != nil || kh == 0 {
		return val{}, fmt.Errorf("%w: kernel size %v", ErrFormat, cfg.KernelSize)
	}
	var f Weight
	if depthwise {
		f, err = c.weight(l, "depthwise_kernel", int(kh), int(kw), -1, max(cfg.DepthMultiplier, 1))
	} else {
		f, err = c.weight(l, "kernel", int(kh), int(kw), -1, cfg.Filters)
	}
	if err != nil {
		return val{}, err
	}
	w, dims, group := convFilter(f, depthwise)
	sh, sw, err := pair(cfg.Strides, 1)
	if err != nil {
		return val{}, err
	}
	dh, dw, err := pair(cfg.DilationRate, 1)
	if err != nil {
		return val{}, err
	}
	attrs := []onnxgraph.Attr{
		onnxgraph.Ints("kernel_shape", kh, kw),
		onnxgraph.Ints("strides", sh, sw),
		onnxgraph.Ints("dilations", dh, dw),
		onnxgraph.Int("group", group),
	}
	switch cfg.Padding {
	case "valid":
	case "same":
		attrs = append(attrs, onnxgraph.S("auto_pad", "SAME_UPPER"))
	default:
		return val{}, fmt.Errorf("%w: padding %v", ErrUnsupported, cfg.Padding)
	}
	args := []string{x.name, c.g.Const(f.Name, dims, w)}
	if cfg.UseBias == nil || *cfg.UseBias {
		b, err := c.weight(l, "bias", int(dims[0]))
		if err != nil {
			return val{}, err
		}
		args = append(args, c.g.Const(b.Name, []int64{int64(len(b.F))}, b.F))
	}
	out := val{name: c.g.Op("Conv", "", args, attrs...), rank: 4, nchw: true}
	return c.activation(cfg.Activation, out)
}

func (c *layersConv) batchNorm(l kerasLayer, cfg layerConfig, x val) (val, error) {
	if ax, ok := cfg.Axis.(float64); !ok || (ax != -1 && !(x.nchw && ax == 3)) {
		return val{}, fmt.Errorf("%w: batch normalization over axis %v", ErrUnsupported, cfg.Axis)
	}
	if !x.nchw {
		return val{}, fmt.Errorf("%w: batch normalization of a non-image tensor", ErrUnsupported)
	}
	mean, err := c.weight(l, "moving_mean", -1)
	if err != nil {
		return val{}, err
	}
	n := mean.Shape[0]
	variance, err := c.weight(l, "moving_variance", n)
	if err != nil {
		return val{}, err
	}
	gamma := Weight{Name: l.Name + "/gamma", F: ones(n)}
	if cfg.Scale == nil || *cfg.Scale {
		if gamma, err = c.weight(l, "gamma", n); err != nil {
			return val{}, err
		}
	}
	beta := Weight{Name: l.Name + "/beta", F: make([]float32, n)}
	if cfg.Center == nil || *cfg.Center {
		if beta, err = c.weight(l, "beta", n); err != nil {
			return val{}, err
		}
	}
	eps := cfg.Epsilon
	if eps == 0 {
		eps = 1e-3
	}
	d := []int64{int64(n)}
	args := []string{x.name,
		c.g.Const(gamma.Name, d, gamma.F), c.g.Const(beta.Name, d, beta.F),
		c.g.Const(mean.Name, d, mean.F), c.g.Const(variance.Name, d, variance.F)}
	return val{name: c.g.Op("BatchNormalization", "", args, onnxgraph.F("epsilon", float32(eps))), rank: 4, nchw: true}, nil
}

func ones(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

func (c *layersConv) dense(l kerasLayer, cfg layerConfig, x val) (val, error) {
	if x.rank != 2 {
		return val{}, fmt.Errorf("%w: dense layer on rank %d", ErrUnsupported, x.rank)
	}
	k, err := c.weight(l, "kernel", -1, cfg.Units)
	if err != nil {
		return val{}, err
	}
	out := c.g.Op("MatMul", "", []string{x.name, c.g.Const(k.Name, []int64{int64(k.Shape[0]), int64(k.Shape[1])}, k.F)})
	if cfg.UseBias == nil || *cfg.UseBias {
		b, err := c.weight(l, "bias", cfg.Units)
		if err != nil {
			return val{}, err
		}
		out = c.g.Op("Add", "", []string{out, c.g.Const(b.Name, []int64{int64(len(b.F))}, b.F)})
	}
	return c.activation(cfg.Activation, val{name: out, rank: 2})
}

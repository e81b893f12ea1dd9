// Package ort runs ONNX models with ONNX Runtime through
// github.com/yalue/onnxruntime_go. The runtime library itself is a pinned
// file of the model supply chain (package models): Init loads it only after
// its hash matches, from a private copy of the verified bytes, so the code
// that runs is the code that was checked. Model graphs are likewise passed
// to the runtime as the verified bytes, never re-read from disk.
//
// Sessions are created once and reused; ONNX Runtime allows concurrent Run
// calls on one session.
package ort

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	onnx "github.com/yalue/onnxruntime_go"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/models"
)

var (
	initOnce sync.Once
	initErr  error
)

// Init loads the pinned ONNX Runtime library from the models dir, once per
// process.
func Init(m models.Manifest, dir string) error {
	initOnce.Do(func() {
		lib, err := m.Load(dir, "libonnxruntime.so.1")
		if err != nil {
			initErr = err
			return
		}
		defer clear(lib)
		priv, err := os.MkdirTemp("", "obscura-ort-")
		if err != nil {
			initErr = err
			return
		}
		path := filepath.Join(priv, "libonnxruntime.so.1")
		if err := os.WriteFile(path, lib, 0o500); err != nil {
			initErr = err
			return
		}
		onnx.SetSharedLibraryPath(path)
		if err := onnx.InitializeEnvironment(); err != nil {
			initErr = fault.Wrap(fault.Unavailable, "cannot start ONNX Runtime", err)
		}
		// The library stays mapped after the file is gone.
		os.RemoveAll(priv)
	})
	return initErr
}

// spin is whether sessions created from now on let their intra-op
// threads spin while they wait for work.
var spin atomic.Bool

// SetSpinning sets whether sessions created after the call busy-wait
// between parallel sections (ONNX Runtime's
// session.intra_op.allow_spinning). ONNX Runtime spins by default;
// Obscura does not (SetSpinning(false) is the default here): a spinning
// thread burns the CPU that a concurrent model on the other core, the
// server, or the worker's CPU-time rlimit would rather have, and on 2
// cores it cost about as much CPU as the work itself (docs/perf.md,
// "Session 9"). The benchmark turns it on to measure that.
func SetSpinning(on bool) { spin.Store(on) }

// Session is a loaded model with one float32 input and one or more float32
// outputs.
type Session struct {
	s       *onnx.DynamicAdvancedSession
	Input   string
	Outputs []string
	threads int
}

// Tensor is one output: data in row-major order and its shape.
type Tensor struct {
	Data  []float32
	Shape []int64
}

// NewSession creates a session from verified model bytes with intra-op
// threads. Every graph output is fetched, in graph order.
func NewSession(model []byte, threads int) (*Session, error) {
	ins, outs, err := onnx.GetInputOutputInfoWithONNXData(model)
	if err != nil {
		return nil, fmt.Errorf("inspect model: %w", err)
	}
	if len(ins) != 1 || len(outs) < 1 {
		return nil, fmt.Errorf("model has %d inputs and %d outputs, want 1 and ≥ 1", len(ins), len(outs))
	}
	opts, err := onnx.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	defer opts.Destroy()
	if threads > 0 {
		if err := opts.SetIntraOpNumThreads(threads); err != nil {
			return nil, err
		}
		if err := opts.SetInterOpNumThreads(1); err != nil {
			return nil, err
		}
	}
	if !spin.Load() {
		for _, k := range []string{"session.intra_op.allow_spinning", "session.inter_op.allow_spinning"} {
			if err := opts.AddSessionConfigEntry(k, "0"); err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
		}
	}
	names := make([]string, len(outs))
	for i, o := range outs {
		names[i] = o.Name
	}
	s, err := onnx.NewDynamicAdvancedSessionWithONNXData(model, []string{ins[0].Name}, names, opts)
	if err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	return &Session{s: s, Input: ins[0].Name, Outputs: names, threads: threads}, nil
}

// Run runs the model on one tensor and returns the first output's data and shape.
func (s *Session) Run(data []float32, shape ...int64) ([]float32, []int64, error) {
	outs, err := s.RunAll(data, shape...)
	if err != nil {
		return nil, nil, err
	}
	return outs[0].Data, outs[0].Shape, nil
}

// RunAll runs the model on one tensor and returns every output. It is safe
// for concurrent use.
func (s *Session) RunAll(data []float32, shape ...int64) ([]Tensor, error) {
	in, err := onnx.NewTensor(onnx.NewShape(shape...), data)
	if err != nil {
		return nil, fmt.Errorf("input tensor: %w", err)
	}
	defer in.Destroy()
	outs := make([]onnx.Value, len(s.Outputs))
	if err := s.s.Run([]onnx.Value{in}, outs); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	res := make([]Tensor, len(outs))
	for i, o := range outs {
		defer o.Destroy()
		t, ok := o.(*onnx.Tensor[float32])
		if !ok {
			return nil, fmt.Errorf("output %d is %T, want float32 tensor", i, o)
		}
		res[i] = Tensor{Data: append([]float32(nil), t.GetData()...), Shape: append([]int64(nil), t.GetShape()...)}
	}
	return res, nil
}

// Close releases the session.
func (s *Session) Close() error { return s.s.Destroy() }

// Open creates a session from the verified model bytes and hands it to
// wrap (the model package's constructor); name prefixes a failure.
func Open[T any](name string, model []byte, threads int, wrap func(*Session) T) (T, error) {
	s, err := NewSession(model, threads)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("%s: %w", name, err)
	}
	return wrap(s), nil
}

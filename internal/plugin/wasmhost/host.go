package wasmhost

import (
	"context"
	"encoding/binary"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// hostModule is the name of Obscura's own host module (ABI version 1).
const hostModule = "obscura"

// Exit codes the host closes a module with when a run breaks a limit.
const (
	exitLogFlood = 0x0b5c_0001
	exitOutput   = 0x0b5c_0002
)

// run is one run's state, reached by the host functions through the
// call's context.
type run struct {
	w, h     int
	pix      []byte // the input, RGBA
	params   []byte
	faces    []byte // packed records; nil: not declared or not granted
	hasFaces bool   // the plugin may ask for faces

	maxOutPixels int
	maxLog       int

	clock    uint64 // the virtual monotonic clock, ns
	logged   int    // bytes written to the log sink
	logBuf   []byte // the first logKeep bytes (tests only)
	out      []byte
	outW     int
	outH     int
	outCalls int
	reason   string // the first limit broken
}

// logKeep is how much of a run's log is kept (for tests and the CLI's
// dry run; never stored or written to Obscura's own log).
const logKeep = 4 << 10

type runKey struct{}

func runOf(ctx context.Context) *run {
	s, _ := ctx.Value(runKey{}).(*run)
	return s
}

func (s *run) breach(ctx context.Context, m api.Module, reason string, code uint32) {
	if s.reason == "" {
		s.reason = reason
	}
	_ = m.CloseWithExitCode(ctx, code)
	panic(sys.NewExitError(code))
}

// log is the bounded log sink: it keeps the first few KiB and ends the run
// once the plugin has written more than its budget.
func (s *run) log(ctx context.Context, m api.Module, b []byte) {
	s.logged += len(b)
	if k := logKeep - len(s.logBuf); k > 0 {
		s.logBuf = append(s.logBuf, b[:min(k, len(b))]...)
	}
	if s.logged > s.maxLog {
		s.breach(ctx, m, ReasonLogFlood, exitLogFlood)
	}
}

func obscuraFuncs() []hostFunc {
	none := []api.ValueType(nil)
	one := []api.ValueType{i32}
	return []hostFunc{
		{AllowedImport{hostModule, "image_width", "the photo's width"}, none, one, func(ctx context.Context, _ api.Module, st []uint64) {
			st[0] = uint64(runOf(ctx).w)
		}},
		{AllowedImport{hostModule, "image_height", "the photo's height"}, none, one, func(ctx context.Context, _ api.Module, st []uint64) {
			st[0] = uint64(runOf(ctx).h)
		}},
		{AllowedImport{hostModule, "image_read", "copies the photo's RGBA pixels into the plugin's memory"}, []api.ValueType{i32, i32}, one, func(ctx context.Context, m api.Module, st []uint64) {
			st[0] = copyOut(m, runOf(ctx).pix, st)
		}},
		{AllowedImport{hostModule, "params_len", "the length of the validated JSON parameters"}, none, one, func(ctx context.Context, _ api.Module, st []uint64) {
			st[0] = uint64(len(runOf(ctx).params))
		}},
		{AllowedImport{hostModule, "params_read", "copies the validated JSON parameters"}, []api.ValueType{i32, i32}, one, func(ctx context.Context, m api.Module, st []uint64) {
			st[0] = copyOut(m, runOf(ctx).params, st)
		}},
		{AllowedImport{hostModule, "faces_count", "the number of face boxes; -1 unless the manifest declares faces (and the subject granted face detection, or the run is refused before it starts)"}, none, one, func(ctx context.Context, _ api.Module, st []uint64) {
			s := runOf(ctx)
			if !s.hasFaces {
				st[0] = uint64(api.EncodeI32(-1))
				return
			}
			st[0] = uint64(len(s.faces) / faceRecord)
		}},
		{AllowedImport{hostModule, "faces_read", "copies the face boxes (x, y, w, h as int32)"}, []api.ValueType{i32, i32}, one, func(ctx context.Context, m api.Module, st []uint64) {
			s := runOf(ctx)
			if !s.hasFaces {
				st[0] = uint64(api.EncodeI32(-1))
				return
			}
			st[0] = copyOut(m, s.faces, st)
		}},
		{AllowedImport{hostModule, "output", "hands the output image to the host (once; size-capped: a larger one ends the run)"}, []api.ValueType{i32, i32, i32, i32}, one, output},
		{AllowedImport{hostModule, "log", "the bounded log sink, as fd_write"}, []api.ValueType{i32, i32}, none, func(ctx context.Context, m api.Module, st []uint64) {
			b, ok := m.Memory().Read(uint32(st[0]), uint32(st[1]))
			if ok {
				runOf(ctx).log(ctx, m, b)
			}
		}},
	}
}

// copyOut writes src to (ptr, n) in the module's memory: 0 on success, -1
// when n is not len(src) or the range is outside the memory.
func copyOut(m api.Module, src []byte, st []uint64) uint64 {
	ptr, n := uint32(st[0]), uint32(st[1])
	if int(n) != len(src) || !m.Memory().Write(ptr, src) {
		return uint64(api.EncodeI32(-1))
	}
	return 0
}

func output(ctx context.Context, m api.Module, st []uint64) {
	s := runOf(ctx)
	ptr, n, w, h := uint32(st[0]), uint32(st[1]), int(uint32(st[2])), int(uint32(st[3]))
	s.outCalls++
	if w <= 0 || h <= 0 || int64(w)*int64(h) > int64(s.maxOutPixels) {
		s.breach(ctx, m, ReasonOutput, exitOutput)
	}
	if s.outCalls > 1 || int64(n) != 4*int64(w)*int64(h) {
		st[0] = uint64(api.EncodeI32(-1))
		return
	}
	b, ok := m.Memory().Read(ptr, n)
	if !ok {
		st[0] = uint64(api.EncodeI32(-1))
		return
	}
	if w == s.w && h == s.h && len(s.pix) == len(b) {
		copy(s.pix, b) // over the input: no fresh 4×w×h allocation
		s.out = s.pix
	} else {
		s.out = append([]byte(nil), b...)
	}
	s.outW, s.outH = w, h
	st[0] = 0
}

// packFaces encodes face boxes as the ABI's records.
func packFaces(fs []Box) []byte {
	b := make([]byte, 0, faceRecord*len(fs))
	for _, f := range fs {
		for _, v := range []int{f.X, f.Y, f.W, f.H} {
			b = binary.LittleEndian.AppendUint32(b, uint32(int32(v)))
		}
	}
	return b
}

// faceRecord is the size of one face record.
const faceRecord = 16

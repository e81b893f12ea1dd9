package wasmhost

import (
	"context"
	"crypto/rand"
	"encoding/binary"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// wasiModule is the WASI preview 1 module name. The host implements only
// the functions the Go toolchain's wasip1 runtime imports, each pointed at
// a harmless implementation (docs/spec/plugin-v1.md, "Allowed imports").
const wasiModule = "wasi_snapshot_preview1"

// WASI errno values (preview 1).
const (
	errnoSuccess = 0
	errnoBadf    = 8
	errnoFault   = 21
	errnoInval   = 28
)

// FixedRealtime is the wall-clock time every plugin sees
// (2000-01-01T00:00:00Z): it learns nothing about when it runs.
const FixedRealtime = 946684800_000_000_000

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// AllowedImport documents one function a plugin may import and why it is
// harmless.
type AllowedImport struct {
	Module, Name string
	Why          string
}

type hostFunc struct {
	AllowedImport
	params, results []api.ValueType
	fn              api.GoModuleFunc
}

func wasiFuncs() []hostFunc {
	return []hostFunc{
		{AllowedImport{wasiModule, "args_sizes_get", "reports zero arguments"}, []api.ValueType{i32, i32}, []api.ValueType{i32}, zeroSizes},
		{AllowedImport{wasiModule, "args_get", "writes nothing (there are no arguments)"}, []api.ValueType{i32, i32}, []api.ValueType{i32}, success},
		{AllowedImport{wasiModule, "environ_sizes_get", "reports an empty environment"}, []api.ValueType{i32, i32}, []api.ValueType{i32}, zeroSizes},
		{AllowedImport{wasiModule, "environ_get", "writes nothing (the environment is empty)"}, []api.ValueType{i32, i32}, []api.ValueType{i32}, success},
		{AllowedImport{wasiModule, "clock_time_get", "a virtual clock: the wall clock is fixed at 2000-01-01, the monotonic clock is a counter private to the run; no host time leaks"}, []api.ValueType{i32, i64, i32}, []api.ValueType{i32}, clockTimeGet},
		{AllowedImport{wasiModule, "random_get", "fills the buffer from the host's CSPRNG: entropy carries no information about the host, other runs or other photos"}, []api.ValueType{i32, i32}, []api.ValueType{i32}, randomGet},
		{AllowedImport{wasiModule, "fd_write", "only fds 1 and 2, into the run's bounded log sink (never stored, never logged); writing too much ends the run; other fds: EBADF"}, []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}, fdWrite},
		{AllowedImport{wasiModule, "fd_close", "EBADF: there is nothing to close"}, []api.ValueType{i32}, []api.ValueType{i32}, badf},
		{AllowedImport{wasiModule, "fd_fdstat_get", "fds 0-2 are character devices without rights; others EBADF"}, []api.ValueType{i32, i32}, []api.ValueType{i32}, fdstatGet},
		{AllowedImport{wasiModule, "fd_fdstat_set_flags", "EBADF: flags cannot change"}, []api.ValueType{i32, i32}, []api.ValueType{i32}, badf},
		{AllowedImport{wasiModule, "fd_prestat_get", "EBADF: there are no preopened directories, so no path can be opened"}, []api.ValueType{i32, i32}, []api.ValueType{i32}, badf},
		{AllowedImport{wasiModule, "fd_prestat_dir_name", "EBADF (no preopened directories)"}, []api.ValueType{i32, i32, i32}, []api.ValueType{i32}, badf},
		{AllowedImport{wasiModule, "poll_oneoff", "clock waits complete at once on the virtual clock; fd waits fail with EBADF; never blocks the host"}, []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}, pollOneoff},
		{AllowedImport{wasiModule, "sched_yield", "does nothing"}, nil, []api.ValueType{i32}, success},
		{AllowedImport{wasiModule, "proc_exit", "ends this run only (the module instance), never the host"}, []api.ValueType{i32}, nil, procExit},
	}
}

func success(_ context.Context, _ api.Module, stack []uint64) { stack[0] = errnoSuccess }
func badf(_ context.Context, _ api.Module, stack []uint64)    { stack[0] = errnoBadf }

func zeroSizes(_ context.Context, m api.Module, stack []uint64) {
	if !m.Memory().WriteUint32Le(uint32(stack[0]), 0) || !m.Memory().WriteUint32Le(uint32(stack[1]), 0) {
		stack[0] = errnoFault
		return
	}
	stack[0] = errnoSuccess
}

func clockTimeGet(ctx context.Context, m api.Module, stack []uint64) {
	id, out := uint32(stack[0]), uint32(stack[2])
	var t uint64
	switch id {
	case 0: // realtime
		t = FixedRealtime
	case 1, 2, 3: // monotonic, process and thread CPU time: the run's counter
		s := runOf(ctx)
		if s == nil {
			stack[0] = errnoInval
			return
		}
		s.clock += 1000 // each reading advances 1 µs of virtual time
		t = s.clock
	default:
		stack[0] = errnoInval
		return
	}
	if !m.Memory().WriteUint64Le(out, t) {
		stack[0] = errnoFault
		return
	}
	stack[0] = errnoSuccess
}

func randomGet(_ context.Context, m api.Module, stack []uint64) {
	buf, ok := m.Memory().Read(uint32(stack[0]), uint32(stack[1]))
	if !ok {
		stack[0] = errnoFault
		return
	}
	if _, err := rand.Read(buf); err != nil {
		stack[0] = errnoInval
		return
	}
	stack[0] = errnoSuccess
}

func fdWrite(ctx context.Context, m api.Module, stack []uint64) {
	fd, iovs, n, outN := uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
	if fd != 1 && fd != 2 {
		stack[0] = errnoBadf
		return
	}
	mem := m.Memory()
	total := uint32(0)
	for i := range n {
		ptr, ok1 := mem.ReadUint32Le(iovs + 8*i)
		l, ok2 := mem.ReadUint32Le(iovs + 8*i + 4)
		if !ok1 || !ok2 {
			stack[0] = errnoFault
			return
		}
		b, ok := mem.Read(ptr, l)
		if !ok {
			stack[0] = errnoFault
			return
		}
		if s := runOf(ctx); s != nil {
			s.log(ctx, m, b)
		}
		total += l
	}
	if !mem.WriteUint32Le(outN, total) {
		stack[0] = errnoFault
		return
	}
	stack[0] = errnoSuccess
}

func fdstatGet(_ context.Context, m api.Module, stack []uint64) {
	fd, out := uint32(stack[0]), uint32(stack[1])
	if fd > 2 {
		stack[0] = errnoBadf
		return
	}
	var b [24]byte
	b[0] = 2 // character device; flags 0; no rights
	if !m.Memory().Write(out, b[:]) {
		stack[0] = errnoFault
		return
	}
	stack[0] = errnoSuccess
}

func pollOneoff(ctx context.Context, m api.Module, stack []uint64) {
	in, out, n, outN := uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
	if n == 0 || n > 64 {
		stack[0] = errnoInval
		return
	}
	mem := m.Memory()
	s := runOf(ctx)
	for i := range n {
		sub, ok := mem.Read(in+48*i, 48)
		if !ok {
			stack[0] = errnoFault
			return
		}
		var ev [32]byte
		copy(ev[0:8], sub[0:8]) // userdata
		ev[10] = sub[8]         // event type = subscription tag
		switch sub[8] {
		case 0: // clock: advance the virtual clock to the deadline, done
			timeout := binary.LittleEndian.Uint64(sub[24:32])
			abs := binary.LittleEndian.Uint16(sub[40:42])&1 != 0
			if s != nil {
				if abs && timeout > s.clock {
					s.clock = timeout
				} else if !abs {
					s.clock += timeout
				}
			}
		default: // fd_read/fd_write: no fd can be waited on
			binary.LittleEndian.PutUint16(ev[8:10], errnoBadf)
		}
		if !mem.Write(out+32*i, ev[:]) {
			stack[0] = errnoFault
			return
		}
	}
	if !mem.WriteUint32Le(outN, n) {
		stack[0] = errnoFault
		return
	}
	stack[0] = errnoSuccess
}

func procExit(ctx context.Context, m api.Module, stack []uint64) {
	code := uint32(stack[0])
	_ = m.CloseWithExitCode(ctx, code)
	panic(sys.NewExitError(code))
}

// instantiateHost instantiates one host module from its functions.
func instantiateHost(ctx context.Context, rt wazero.Runtime, name string, fns []hostFunc) error {
	b := rt.NewHostModuleBuilder(name)
	for _, f := range fns {
		b.NewFunctionBuilder().WithGoModuleFunction(f.fn, f.params, f.results).Export(f.Name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

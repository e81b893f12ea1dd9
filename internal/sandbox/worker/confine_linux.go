package worker

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/landlock-lsm/go-landlock/landlock"
	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"

	"github.com/obscuraproject/obscura/internal/sandbox/protocol"
)

// MinLandlockABI is the oldest Landlock ABI accepted: 4 adds TCP
// bind/connect rules.
const MinLandlockABI = 4

// Missing lists what this kernel cannot enforce, by name (empty: all of
// it). Landlock is probed with the syscall (securityfs may be unmounted).
func Missing() []string {
	var out []string
	if v, err := llsys.LandlockGetABIVersion(); err != nil || v < MinLandlockABI {
		out = append(out, fmt.Sprintf("landlock ABI >= %d (have %d)", MinLandlockABI, max(v, 0)))
	}
	if _, err := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0); err != nil || !seccomp.Supported() {
		out = append(out, "seccomp-bpf")
	}
	return out
}

// fsRules are the only paths a worker may touch: the model files, the
// system libraries the binary and ONNX Runtime load, Tesseract's data
// (read-only) and its private temporary directory (where ONNX Runtime's
// verified copy is written before it is loaded).
func fsRules(c protocol.Config, exe string) []landlock.Rule {
	ro := []string{c.Models, c.TessData, "/usr/lib", "/lib", "/lib64", "/usr/lib64", "/usr/share/tesseract-ocr"}
	files := []string{exe, "/etc/ld.so.cache", "/proc/cpuinfo"}
	// Landlock checks the file a symlink resolves to: a model directory of
	// links (one tampered file beside links to the rest) is allowed file
	// by file, the targets read-only like the directory.
	if es, err := os.ReadDir(c.Models); err == nil {
		for _, e := range es {
			if e.Type()&os.ModeSymlink != 0 {
				if t, err := filepath.EvalSymlinks(filepath.Join(c.Models, e.Name())); err == nil {
					files = append(files, t)
				}
			}
		}
	}
	return []landlock.Rule{
		landlock.RODirs(ro...).IgnoreIfMissing(),
		landlock.ROFiles(files...).IgnoreIfMissing(),
		landlock.RWDirs(c.TempDir),
	}
}

// restrictAndExec is stage 1: Landlock (filesystem and TCP) is enforced on
// this thread with no_new_privs, then the process execs itself, so the
// whole new process — every thread it will ever have — starts inside the
// domain. (This kernel's ABI has no TSYNC; exec is what makes the domain
// process-wide without a libpsx broadcast.)
func restrictAndExec(c protocol.Config) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return err
	}
	env := append(os.Environ(), protocol.StageEnv+"=2")
	if c.Nice > 0 {
		// Linux keeps the nice value per thread: set on the thread that
		// execs, it is what stage 2's first thread, and so every thread
		// it ever starts (ONNX Runtime's pool included), inherits.
		runtime.LockOSThread()                             // never unlocked: this thread execs
		raw, err := unix.Getpriority(unix.PRIO_PROCESS, 0) // the raw syscall answers 20 - nice
		if err == nil {
			err = unix.Setpriority(unix.PRIO_PROCESS, 0, min(20-raw+c.Nice, 19))
		}
		if err != nil {
			return fmt.Errorf("lower the worker's priority: %w", err)
		}
	}
	if c.Protections&protocol.Landlock == 0 {
		return syscall.Exec(exe, os.Args, env)
	}
	if v, err := llsys.LandlockGetABIVersion(); err != nil || v < MinLandlockABI {
		return fmt.Errorf("landlock ABI %d < %d: %v", v, MinLandlockABI, err)
	}
	// V6: filesystem, TCP, and scoping (no signals or abstract sockets
	// towards processes outside the domain); degraded only to what the
	// kernel has above ABI 4.
	fd, flags, err := landlock.V6.BestEffort().NewRulesetFD(fsRules(c, exe)...)
	if err != nil {
		return fmt.Errorf("landlock ruleset: %w", err)
	}
	if fd < 0 {
		return errors.New("landlock ruleset: nothing to enforce")
	}
	runtime.LockOSThread() // never unlocked: this thread execs
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	if err := llsys.LandlockRestrictSelf(fd, flags); err != nil {
		return fmt.Errorf("landlock_restrict_self: %w", err)
	}
	unix.Close(fd)
	return syscall.Exec(exe, os.Args, env)
}

// setLimits applies the resource limits (before the models load).
func setLimits(c protocol.Config) error {
	set := func(res int, v uint64) error {
		return unix.Setrlimit(res, &unix.Rlimit{Cur: v, Max: v})
	}
	for _, l := range []struct {
		res int
		v   uint64
	}{
		{unix.RLIMIT_AS, uint64(c.Limits.MemoryBytes)},
		{unix.RLIMIT_CPU, uint64(c.Limits.CPUSeconds)},
		{unix.RLIMIT_NOFILE, uint64(c.Limits.OpenFiles)},
		{unix.RLIMIT_CORE, 0},
	} {
		if l.v == 0 && l.res != unix.RLIMIT_CORE {
			continue
		}
		if err := set(l.res, l.v); err != nil {
			return fmt.Errorf("setrlimit %d: %w", l.res, err)
		}
	}
	return nil
}

// lockDown is stage 2's last step, after the models are loaded: no more
// file growth, a separate uid when root, and the seccomp allow-list on
// every thread (ONNX Runtime's and Tesseract's included: TSYNC).
func lockDown(c protocol.Config) error {
	if c.Protections&protocol.Rlimits != 0 {
		if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &unix.Rlimit{}); err != nil {
			return fmt.Errorf("setrlimit fsize: %w", err)
		}
	}
	if c.Protections&protocol.SetUID != 0 && os.Getuid() == 0 {
		// With cgo, glibc applies these to every thread.
		if err := syscall.Setgroups(nil); err != nil {
			return fmt.Errorf("setgroups: %w", err)
		}
		if err := syscall.Setgid(c.GID); err != nil {
			return fmt.Errorf("setgid: %w", err)
		}
		if err := syscall.Setuid(c.UID); err != nil {
			return fmt.Errorf("setuid: %w", err)
		}
	}
	if c.Protections&protocol.Seccomp != 0 {
		if err := seccomp.LoadFilter(filter()); err != nil {
			return fmt.Errorf("seccomp: %w", err)
		}
	}
	return nil
}

// writeFlags are the open flags that write or create: openat with any of
// them is refused.
const writeFlags = unix.O_WRONLY | unix.O_RDWR | unix.O_CREAT | unix.O_TRUNC | unix.O_APPEND

// allowed are the system calls a loaded worker makes: the Go runtime's,
// glibc's thread and memory management, ONNX Runtime's and Tesseract's
// compute threads, reading its pipes and read-only files. Everything else
// — socket, connect, bind, execve, ptrace, kill, mount, unlink, mkdir,
// rename, chmod, setuid… — fails with EPERM.
var allowed = []string{
	// I/O on the pipes and read-only files
	"read", "write", "readv", "writev", "pread64", "close", "fstat", "newfstatat", "statx", "lseek",
	"fcntl", "dup", "dup3", "pipe2", "getdents64", "readlinkat", "getcwd", "faccessat", "faccessat2",
	"epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2", "eventfd2", "ppoll", "pselect6",
	// memory
	"mmap", "munmap", "mprotect", "mremap", "madvise", "brk", "membarrier", "mincore",
	// threads, signals, time
	"clone", "clone3", "futex", "set_robust_list", "get_robust_list", "rseq", "set_tid_address",
	"exit", "exit_group", "gettid", "getpid", "getppid", "tgkill", "sched_yield", "sched_getaffinity",
	"sched_setaffinity", "sched_getparam", "sched_getscheduler", "rt_sigaction", "rt_sigprocmask",
	"rt_sigreturn", "sigaltstack", "restart_syscall", "nanosleep", "clock_nanosleep", "clock_gettime",
	"clock_getres", "gettimeofday",
	// process facts
	"getrlimit", "prlimit64", "getrusage", "uname", "sysinfo", "getuid", "geteuid", "getgid", "getegid",
	"getrandom", "prctl", "arch_prctl",
}

func filter() seccomp.Filter {
	return seccomp.Filter{
		NoNewPrivs: true,
		Flag:       seccomp.FilterFlagTSync,
		Policy: seccomp.Policy{
			DefaultAction: seccomp.ActionErrno,
			Syscalls: []seccomp.SyscallGroup{
				{Action: seccomp.ActionAllow, Names: allowed},
				{Action: seccomp.ActionAllow, NamesWithCondtions: []seccomp.NameWithConditions{
					{Name: "openat", Conditions: []seccomp.Condition{{Argument: 2, Operation: seccomp.BitsNotSet, Value: writeFlags}}},
				}},
			},
		},
	}
}

// Package procstat reads what the benchmarks measure about processes:
// CPU time and minor page faults of this process and of its sandboxed
// workers (from getrusage and /proc/<pid>/stat), and the load average.
package procstat

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CPU is the CPU time of this process plus that of pids (the
// sandboxed workers, read from /proc; clock ticks of 10 ms).
func CPU(pids func() []int) time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) + WorkersCPU(pids)
}

// procCPU is a process's user + system time from /proc/<pid>/stat.
func procCPU(pid int) time.Duration {
	f := procStat(pid)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64) // field 14 overall
	st, _ := strconv.ParseInt(f[12], 10, 64) // field 15
	return time.Duration(ut+st) * (time.Second / 100)
}

// WorkerFaults is the minor page faults of pids (from /proc).
func WorkerFaults(pids func() []int) int64 {
	var n int64
	if pids != nil {
		for _, pid := range pids() {
			if f := procStat(pid); len(f) > 7 {
				v, _ := strconv.ParseInt(f[7], 10, 64) // field 10 overall: minflt
				n += v
			}
		}
	}
	return n
}

// procStat is the fields of /proc/<pid>/stat after the command name (the
// state is f[0], field 3 overall); nil if unreadable.
func procStat(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	// The command name may hold spaces: fields start after the last ')'.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	return strings.Fields(s)
}

// LoadAverage is the 1-minute load average (0 if unreadable).
func LoadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// MinorFaults is this process's minor page faults so far.
func MinorFaults() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Minflt
}

// WorkersCPU is the CPU time of the processes pids lists.
func WorkersCPU(pids func() []int) time.Duration {
	var d time.Duration
	if pids != nil {
		for _, pid := range pids() {
			d += procCPU(pid)
		}
	}
	return d
}

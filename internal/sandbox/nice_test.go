package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// threadNices reads the nice value (field 19 of /proc/<pid>/task/<tid>/stat)
// of every thread of process pid.
func threadNices(t *testing.T, pid int) map[string]int {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("threads of %d: %v", pid, err)
	}
	out := map[string]int{}
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// The command name (field 2) is in parentheses and may hold spaces.
		fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		n, err := strconv.Atoi(fields[16]) // field 19 overall
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[f] = n
	}
	return out
}

// TestNice: a worker configured with Nice runs every thread that much
// nicer than the supervisor (Linux keeps the value per thread, so one
// thread niced would not do), with and without Landlock's re-exec path; a
// worker without it keeps the supervisor's.
func TestNice(t *testing.T) {
	for _, c := range []struct {
		name string
		prot Protections
		nice int
	}{
		{"all protections", All, 10},
		{"no landlock", Seccomp, 7},
		{"not niced", All, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := startTestPool(t, c.prot, Options{Config: Config{Nice: c.nice}})
			r, err := hook(t, p, hookMeta{Do: "pid"})
			if err != nil {
				t.Fatal(err)
			}
			own := threadNices(t, os.Getpid())
			var base int
			for _, n := range own {
				base = n
			}
			want := min(base+c.nice, 19)
			nices := threadNices(t, r.PID)
			if len(nices) < 2 {
				t.Fatalf("worker has %d threads; a Go process has several", len(nices))
			}
			for f, n := range nices {
				if n != want {
					t.Errorf("%s: nice %d, want %d", f, n, want)
				}
			}
		})
	}
}

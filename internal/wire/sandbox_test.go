package wire

import (
	"context"
	"testing"

	"github.com/obscuraproject/obscura/internal/alert"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/config"
)

// crashyVision is the vision stub with the worker pool's crash hook.
type crashyVision struct {
	stubVision
	onCrashes func(int)
}

func (c *crashyVision) OnCrashes(fn func(int)) { c.onCrashes = fn }

// TestSandboxCrashAlert: the graph hooks the worker pool's repeated-crash
// signal to a stored sandbox_crashes alert.
func TestSandboxCrashAlert(t *testing.T) {
	cfg := config.Default()
	cfg.Data = t.TempDir()
	v := &crashyVision{}
	g, err := Open(context.Background(), Options{Config: cfg, Clock: clock.System{}, Vision: v})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if v.onCrashes == nil {
		t.Fatal("the pool's crash hook was not set")
	}
	v.onCrashes(3)
	as, err := g.Store.Alerts(context.Background(), "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].Rule != alert.RuleSandboxCrashes || as[0].Severity != "critical" {
		t.Errorf("alerts %+v, want one %s", as, alert.RuleSandboxCrashes)
	}
}

package jobs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/analysis"
	"github.com/obscuraproject/obscura/internal/fault"
)

// refusingAnalyzer refuses by asset id (a test double for analysis).
type refusingAnalyzer struct{}

func (refusingAnalyzer) AnalyzeQueued(_ context.Context, _, _, assetID string, _ []string) (analysis.Result, error) {
	switch assetID {
	case "no_consent":
		return analysis.Result{}, fault.New(fault.ConsentRequired, "consent required for tagging")
	case "adversarial":
		return analysis.Result{}, fault.New(fault.InputRejected, "adversarial input")
	case "ok":
		return analysis.Result{}, nil
	}
	return analysis.Result{}, fault.New(fault.NotFound, "asset not found")
}

// TestQueuedRefusalsFail is issue 17 item 8: a queued analysis refused
// for a reason other than a fault (consent, adversarial input, the kill
// switch, a missing photo) ends as failed, with the code the synchronous
// answer carries (not cancelled, not internal).
func TestQueuedRefusalsFail(t *testing.T) {
	ctx := context.Background()
	q, err := Open(ctx, filepath.Join(t.TempDir(), "q.db"), refusalOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close(context.Background()) })
	checkRefusals(t, q, q)
}

// refusalOptions: a worker with the refusing analyzer, the API's error
// table and a kill switch on tenant ten_killed.
func refusalOptions() Options {
	return Options{StartWorker: true, PollEvery: 20 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Analyzer: refusingAnalyzer{},
		// The API's error table, as serve wires it (stand-in).
		Code: func(err error) string {
			switch {
			case errors.Is(err, fault.ConsentRequired):
				return "consent_required"
			case errors.Is(err, fault.InputRejected):
				return "input_rejected"
			case errors.Is(err, errKilled):
				return "kill_switch"
			case errors.Is(err, fault.NotFound):
				return "not_found"
			}
			return "internal"
		},
		Kill: func(tenant string) error {
			if tenant == "ten_killed" {
				return errKilled
			}
			return nil
		}}
}

// checkRefusals enqueues through in and reads back through out (the same
// queue, or two nodes' queues on one database).
func checkRefusals(t *testing.T, in, out *Queue) {
	t.Helper()
	ctx := context.Background()
	tests := []struct {
		tenant, asset       string
		wantState, wantCode string
	}{
		{"ten_a", "no_consent", "failed", "consent_required"},
		{"ten_a", "adversarial", "failed", "input_rejected"},
		{"ten_a", "gone", "failed", "not_found"},
		{"ten_killed", "ok", "failed", "kill_switch"},
		{"ten_a", "ok", "completed", ""},
	}
	for _, tc := range tests {
		j, err := in.EnqueueAnalyze(ctx, AnalyzeArgs{Tenant: tc.tenant, AssetID: tc.asset, Features: []string{"tags"}})
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for j.State == "queued" || j.State == "running" {
			if time.Now().After(deadline) {
				t.Fatalf("%s/%s: job still %s", tc.tenant, tc.asset, j.State)
			}
			time.Sleep(30 * time.Millisecond)
			if j, err = out.Get(ctx, tc.tenant, j.ID); err != nil {
				t.Fatal(err)
			}
		}
		if j.State != tc.wantState || j.Error != tc.wantCode {
			t.Errorf("%s/%s: %s %q, want %s %q", tc.tenant, tc.asset, j.State, j.Error, tc.wantState, tc.wantCode)
		}
	}
}

var errKilled = fault.New(fault.Unavailable, "stopped by the operator's kill switch")

func TestErrorCode(t *testing.T) {
	tests := map[string]string{
		"[consent_required] consent required for tagging": "consent_required",
		"[kill_switch] stopped":                           "kill_switch",
		"consent required for tagging":                    "consent_required",
		"asset not found":                                 "not_found",
		"boom":                                            "internal",
		"[":                                               "internal",
	}
	for msg, want := range tests {
		if got := errorCode(msg); got != want {
			t.Errorf("errorCode(%q) = %q, want %q", msg, got, want)
		}
	}
}

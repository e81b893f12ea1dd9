package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// flReport is the part of `obscura fl simulate --json` the tests read.
type flReport struct {
	Seed    float64 `json:"seed_accuracy"`
	Central float64 `json:"central_accuracy"`
	Final   float64 `json:"final_accuracy"`
	Rho     float64 `json:"rho"`
	Epsilon float64 `json:"epsilon"`
	Rounds  []struct {
		Outcome string `json:"outcome"`
	} `json:"rounds"`
}

func simulate(t *testing.T, args ...string) flReport {
	t.Helper()
	out := obscura(t, t.TempDir(), append([]string{"fl", "simulate", "--json"}, args...)...)
	var r flReport
	if err := json.Unmarshal(out, &r); err != nil || len(r.Rounds) == 0 {
		t.Fatalf("simulate output %q: %v", out, err)
	}
	return r
}

// TestFLSimulate trains the scene task over HTTP against the real API
// (in-process server, real devices, secure aggregation, DP noise): every
// round completes (none aborted), at least one is published, and the
// held-out accuracy beats the seed model's by at least 0.1.
//
// The canary check rejects a noisy candidate that loses more than 0.02 of
// canary accuracy, and that is how it should behave, so the test does not
// count on most rounds passing it. Measured (session 10, 8 clients, three
// rounds): at noise 0.2, 28 of 120 rounds were rejected and 4 of 40 runs
// published fewer than two (the old bound, which CI hit); at noise 0.1,
// 15 of 90 rounds were rejected, a first round in 1 of 30 runs, never all
// three; final accuracy 0.727–1.000 against the seed's 0.606.
// With one boosted, unclipped client among eight, every candidate is
// rejected by the canary check and the model stays the seed's.
func TestFLSimulate(t *testing.T) {
	t.Parallel()
	r := simulate(t, "--clients", "8", "--rounds", "3", "--hidden", "0", "--noise", "0.1")
	published := 0
	for i, rd := range r.Rounds {
		switch rd.Outcome {
		case "published":
			published++
		case "rejected":
		default:
			t.Errorf("round %d: %s (want published or rejected by the canary)", i+1, rd.Outcome)
		}
	}
	if published == 0 {
		t.Errorf("no round of %d published", len(r.Rounds))
	}
	if r.Final < r.Seed+0.1 || !(r.Rho > 0) || !(r.Epsilon > 0) {
		t.Errorf("final %.3f (seed %.3f, central %.3f), ρ %g, ε %g", r.Final, r.Seed, r.Central, r.Rho, r.Epsilon)
	}
	p := simulate(t, "--clients", "8", "--rounds", "2", "--hidden", "0", "--noise", "0.2", "--malicious", "1")
	for i, rd := range p.Rounds {
		if rd.Outcome != "rejected" {
			t.Errorf("poisoned round %d: %s", i+1, rd.Outcome)
		}
	}
	if p.Final != p.Seed {
		t.Errorf("poisoned training changed the model: %.3f, seed %.3f", p.Final, p.Seed)
	}
}

// TestFLCLIErrors: bad arguments exit non-zero with one clear line.
func TestFLCLIErrors(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	for _, args := range [][]string{
		{"fl", "simulate", "--clients", "2"},
		{"fl", "simulate", "--malicious", "10", "--clients", "10"},
		{"fl", "rollback", "scene"},
	} {
		_, stderr, ok := runCLI(t, data, args...)
		if ok || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.HasPrefix(stderr, "obscura: ") {
			t.Errorf("obscura %v: ok=%v stderr %q", args, ok, stderr)
		}
	}
}

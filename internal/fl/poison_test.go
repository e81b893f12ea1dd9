package fl_test

import "testing"

// TestPoisoning: 2 of 10 clients (20%) are malicious.
//
//   - Boosted: they skip clipping and send their update flipped and scaled
//     ×20. With the canary check every such candidate is rejected and the
//     published model is never damaged; without it (the control arm) the
//     published model loses accuracy — so the test can fail.
//   - Label-flipped but clipped (an honest SDK on poisoned data): clipping
//     bounds their influence, candidates pass the canary and the model
//     still improves.
func TestPoisoning(t *testing.T) {
	const n, rounds = 10, 2
	boost := func(d []float64) []float64 {
		for i := range d {
			d[i] *= -20
		}
		return d
	}
	run := func(t *testing.T, canary bool, attack string) (seed, final float64, outcomes []string) {
		h := newHarness(t, n)
		cfg := config(n)
		cfg.NoCanary = !canary
		h.create("scene", cfg)
		for _, i := range []int{3, 7} {
			switch attack {
			case "boost":
				h.devices[i].Transform, h.devices[i].SkipClip = boost, true
			case "flip":
				for k := range h.data[i] {
					h.data[i][k].Y = (h.data[i][k].Y + 1) % 3
				}
			}
		}
		seed = h.model("scene").Accuracy(h.test)
		for r := 0; r < rounds; r++ {
			outcomes = append(outcomes, h.round("scene", all(n))[0].Outcome)
		}
		return seed, h.model("scene").Accuracy(h.test), outcomes
	}
	t.Run("boosted, defended", func(t *testing.T) {
		seed, final, out := run(t, true, "boost")
		t.Logf("held-out accuracy: seed %.3f, final %.3f; rounds %v", seed, final, out)
		for _, o := range out {
			if o != "rejected" {
				t.Errorf("a boosted round was %s", o)
			}
		}
		if final < seed-0.02 {
			t.Errorf("defended model damaged: %.3f < seed %.3f", final, seed)
		}
	})
	t.Run("boosted, no canary (control)", func(t *testing.T) {
		seed, final, out := run(t, false, "boost")
		t.Logf("held-out accuracy: seed %.3f, final %.3f; rounds %v", seed, final, out)
		if final > seed-0.1 {
			t.Errorf("undefended model not damaged (%.3f vs seed %.3f): the attack is too weak for the test to mean anything", final, seed)
		}
	})
	t.Run("label-flipped, clipped", func(t *testing.T) {
		seed, final, out := run(t, true, "flip")
		t.Logf("held-out accuracy: seed %.3f, final %.3f; rounds %v", seed, final, out)
		if final < seed+0.1 {
			t.Errorf("model did not improve under clipped label flipping: %.3f vs seed %.3f", final, seed)
		}
	})
}

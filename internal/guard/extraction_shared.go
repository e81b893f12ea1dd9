package guard

import (
	"context"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// ShareThrottle makes a throttled key's one query per ThrottleEvery hold
// across every node on st (a bucket of burst 1 in the shared database),
// not once per node. Call it before serving.
func (e *Extraction) ShareThrottle(st rateState) *Extraction {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.shared = st
	return e
}

// sharedThrottle takes the throttled key's token from the shared bucket
// st (called without e.mu held).
func (e *Extraction) sharedThrottle(st rateState, tenant, key string) error {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	v, err := st.TakeRate(ctx, e.clk.Now(), store.RateTake{Buckets: []store.RateBucket{{Key: "x/" + tenant + "/" + key, Every: e.cfg.ThrottleEvery, Burst: 1}}})
	if err != nil {
		return fault.Wrap(fault.Unavailable, "extraction guard state is unavailable", err)
	}
	if v.Refused >= 0 {
		return &RateLimitedError{RetryAfter: max(v.RetryAfter, time.Millisecond), Why: "this API key is throttled: its queries look like model extraction"}
	}
	return nil
}

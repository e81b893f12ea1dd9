package upload

import (
	"bytes"
	"context"
	"sync"

	"github.com/obscuraproject/obscura/internal/store"
)

// Inspecting an upload (a C2PA manifest check, a watermark search over the
// decoded pixels: tens of milliseconds of CPU for a phone-sized photo) is
// not needed for the upload's answer, so an upload a client waits for
// (store.Interactive) is answered first and inspected right after, in the
// background, one at a time (issue 17.6: uploads keep p99 ≤ 50 ms while
// analyses load the CPU). What the inspection records references the
// asset (ON DELETE CASCADE), so an asset forgotten before its inspection
// ends leaves nothing behind. Imports (not interactive) inspect inline.

// Bounds of the background inspections: how many may be queued or running
// (each holds a copy of its upload), and the largest upload inspected in
// the background; a larger one, or one arriving when the queue is full,
// is inspected before its answer, as before (back-pressure, never a
// skipped inspection).
const (
	inspectQueue    = 8
	inspectMaxBytes = 8 << 20
)

// inspections runs Inspector calls after the uploads' answers.
type inspections struct {
	slots chan struct{} // one per queued or running inspection
	run   sync.Mutex    // one inspection at a time
	wg    sync.WaitGroup
}

func newInspections() *inspections {
	return &inspections{slots: make(chan struct{}, inspectQueue)}
}

// inspectUpload runs s's inspector on the stored upload: in the background when
// a client waits for ctx's answer and the queue has room, else now.
func (s *Service) inspectUpload(ctx context.Context, tenant, assetID string, original []byte) {
	if s.inspect == nil {
		return
	}
	if !store.IsInteractive(ctx) || len(original) > inspectMaxBytes || s.later == nil {
		s.inspect.InspectUpload(ctx, tenant, assetID, original)
		return
	}
	select {
	case s.later.slots <- struct{}{}:
	default:
		s.inspect.InspectUpload(ctx, tenant, assetID, original)
		return
	}
	// The caller clears original once it has answered: keep a copy.
	buf := bytes.Clone(original)
	s.later.wg.Add(1)
	go func() {
		defer s.later.wg.Done()
		defer func() { <-s.later.slots }()
		defer clear(buf)
		s.later.run.Lock()
		defer s.later.run.Unlock()
		// Background work: not cancelled with the request, and its writes
		// are not marked interactive.
		s.inspect.InspectUpload(context.Background(), tenant, assetID, buf)
	}()
}

// Wait returns once every inspection started in the background has ended
// (call it before closing the store).
func (s *Service) Wait() {
	if s.later != nil {
		s.later.wg.Wait()
	}
}

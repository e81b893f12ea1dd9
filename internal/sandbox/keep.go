package sandbox

import (
	"encoding/json"
	"errors"
	"runtime"
	"weak"

	"github.com/obscuraproject/obscura/internal/sandbox/protocol"
	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// The per-worker picture cache ("decode once", issue 25.6). A consented
// run decodes a photo once and then asks for several model passes on it
// (analysis, face embeddings). Without the cache the server sent the
// decoded pixels back to a worker for each pass: 12 MB per pass for a
// 12 MP photo. With it, a decode asks the worker to keep its picture
// under an id the server draws at random; later passes of the same
// request name the id instead of carrying the pixels, and the server asks
// the worker to drop it when the request ends (Pool.Release) or when the
// server's picture is garbage collected.
//
// What a kept picture is not: shared. The id is 128 random bits known
// only to the server and used only for the one *picture.Picture its
// decode returned, so two requests (or two tenants) never hit each
// other's entry even for the same bytes; a worker that does not hold an
// id (evicted, replaced) answers not_kept and the server sends the pixels
// instead. The cache lives inside the worker, which saw those pixels
// anyway: it gives a compromised worker nothing it could not keep in its
// own memory already (docs/threat-model.md).

// errNotKept is a worker's not_kept answer: it does not hold the picture
// a request named (evicted, or the worker was replaced).
var errNotKept = errors.New("picture not kept by the worker")

// namesKept reports whether req names a kept picture instead of carrying
// its pixels.
func namesKept(req protocol.Frame) bool {
	return (req.Op == protocol.OpAnalyze || req.Op == protocol.OpEmbed) && len(req.Blob) == 0
}

// keep records that worker w keeps pic under id. The entry goes when the
// picture is released, when the server's picture is garbage collected,
// or when the worker is reaped.
func (p *Pool) keep(pic *picture.Picture, w *proc, id string) {
	k := weak.Make(pic)
	p.mu.Lock()
	p.kept[k] = keptRef{w: w, id: id}
	p.mu.Unlock()
	runtime.AddCleanup(pic, p.forget, k)
}

// keptBy is where pic is kept, if anywhere.
func (p *Pool) keptBy(pic *picture.Picture) (keptRef, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ref, ok := p.kept[weak.Make(pic)]
	return ref, ok
}

// Release ends the use of a picture Decode returned: the worker keeping
// it drops it now (when idle) rather than when newer pictures push it
// out. Later calls with pic still work; they carry its pixels again. A
// picture is read only once decoded: its kept copy is what model passes
// read.
func (p *Pool) Release(pic *picture.Picture) { p.forget(weak.Make(pic)) }

func (p *Pool) forget(k weak.Pointer[picture.Picture]) {
	p.mu.Lock()
	ref, ok := p.kept[k]
	if ok {
		delete(p.kept, k)
		ref.w.drops = append(ref.w.drops, ref.id)
	}
	p.mu.Unlock()
	if ok {
		select {
		case ref.w.wake <- struct{}{}:
		default: // already woken
		}
	}
}

// sendDrops tells w which of its pictures to drop.
func (p *Pool) sendDrops(w *proc) error {
	p.mu.Lock()
	ids := w.drops
	w.drops = nil
	p.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	meta, err := json.Marshal(protocol.DropMeta{IDs: ids})
	if err != nil {
		return err
	}
	_, err = p.roundTrip(w, protocol.Frame{Op: protocol.OpDrop, Meta: meta}, 0, nil)
	return err
}

// Sent is how many bytes of request blobs (image bytes, pixels) the pool
// has written to its workers.
func (p *Pool) Sent() int64 { return p.sent.Load() }

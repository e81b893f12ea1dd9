package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"weak"

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

// Bounds of a worker's kept pictures: at most maxKept pictures and
// maxKeptBytes of pixels, least recently used evicted first. A 12 MP
// photo decoded at 1/2 scale is 11.6 MB; a worker serves one request at a
// time, so a few entries cover requests interleaved on it.
const (
	maxKept      = 4
	maxKeptBytes = 128 << 20
)

// keepIDLen is the length of a keep id: 16 random bytes in hex.
const keepIDLen = 32

// errNotKept answers a request naming a picture the worker does not hold.
var errNotKept = errors.New("picture not kept by this worker")

// newKeepID draws a keep id.
func newKeepID() string {
	var b [keepIDLen / 2]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// checkKeepID requires a well-formed keep id (lowercase hex).
func checkKeepID(id string) error {
	if len(id) != keepIDLen {
		return fmt.Errorf("keep id of %d bytes", len(id))
	}
	for i := range len(id) {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return errors.New("keep id is not lowercase hex")
		}
	}
	return nil
}

type keptPicture struct {
	id  string
	pic *picture.Picture
}

// keptSet is a worker's kept pictures, least recently used first. Only
// the worker's one serving goroutine touches it.
type keptSet struct {
	list  []keptPicture
	bytes int64
}

// put keeps p under id, evicting the least recently used pictures to stay
// within the bounds; a picture larger than maxKeptBytes is not kept.
func (k *keptSet) put(id string, p *picture.Picture) bool {
	n := int64(len(p.RGB.Pix))
	k.drop(id)
	if n > maxKeptBytes {
		return false
	}
	for len(k.list) > 0 && (len(k.list) >= maxKept || k.bytes+n > maxKeptBytes) {
		k.bytes -= int64(len(k.list[0].pic.RGB.Pix))
		k.list[0] = keptPicture{}
		k.list = k.list[1:]
	}
	k.list = append(k.list, keptPicture{id: id, pic: p})
	k.bytes += n
	return true
}

// get returns the picture kept under id (nil if none) and marks it used.
func (k *keptSet) get(id string) *picture.Picture {
	for i, e := range k.list {
		if e.id == id {
			k.list = append(append(k.list[:i:i], k.list[i+1:]...), e)
			return e.pic
		}
	}
	return nil
}

// drop forgets the pictures kept under ids.
func (k *keptSet) drop(ids ...string) {
	for _, id := range ids {
		for i, e := range k.list {
			if e.id == id {
				k.bytes -= int64(len(e.pic.RGB.Pix))
				k.list = append(k.list[:i:i], k.list[i+1:]...)
				break
			}
		}
	}
}

// len is the number of kept pictures.
func (k *keptSet) len() int { return len(k.list) }

// namesKept reports whether req names a kept picture instead of carrying
// its pixels.
func namesKept(req Frame) bool {
	return (req.Op == OpAnalyze || req.Op == OpEmbed) && len(req.Blob) == 0
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
	meta, err := json.Marshal(dropMeta{IDs: ids})
	if err != nil {
		return err
	}
	_, err = p.roundTrip(w, Frame{Op: OpDrop, Meta: meta}, 0, nil)
	return err
}

// Sent is how many bytes of request blobs (image bytes, pixels) the pool
// has written to its workers.
func (p *Pool) Sent() int64 { return p.sent.Load() }

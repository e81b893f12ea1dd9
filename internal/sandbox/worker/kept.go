package worker

import (
	"errors"

	"github.com/obscuraproject/obscura/internal/vision/picture"
)

// A worker keeps the pictures the server asks it to (the per-worker
// picture cache of docs/spec/worker-v1.md, "Kept pictures"), so that the
// model passes of one request need not carry the pixels again.

// errNotKept answers a request naming a picture the worker does not hold.
var errNotKept = errors.New("picture not kept by this worker")

// Bounds of a worker's kept pictures: at most MaxKept pictures and
// MaxKeptBytes of pixels, least recently used evicted first. A 12 MP
// photo decoded at 1/2 scale is 11.6 MB; a worker serves one request at a
// time, so a few entries cover requests interleaved on it.
const (
	MaxKept      = 4
	MaxKeptBytes = 128 << 20
)

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
// within the bounds; a picture larger than MaxKeptBytes is not kept.
func (k *keptSet) put(id string, p *picture.Picture) bool {
	n := int64(len(p.RGB.Pix))
	k.drop(id)
	if n > MaxKeptBytes {
		return false
	}
	for len(k.list) > 0 && (len(k.list) >= MaxKept || k.bytes+n > MaxKeptBytes) {
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

// Package jpegtran rotates and flips JPEGs losslessly in the DCT domain,
// what `jpegtran -perfect -copy none` does: the quantized coefficients
// are moved and sign-flipped, never decoded to pixels or re-quantized
// (transform.c, over libjpeg's coefficient API). Where partial MCU blocks
// on a mirrored edge make a perfect transform impossible it refuses
// (ErrImperfect), and the caller decodes instead. Large pictures are
// entropy-coded in strips on several threads, joined with restart
// markers. It parses untrusted bytes only through libjpeg, which stops at
// the first warning.
package jpegtran

/*
#cgo LDFLAGS: -lturbojpeg -ljpeg
#include <stdlib.h>
#include <turbojpeg.h>
#include "transform.h"

// obscura_transform applies op to a JPEG in the DCT domain, refusing an
// imperfect transform (partial MCU blocks) and copying no marker.
static int obscura_transform(const unsigned char *buf, unsigned long size, int op, unsigned char **dst, unsigned long *dstSize, char *errbuf, int errlen) {
	tjhandle t = tjInitTransform();
	if (t == NULL) return -1;
	tjtransform xf = {0};
	xf.op = op;
	xf.options = TJXOPT_PERFECT | TJXOPT_COPYNONE;
	*dst = NULL;
	*dstSize = 0;
	int rc = tjTransform(t, buf, size, 1, dst, dstSize, &xf, TJFLAG_LIMITSCANS | TJFLAG_STOPONWARNING);
	if (rc != 0) {
		const char *msg = tjGetErrorStr2(t);
		int i = 0;
		for (; msg && msg[i] && i < errlen - 1; i++) errbuf[i] = msg[i];
		errbuf[i] = 0;
		if (*dst) { tjFree(*dst); *dst = NULL; }
	}
	tjDestroy(t);
	return rc;
}
*/
import "C"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// transformOps maps an EXIF orientation (2–8) to the libjpeg-turbo
// transform that makes the image upright.
var transformOps = [9]C.int{
	2: C.TJXOP_HFLIP,
	3: C.TJXOP_ROT180,
	4: C.TJXOP_VFLIP,
	5: C.TJXOP_TRANSPOSE,
	6: C.TJXOP_ROT90,
	7: C.TJXOP_TRANSVERSE,
	8: C.TJXOP_ROT270,
}

// ErrImperfect reports a transform that partial MCU blocks would make
// lossy, or a JPEG libjpeg refuses.
var ErrImperfect = errors.New("transform not perfect")

// splitMinPixels is the smallest picture whose entropy coding is split in
// strips across threads: below it the threads would cost more than they
// save, and the output is byte for byte tjTransform's.
const splitMinPixels = 2_000_000

// maxStrips bounds the strips (and threads) of one rotation.
const maxStrips = 4

// Orient rotates or flips a JPEG by its EXIF orientation (2–8) in the DCT
// domain (transform.c): no decode to pixels, no re-encode, no loss. No
// marker of the input is copied. A picture of splitMinPixels or more is entropy-coded
// in strips on up to GOMAXPROCS threads and joined with restart markers;
// a smaller one is byte for byte what libjpeg-turbo's tjTransform and
// `jpegtran -perfect -copy none` write. Where partial MCU blocks at the
// edges make a perfect transform impossible it fails, and the caller
// decodes instead.
func Orient(data []byte, orientation int) ([]byte, error) {
	out, _, err := OrientInto(data, orientation, nil)
	return out, err
}

// OrientInto is Orient writing into buf when it is large enough. It
// returns the transformed JPEG and the buffer it was written in (buf, or
// a larger one), which the caller may reuse once it no longer needs the
// JPEG.
func OrientInto(data []byte, orientation int, buf []byte) (out, used []byte, err error) {
	return orientInto(data, orientation, min(runtime.GOMAXPROCS(0), maxStrips), splitMinPixels, buf)
}

// orientStrips is Orient in up to strips strips when the destination has
// at least minPixels.
func orientStrips(data []byte, orientation, strips, minPixels int) ([]byte, error) {
	out, _, err := orientInto(data, orientation, strips, minPixels, nil)
	return out, err
}

// orientInto is orientStrips writing into buf when it is large enough
// (OrientInto).
func orientInto(data []byte, orientation, strips, minPixels int, buf []byte) (out, used []byte, err error) {
	if orientation < 2 || orientation > 8 || len(data) == 0 {
		return nil, nil, ErrImperfect
	}
	var job *C.struct_obx_job
	var msg [200]C.char
	rc := C.obx_open((*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)), C.int(orientation), C.int(strips), C.ulong(minPixels),
		&job, &msg[0], C.int(len(msg)))
	if rc != 0 {
		return nil, nil, errors.Join(ErrImperfect, errors.New(C.GoString(&msg[0])))
	}
	defer C.obx_close(job)
	n := int(C.obx_strips(job))
	// The strips are written straight into one Go buffer, each into its
	// own region (no pointers in it, and the library keeps none after the
	// call: no copy out of the C heap, no fresh C memory to fault in). A
	// rotation changes the entropy-coded size by a few percent; a strip
	// that does not fit its region is written to C memory instead.
	region := (len(data)/n)*5/4 + 64<<10
	if cap(buf) >= n*region {
		buf = buf[:n*region]
	} else {
		buf = make([]byte, n*region)
	}
	parts := make([][]byte, n)
	errs := make([]error, n)
	moved := make([]bool, n)
	encode := func(k int) {
		var out *C.uchar
		var size C.ulong
		var msg [200]C.char
		dst := buf[k*region : (k+1)*region]
		if C.obx_encode(job, C.int(k), (*C.uchar)(unsafe.Pointer(&dst[0])), C.ulong(len(dst)), &out, &size, &msg[0], C.int(len(msg))) != 0 {
			errs[k] = errors.Join(ErrImperfect, errors.New(C.GoString(&msg[0])))
			return
		}
		if unsafe.Pointer(out) != unsafe.Pointer(&dst[0]) { // it did not fit
			parts[k] = C.GoBytes(unsafe.Pointer(out), C.int(size))
			C.free(unsafe.Pointer(out))
			moved[k] = true
			return
		}
		parts[k] = dst[:size:size]
	}
	// At most strips threads (the 16-bit restart interval can force more
	// strips than were asked for on a very wide picture), this goroutine
	// one of them.
	var next atomic.Int32
	run := func() {
		for k := int(next.Add(1)) - 1; k < n; k = int(next.Add(1)) - 1 {
			encode(k)
		}
	}
	var wg sync.WaitGroup
	for range min(strips, n) - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run()
		}()
	}
	run()
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	if n == 1 {
		return parts[0], buf, nil
	}
	// Joined in place, unless a strip outgrew its region (the join could
	// then overwrite a later strip before moving it).
	dst := buf[:0]
	for _, m := range moved {
		if m {
			dst = nil
		}
	}
	out, err = joinStrips(dst, parts)
	return out, buf, err
}

// joinStrips joins JPEGs that are strips of one picture, each a whole
// number of restart intervals with the same tables (obx_encode's), into
// one: the first strip's headers with the frame's height made the sum of
// the strips', then each strip's entropy-coded segment, RST0…RST7 in turn
// between them. dst may share memory with the parts, provided each part
// starts no earlier than the parts before it end (the join only moves
// bytes towards the start).
func joinStrips(dst []byte, parts [][]byte) ([]byte, error) {
	height := 0
	var sof int // offset of the first strip's frame height
	for k, p := range parts {
		hdr, h, at, err := stripHeader(p)
		if err != nil {
			return nil, fmt.Errorf("strip %d: %w", k, err)
		}
		height += h
		if k == 0 {
			sof = at
			dst = append(dst, p[:len(p)-2]...)
			continue
		}
		dst = append(dst, 0xFF, 0xD0+byte((k-1)%8))
		dst = append(dst, p[hdr:len(p)-2]...)
	}
	if height > 0xFFFF {
		return nil, fmt.Errorf("strips %d rows high", height)
	}
	binary.BigEndian.PutUint16(dst[sof:], uint16(height))
	return append(dst, 0xFF, 0xD9), nil
}

// stripHeader walks the marker segments of one of obx_encode's strips up
// to its scan: it returns where the entropy-coded segment starts, the
// frame's height and the offset of that height. The strip must end with
// EOI right after its entropy-coded segment.
func stripHeader(p []byte) (scan, height, at int, err error) {
	if len(p) < 4 || p[0] != 0xFF || p[1] != 0xD8 || p[len(p)-2] != 0xFF || p[len(p)-1] != 0xD9 {
		return 0, 0, 0, errors.New("not a whole JPEG")
	}
	at = -1
	for i := 2; i+4 <= len(p) && p[i] == 0xFF; {
		m, n := p[i+1], int(binary.BigEndian.Uint16(p[i+2:]))
		if n < 2 || i+2+n > len(p) {
			break
		}
		if (m == 0xC0 || m == 0xC1) && n >= 7 {
			at = i + 5
			height = int(binary.BigEndian.Uint16(p[at:]))
		}
		i += 2 + n
		if m == 0xDA {
			if at < 0 {
				break
			}
			return i, height, at, nil
		}
	}
	return 0, 0, 0, errors.New("no baseline frame and scan")
}

// turboOrient is Orient done by libjpeg-turbo's own tjTransform
// (TJXOPT_PERFECT | TJXOPT_COPYNONE): the reference the tests hold
// Orient to, and the baseline its benchmark is measured against.
func turboOrient(data []byte, orientation int) ([]byte, error) {
	if orientation < 2 || orientation > 8 || len(data) == 0 {
		return nil, ErrImperfect
	}
	var dst *C.uchar
	var n C.ulong
	var msg [200]C.char
	rc := C.obscura_transform((*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)), transformOps[orientation], &dst, &n, &msg[0], C.int(len(msg)))
	if rc != 0 {
		return nil, errors.Join(ErrImperfect, errors.New(C.GoString(&msg[0])))
	}
	defer C.tjFree(dst)
	return C.GoBytes(unsafe.Pointer(dst), C.int(n)), nil
}

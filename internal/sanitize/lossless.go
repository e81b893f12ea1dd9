package sanitize

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
	"errors"
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

// errImperfect reports a rotation that partial MCU blocks make lossy.
var errImperfect = errors.New("transform not perfect")

// losslessOrient rotates or flips a metadata-free JPEG by its EXIF
// orientation in the DCT domain (transform.c, byte for byte what
// libjpeg-turbo's tjTransform and `jpegtran -perfect -copy none` write):
// no decode, no re-encode, no loss. Where partial MCU blocks at the edges
// make a perfect transform impossible it fails, and the caller decodes
// instead.
func losslessOrient(data []byte, orientation int) ([]byte, error) {
	if orientation < 2 || orientation > 8 || len(data) == 0 {
		return nil, errImperfect
	}
	// The input is read in place and the output written straight into a
	// Go buffer (both hold no pointers and the library keeps neither after
	// the call): no copy to or from the C heap, and no fresh C memory to
	// fault in. A rotation changes the entropy-coded size by a few percent.
	buf := make([]byte, len(data)+len(data)/8+64<<10)
	var out *C.uchar
	var n C.ulong
	var msg [200]C.char
	rc := C.obx_transform((*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)), C.int(orientation),
		(*C.uchar)(unsafe.Pointer(&buf[0])), C.ulong(len(buf)), &out, &n, &msg[0], C.int(len(msg)))
	if rc != 0 {
		return nil, errors.Join(errImperfect, errors.New(C.GoString(&msg[0])))
	}
	if unsafe.Pointer(out) != unsafe.Pointer(&buf[0]) { // it did not fit
		defer C.free(unsafe.Pointer(out))
		return C.GoBytes(unsafe.Pointer(out), C.int(n)), nil
	}
	return buf[:n:n], nil
}

// turboOrient is losslessOrient done by libjpeg-turbo's own tjTransform
// (TJXOPT_PERFECT | TJXOPT_COPYNONE): the reference the tests hold
// losslessOrient to, and the baseline its benchmark is measured against.
func turboOrient(data []byte, orientation int) ([]byte, error) {
	if orientation < 2 || orientation > 8 || len(data) == 0 {
		return nil, errImperfect
	}
	var dst *C.uchar
	var n C.ulong
	var msg [200]C.char
	rc := C.obscura_transform((*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)), transformOps[orientation], &dst, &n, &msg[0], C.int(len(msg)))
	if rc != 0 {
		return nil, errors.Join(errImperfect, errors.New(C.GoString(&msg[0])))
	}
	defer C.tjFree(dst)
	return C.GoBytes(unsafe.Pointer(dst), C.int(n)), nil
}

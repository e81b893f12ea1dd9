package picture

/*
#cgo LDFLAGS: -lturbojpeg
#include <turbojpeg.h>

static int obscura_decode(const unsigned char *buf, unsigned long size, unsigned char *dst, int w, int h, char *errbuf, int errlen) {
	tjhandle t = tjInitDecompress();
	if (t == NULL) return -1;
	int rc = tjDecompress2(t, buf, size, dst, w, 0, h, TJPF_RGBA, TJFLAG_FASTDCT | TJFLAG_LIMITSCANS | TJFLAG_STOPONWARNING);
	if (rc != 0) {
		const char *msg = tjGetErrorStr2(t);
		int i = 0;
		for (; msg && msg[i] && i < errlen - 1; i++) errbuf[i] = msg[i];
		errbuf[i] = 0;
	}
	tjDestroy(t);
	return rc;
}
*/
import "C"

import (
	"errors"
	"image"
	"unsafe"
)

// scaledSize is the size libjpeg-turbo decodes w×h to at scale num/8:
// ceil(w*num/8).
func scaledSize(w, h, num int) (int, int) {
	return (w*num + 7) / 8, (h*num + 7) / 8
}

// decodeJPEG decodes at the smallest eighth-scale (1/8 … 8/8) whose long
// side is at least minSide.
func decodeJPEG(data []byte, w, h, minSide int) (*image.RGBA, error) {
	num := 8
	if minSide > 0 {
		for _, n := range []int{1, 2, 4} {
			sw, sh := scaledSize(w, h, n)
			if max(sw, sh) >= minSide {
				num = n
				break
			}
		}
	}
	if len(data) == 0 {
		return nil, errors.New("empty JPEG")
	}
	sw, sh := scaledSize(w, h, num)
	img := image.NewRGBA(image.Rect(0, 0, sw, sh))
	// The compressed bytes are read in place (Go memory holding no
	// pointers, not kept by the library after the call).
	var msg [200]C.char
	rc := C.obscura_decode((*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)), (*C.uchar)(unsafe.Pointer(&img.Pix[0])), C.int(sw), C.int(sh), &msg[0], C.int(len(msg)))
	if rc != 0 { // errors and warnings (a truncated file) alike
		return nil, errors.New(C.GoString(&msg[0]))
	}
	return img, nil
}

package sanitizetest

import (
	"bytes"
	"image"
	"image/jpeg"
)

// Photo is a w×h 4:2:0 JPEG (Go's encoder, quality 90, no metadata) with
// texture and noise-like detail, as a camera would store it sideways.
func Photo(w, h int) []byte {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := range h {
		for x := range w {
			img.Y[y*img.YStride+x] = byte((x/16+y/12)&0xff) ^ byte((x*7+y*13)%23)
		}
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = byte(100+i%40), byte(140-i%30)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		panic(err) // writing to memory does not fail
	}
	return buf.Bytes()
}

package sanitize

import (
	"fmt"
	"image"
	"image/color"
)

// DefaultMaxDecodeBytes is the decode budget of DefaultLimits: 200 MB of
// decoded pixels, what a 50-megapixel photo takes at 8 bits per channel
// with alpha. A 48 MP phone photo (8064×6048, 8-bit) fits; a 7000×7000
// 16-bit RGBA PNG (392 MB) does not.
const DefaultMaxDecodeBytes = 200_000_000

// DecodedBytes is how many bytes the standard decoders allocate for the
// pixels of an image with this header (width × height × bytes per pixel of
// its colour model; 8 for a model it does not know).
func DecodedBytes(cfg image.Config) int64 {
	return int64(cfg.Width) * int64(cfg.Height) * int64(bytesPerPixel(cfg.ColorModel))
}

func bytesPerPixel(m color.Model) int {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.YCbCrModel: // 4:4:4 at most
		return 3
	case color.RGBAModel, color.NRGBAModel, color.NYCbCrAModel, color.CMYKModel:
		return 4
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8
}

// maxDecodeBytes is the budget, DefaultMaxDecodeBytes when unset.
func (lim Limits) maxDecodeBytes() int64 {
	if lim.MaxDecodeBytes > 0 {
		return lim.MaxDecodeBytes
	}
	return DefaultMaxDecodeBytes
}

// checkBudget refuses, from the header alone, an image whose pixels would
// take more than the decode budget once decoded (pixels × bit depth ×
// channels): a small file must not buy hundreds of megabytes.
func (lim Limits) checkBudget(cfg image.Config) error {
	if n := DecodedBytes(cfg); n > lim.maxDecodeBytes() {
		return fmt.Errorf("%dx%d decodes to %d MB, over the %d MB budget: %w", cfg.Width, cfg.Height, n/1e6, lim.maxDecodeBytes()/1e6, ErrTooLarge)
	}
	return nil
}

// admit waits for the decode gate (Limits.Admit) before pixels are
// decoded; the returned function releases it.
func (lim Limits) admit(cfg image.Config) (func(), error) {
	if lim.Admit == nil {
		return func() {}, nil
	}
	return lim.Admit(int64(cfg.Width) * int64(cfg.Height))
}

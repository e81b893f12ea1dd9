package picture

import (
	"errors"
	"testing"

	"github.com/obscuraproject/obscura/internal/sanitize/sanitizetest"
)

// Regression for finding 16.2: an analysis (or `obscura analyze`) decoded
// a 381 KB 7000×7000 16-bit RGBA PNG in full (392 MB, then a 196 MB RGBA
// copy). It is refused from its header; the same depth at a small size and
// a 49 MP grey JPEG (decoded scaled) still decode.
func TestDecodeBudget(t *testing.T) {
	if _, err := Decode(sanitizetest.PNG(7000, 7000, 1), DefaultOptions); !errors.Is(err, ErrTooLarge) {
		t.Errorf("16-bit 49 MP PNG: %v, want ErrTooLarge", err)
	}
	p, err := Decode(sanitizetest.PNG(60, 40, 6), DefaultOptions)
	if err != nil || p.Width != 40 || p.Height != 60 {
		t.Errorf("small 16-bit PNG: %v", err)
	}
	tight := DefaultOptions
	tight.MaxDecodeBytes = 60*40*8 - 1
	if _, err := Decode(sanitizetest.PNG(60, 40, 1), tight); !errors.Is(err, ErrTooLarge) {
		t.Errorf("one byte over a set budget: %v", err)
	}
	p, err = Decode(sanitizetest.JPEG(4000, 3000, 6), DefaultOptions)
	if err != nil || p.Width != 3000 || p.Height != 4000 {
		t.Errorf("12 MP grey JPEG: %v", err)
	}
}

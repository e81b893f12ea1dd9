package plugin

import (
	"errors"
	"testing"
)

func TestDecodeFaces(t *testing.T) {
	b := []byte{
		1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0,
		0xff, 0xff, 0xff, 0xff, 0, 1, 0, 0, 10, 0, 0, 0, 20, 0, 0, 0,
		9, // trailing partial record: ignored
	}
	got := decodeFaces(b)
	want := []Face{{1, 2, 3, 4}, {-1, 256, 10, 20}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("face %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestCall(t *testing.T) {
	tests := []struct {
		name    string
		effect  Effect
		wantErr bool
	}{
		{"none", nil, true},
		{"identity", func(r *Request) (*Image, error) { return r.Image, nil }, false},
		{"error", func(r *Request) (*Image, error) { return nil, errors.New("no") }, true},
		{"malformed", func(r *Request) (*Image, error) { return &Image{Width: 2, Height: 2, Pix: make([]byte, 3)}, nil }, true},
		{"nil image", func(r *Request) (*Image, error) { return nil, nil }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			Register(tt.effect)
			defer Register(nil)
			_, err := Call(&Request{Image: NewImage(2, 2)})
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestRGBAView(t *testing.T) {
	im := NewImage(3, 2)
	im.RGBA().Pix[4*4] = 7 // (1,1) red
	if im.Pix[16] != 7 || im.RGBA().Bounds().Dx() != 3 {
		t.Error("RGBA does not share the pixels")
	}
}

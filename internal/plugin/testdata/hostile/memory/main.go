// Hostile plugin: grows its memory without bound. Must be stopped at its
// memory cap.
package main

import "github.com/obscuraproject/obscura/sdk/plugin"

var hoard [][]byte

func init() {
	plugin.Register(func(r *plugin.Request) (*plugin.Image, error) {
		for {
			b := make([]byte, 64<<20)
			b[len(b)-1] = 1
			hoard = append(hoard, b)
		}
	})
}

func main() {}

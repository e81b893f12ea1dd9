// Hostile plugin: tries to read a host file. Must be refused at install
// (os.Open imports path_open).
package main

import (
	"os"

	"github.com/obscuraproject/obscura/sdk/plugin"
)

func init() {
	plugin.Register(func(r *plugin.Request) (*plugin.Image, error) {
		b, err := os.ReadFile("/etc/passwd")
		if err == nil && len(b) > 0 {
			r.Image.Pix[0] = b[0]
		}
		return r.Image, nil
	})
}

func main() {}

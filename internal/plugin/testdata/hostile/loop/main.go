// Hostile plugin: never returns. Must be stopped at the deadline.
package main

import "github.com/obscuraproject/obscura/sdk/plugin"

var sink int

func init() {
	plugin.Register(func(r *plugin.Request) (*plugin.Image, error) {
		for i := 0; ; i++ {
			sink += i
		}
	})
}

func main() {}

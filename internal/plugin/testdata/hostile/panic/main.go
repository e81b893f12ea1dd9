// Hostile plugin: panics. Must fail the run, nothing else.
package main

import "github.com/obscuraproject/obscura/sdk/plugin"

func init() {
	plugin.Register(func(r *plugin.Request) (*plugin.Image, error) {
		var m map[string]int
		m["boom"]++ // nil map: panic
		return r.Image, nil
	})
}

func main() {}

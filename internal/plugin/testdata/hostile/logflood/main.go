// Hostile plugin: floods the log. Must be cut off at its log budget.
package main

import (
	"strings"

	"github.com/obscuraproject/obscura/sdk/plugin"
)

func init() {
	plugin.Register(func(r *plugin.Request) (*plugin.Image, error) {
		line := strings.Repeat("spam ", 200)
		for {
			plugin.Log(line)
		}
	})
}

func main() {}

// Command face-blur is an Obscura plugin that redacts every detected face
// (pixelates it, or blurs it), so a photo can be shared without showing
// who is in it. Built by scripts/setup.sh with
// GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared.
package main

import (
	"github.com/obscuraproject/obscura/plugins/face-blur/blur"
	"github.com/obscuraproject/obscura/sdk/plugin"
)

func init() { plugin.Register(blur.Apply) }

func main() {}

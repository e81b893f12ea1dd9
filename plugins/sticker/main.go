// Command sticker is an Obscura plugin that places a sticker on every face
// or in a corner of the photo. Built by scripts/setup.sh with
// GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared.
package main

import (
	"github.com/obscuraproject/obscura/plugins/sticker/sticker"
	"github.com/obscuraproject/obscura/sdk/plugin"
)

func init() { plugin.Register(sticker.Apply) }

func main() {}

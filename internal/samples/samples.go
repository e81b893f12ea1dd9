// Package samples holds a few small, openly licensed photos (see
// LICENSE.md beside this file) for the README walkthrough, the demo page
// and tests: astronaut.jpg (one face) and coffee.jpg (a cup, no face).
package samples

import "embed"

// FS holds the sample photos by file name.
//
//go:embed *.jpg
var FS embed.FS

// Names lists the sample photos, in the order the demo offers them.
var Names = []string{"astronaut.jpg", "coffee.jpg"}

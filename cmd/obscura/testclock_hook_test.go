//go:build !obscuratestclock

package main

import "testing"

// Without the obscuratestclock tag (every production build) nothing
// overrides the system clock: testclock.go is not compiled in.
// e2e/memes_ttl_test.go checks the built binary as well.
func TestNoClockOverrideWithoutTag(t *testing.T) {
	if clockOverride != nil {
		t.Fatal("clockOverride is set in a build without the obscuratestclock tag")
	}
}

//go:build !wasip1

package plugin

// Log discards msg outside the sandbox.
func Log(msg string) {}

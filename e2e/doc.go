// Package e2e holds end-to-end tests that build the obscura binary and drive
// it as a user would: CLI commands and `obscura serve` over real HTTP.
package e2e

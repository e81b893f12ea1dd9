// Package obscura is the root of the Obscura module: a self-hostable,
// privacy-first image-recognition backend. The binary lives in cmd/obscura,
// everything else in internal/; this package holds only repository-wide
// tests (documentation coverage).
package obscura

// Package ident makes Obscura's random identifiers: a type prefix ("ast_",
// "res_", "ten_", …) followed by random bytes from crypto/rand in
// lowercase, unpadded RFC 4648 base32 (a–z, 2–7). Identifiers are opaque
// and unguessable, so one cannot be derived from another; they are not
// secrets (secrets such as API keys and tokens are made where they are
// used, with their own encodings).
package ident

import (
	"crypto/rand"
	"encoding/base32"
)

// Bytes is how many random bytes New uses: 120 bits, 24 characters.
const Bytes = 15

var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// New returns prefix followed by Bytes random bytes in base32.
func New(prefix string) string { return Sized(prefix, Bytes) }

// Sized returns prefix followed by n random bytes in base32, for the
// formats whose length was fixed before New existed (tenant ids: 12 bytes;
// scope key ids: 16; alert ids: 10).
func Sized(prefix string, n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails on supported platforms (Go ≥ 1.24 crashes instead)
	return prefix + b32.EncodeToString(b)
}

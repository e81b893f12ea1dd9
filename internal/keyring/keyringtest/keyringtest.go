// Package keyringtest holds test doubles for the key service's root: a
// root key that a test can take down, as a KMS outage would. It is
// imported only by tests.
package keyringtest

import (
	"errors"

	"github.com/tink-crypto/tink-go/v2/tink"
)

// ErrDown is what a root taken down answers.
var ErrDown = errors.New("kms: connection refused")

// SwitchableRoot wraps a real root AEAD; while Down is set every call
// fails with ErrDown.
type SwitchableRoot struct {
	tink.AEAD
	Down bool
}

// Encrypt encrypts with the wrapped root, or fails while Down.
func (r *SwitchableRoot) Encrypt(p, ad []byte) ([]byte, error) {
	if r.Down {
		return nil, ErrDown
	}
	return r.AEAD.Encrypt(p, ad)
}

// Decrypt decrypts with the wrapped root, or fails while Down.
func (r *SwitchableRoot) Decrypt(c, ad []byte) ([]byte, error) {
	if r.Down {
		return nil, ErrDown
	}
	return r.AEAD.Decrypt(c, ad)
}

package keyring

import (
	"context"
	"crypto/ed25519"
	"fmt"

	tinked "github.com/tink-crypto/tink-go/v2/signature/ed25519"

	"github.com/tink-crypto/tink-go/v2/signature"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// Signer signs with a tenant's Ed25519 key; the private key stays in the
// keyring. Signatures are raw Ed25519 (no Tink prefix), verifiable offline
// with crypto/ed25519 and the public key.
type Signer struct {
	s   tink.Signer
	pub ed25519.PublicKey
}

// Sign signs msg.
func (s *Signer) Sign(msg []byte) ([]byte, error) { return s.s.Sign(msg) }

// PublicKey returns the verification key.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.pub }

// TenantSigner returns the tenant's signing key for a use ("consent",
// "audit", …), creating it on first use; tenant "" is the installation's own
// key (audit checkpoints, forensic bundles). The keyset is stored encrypted
// under the root key like every system keyset.
func (k *Keyring) TenantSigner(ctx context.Context, tenant, use string) (*Signer, error) {
	name := "ed25519/" + use + "/" + tenant
	k.mu.Lock()
	if s, ok := k.signers[name]; ok {
		k.mu.Unlock()
		return s, nil
	}
	k.mu.Unlock()
	if tenant != "" {
		if _, err := k.st.Tenant(ctx, tenant); err != nil {
			return nil, err
		}
	}
	h, err := k.systemKeyset(ctx, name, signature.ED25519KeyWithoutPrefixTemplate())
	if err != nil {
		return nil, err
	}
	ts, err := signature.NewSigner(h)
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	pubH, err := h.Public()
	if err != nil {
		return nil, err
	}
	e, err := pubH.Primary()
	if err != nil {
		return nil, err
	}
	pk, ok := e.Key().(*tinked.PublicKey)
	if !ok {
		return nil, fmt.Errorf("signing key is %T, not Ed25519", e.Key())
	}
	s := &Signer{s: ts, pub: ed25519.PublicKey(pk.KeyBytes())}
	k.mu.Lock()
	k.signers[name] = s
	k.mu.Unlock()
	return s, nil
}

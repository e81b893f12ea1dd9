package secagg

import (
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/secretsharing"
	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/chacha20poly1305"
)

// HKDF info labels (docs/spec/secagg-v1.md, "Key derivation").
const (
	infoMaskKey  = "obscura/secagg/v1 mask key"  // s_u^SK from its shared scalar
	infoSelfMask = "obscura/secagg/v1 self mask" // PRG key from b_u
	infoPairMask = "obscura/secagg/v1 pair mask" // PRG key from X25519(s_u, s_v)
	infoShareEnc = "obscura/secagg/v1 share enc" // AEAD key from X25519(c_u, c_v)
)

// ringMask returns 2^bits − 1.
func ringMask(bits uint8) uint64 {
	if bits >= 64 {
		return ^uint64(0)
	}
	return 1<<bits - 1
}

// kdf derives a 32-byte key with HKDF-SHA256.
func kdf(secret, salt []byte, info string) [32]byte {
	var k [32]byte
	b, err := hkdf.Key(sha256.New, secret, salt, info, 32)
	if err != nil { // only for lengths HKDF cannot produce; 32 always works
		panic(fmt.Sprintf("secagg: hkdf: %v", err))
	}
	copy(k[:], b)
	return k
}

// PRG expands key into n ring elements: ChaCha20 (RFC 8439) with the key, an
// all-zero nonce and counter 0; element i is the little-endian uint64 of
// keystream bytes [8i, 8i+8) reduced mod 2^bits (the low bits, so uniform).
func PRG(key [32]byte, n int, bits uint8) []uint64 {
	out := make([]uint64, n)
	addPRG(out, key, bits, 1)
	return out
}

// addPRG adds sign·PRG(key) to v in Z_{2^bits} (sign is +1 or −1).
func addPRG(v []uint64, key [32]byte, bits uint8, sign int) {
	var nonce [chacha20.NonceSize]byte
	c, err := chacha20.NewUnauthenticatedCipher(key[:], nonce[:])
	if err != nil {
		panic(fmt.Sprintf("secagg: chacha20: %v", err))
	}
	m := ringMask(bits)
	buf := make([]byte, 8*1024)
	for off := 0; off < len(v); off += 1024 {
		end := min(off+1024, len(v))
		b := buf[:8*(end-off)]
		clear(b)
		c.XORKeyStream(b, b)
		for i := off; i < end; i++ {
			x := binary.LittleEndian.Uint64(b[8*(i-off):])
			if sign > 0 {
				v[i] = (v[i] + x) & m
			} else {
				v[i] = (v[i] - x) & m
			}
		}
	}
}

// scalarBytes encodes a ristretto255 scalar canonically.
func scalarBytes(s group.Scalar) [keyLen]byte {
	var out [keyLen]byte
	b, err := s.MarshalBinary()
	if err != nil || len(b) != keyLen {
		panic("secagg: scalar encoding")
	}
	copy(out[:], b)
	return out
}

// parseScalar decodes a canonical ristretto255 scalar.
func parseScalar(b [keyLen]byte) (group.Scalar, error) {
	s := group.Ristretto255.NewScalar()
	if err := s.UnmarshalBinary(b[:]); err != nil {
		return nil, fmt.Errorf("scalar: %w", ErrForged)
	}
	return s, nil
}

// randomScalar draws a uniform scalar from 64 bytes of r.
func randomScalar(r io.Reader) (group.Scalar, error) {
	var b [64]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return nil, fmt.Errorf("read randomness: %w", err)
	}
	return group.Ristretto255.HashToScalar(b[:], []byte("obscura/secagg/v1 random scalar")), nil
}

// maskKeyFromScalar derives the X25519 mask key s_u^SK from its shared scalar.
func maskKeyFromScalar(s group.Scalar) (*ecdh.PrivateKey, error) {
	b := scalarBytes(s)
	k := kdf(b[:], nil, infoMaskKey)
	return ecdh.X25519().NewPrivateKey(k[:])
}

// selfMaskKey derives the PRG key of the self mask from b_u.
func selfMaskKey(seed group.Scalar) [32]byte {
	b := scalarBytes(seed)
	return kdf(b[:], nil, infoSelfMask)
}

// pairKey derives the PRG key of the pairwise mask between u and v.
func pairKey(priv *ecdh.PrivateKey, peer [keyLen]byte, session [SessionLen]byte) ([32]byte, error) {
	pub, err := ecdh.X25519().NewPublicKey(peer[:])
	if err != nil {
		return [32]byte{}, fmt.Errorf("peer mask key: %w", ErrForged)
	}
	z, err := priv.ECDH(pub)
	if err != nil { // low-order point
		return [32]byte{}, fmt.Errorf("mask agreement: %w", ErrForged)
	}
	return kdf(z, session[:], infoPairMask), nil
}

// shareAEAD returns the AEAD between the owners of priv and peer.
func shareAEAD(priv *ecdh.PrivateKey, peer [keyLen]byte, session [SessionLen]byte) (cipher.AEAD, error) {
	pub, err := ecdh.X25519().NewPublicKey(peer[:])
	if err != nil {
		return nil, fmt.Errorf("peer encryption key: %w", ErrForged)
	}
	z, err := priv.ECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("share agreement: %w", ErrForged)
	}
	k := kdf(z, session[:], infoShareEnc)
	return chacha20poly1305.New(k[:])
}

// shareAD is the associated data of a share ciphertext: session ‖ from ‖ to.
func shareAD(session [SessionLen]byte, from, to uint32) []byte {
	ad := append([]byte(nil), session[:]...)
	ad = putU32(ad, from)
	return putU32(ad, to)
}

// split shares secret among ids with threshold t (t shares recover it).
func split(r io.Reader, secret group.Scalar, t int, ids []uint32) map[uint32][keyLen]byte {
	ss := secretsharing.New(r, uint(t-1), secret)
	out := make(map[uint32][keyLen]byte, len(ids))
	for _, id := range ids {
		sh := ss.ShareWithID(group.Ristretto255.NewScalar().SetUint64(uint64(id)))
		out[id] = scalarBytes(sh.Value)
	}
	return out
}

// recoverSecret interpolates the secret from at least t shares keyed by holder index.
func recoverSecret(t int, shares map[uint32][keyLen]byte) (group.Scalar, error) {
	if len(shares) < t {
		return nil, fmt.Errorf("%d shares, need %d: %w", len(shares), t, ErrTooFew)
	}
	list := make([]secretsharing.Share, 0, len(shares))
	for id, v := range shares {
		s, err := parseScalar(v)
		if err != nil {
			return nil, err
		}
		list = append(list, secretsharing.Share{ID: group.Ristretto255.NewScalar().SetUint64(uint64(id)), Value: s})
	}
	return secretsharing.Recover(uint(t-1), list)
}

package jobs

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"strings"
)

// Job ids: River numbers jobs with one sequence across tenants, so a
// tenant reading its own job ids would learn the installation's volume.
// The public id is instead "job_" + base32 of one AES-256 block,
// encrypting (the River id, 8 bytes big-endian ‖ the first 8 bytes of
// SHA-256(tenant)) under a key derived from the installation's keyring:
// a keyed permutation, so public ids are opaque and unordered, decode
// without a table, and a decoded id names its tenant (another tenant's
// id, or a forged one, is not found).

var idB32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// idCodec encodes and decodes public job ids.
type idCodec struct{ block cipher.Block }

// newIDCodec keys the codec; a nil key picks a random one (ids then last
// only as long as the process).
func newIDCodec(key []byte) *idCodec {
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			panic(err)
		}
	}
	k := sha256.Sum256(append([]byte("obscura job id v1\x00"), key...))
	b, err := aes.NewCipher(k[:])
	if err != nil {
		panic(err) // a 32-byte key cannot fail
	}
	return &idCodec{block: b}
}

func tenantTag(tenant string) []byte {
	h := sha256.Sum256([]byte(tenant))
	return h[:8]
}

// encode returns the public id of River job id for tenant.
func (c *idCodec) encode(tenant string, id int64) string {
	var p, out [16]byte
	binary.BigEndian.PutUint64(p[:8], uint64(id))
	copy(p[8:], tenantTag(tenant))
	c.block.Encrypt(out[:], p[:])
	return "job_" + idB32.EncodeToString(out[:])
}

// decode returns the River id of a public id of tenant's, or false.
func (c *idCodec) decode(tenant, public string) (int64, bool) {
	s, ok := strings.CutPrefix(public, "job_")
	if !ok || len(s) != 26 {
		return 0, false
	}
	raw, err := idB32.DecodeString(s)
	if err != nil || len(raw) != 16 {
		return 0, false
	}
	var p [16]byte
	c.block.Decrypt(p[:], raw)
	if string(p[8:]) != string(tenantTag(tenant)) {
		return 0, false
	}
	id := int64(binary.BigEndian.Uint64(p[:8]))
	return id, id > 0
}

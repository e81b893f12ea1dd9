package secagg

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestPRGMatchesRFC8439 checks the PRG against RFC 8439 Appendix A.1 test
// vector #1 (all-zero key and nonce, block counter 0): keystream
// 76 b8 e0 ad a0 f1 3d 90 40 5d 6a e5 53 86 bd 28 …
func TestPRGMatchesRFC8439(t *testing.T) {
	got := PRG([32]byte{}, 2, 64)
	want := []uint64{0x903df1a0ade0b876, 0x28bd8653e56a5d40}
	if got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("PRG = %#x, want %#x", got, want)
	}
	if g := PRG([32]byte{}, 1, 16); g[0] != 0xb876 {
		t.Fatalf("16-bit PRG = %#x, want 0xb876", g[0])
	}
}

// seedMessages returns the vector messages as fuzz seeds.
func seedMessages(f *testing.F) [][]byte {
	b, err := os.ReadFile(filepath.Join("testdata", "vectors.json"))
	if err != nil {
		f.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, m := range v.Messages {
		raw, _ := hex.DecodeString(m.Hex)
		out = append(out, raw)
	}
	for _, r := range v.Rejected {
		raw, _ := hex.DecodeString(r.Hex)
		out = append(out, raw)
	}
	return out
}

func FuzzParseEnvelope(f *testing.F) {
	for _, m := range seedMessages(f) {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEnvelope(b)
		if err != nil {
			return
		}
		if !bytes.Equal(e.Marshal(), b) {
			t.Fatal("envelope does not round-trip")
		}
	})
}

// bodies returns the body of every vector message as a seed.
func bodies(f *testing.F) {
	for _, m := range seedMessages(f) {
		if e, err := ParseEnvelope(m); err == nil {
			f.Add(e.Body)
		}
	}
	f.Add([]byte{0, 0, 0, 0})
}

func FuzzParseBodies(f *testing.F) {
	bodies(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		if a, err := ParseAdvertise(b); err == nil && !bytes.Equal(a.Marshal(), b) {
			t.Fatal("advertise does not round-trip")
		}
		if l, err := ParseKeyList(b); err == nil && !bytes.Equal(l.Marshal(), b) {
			t.Fatal("key list does not round-trip")
		}
		if l, err := ParseAddressed(b); err == nil && !bytes.Equal(MarshalAddressed(l), b) {
			t.Fatal("addressed does not round-trip")
		}
		for _, bits := range []uint8{1, 13, 16, 64} {
			if v, err := ParseVector(b, bits); err == nil && !bytes.Equal(MarshalVector(v, bits), b) {
				t.Fatalf("vector (%d bits) does not round-trip", bits)
			}
		}
		if l, err := ParseIndexes(b); err == nil && !bytes.Equal(MarshalIndexes(l), b) {
			t.Fatal("indexes do not round-trip")
		}
		if l, err := ParseSignatures(b); err == nil && !bytes.Equal(MarshalSignatures(l), b) {
			t.Fatal("signatures do not round-trip")
		}
		if l, err := ParseRevealed(b); err == nil && !bytes.Equal(MarshalRevealed(l), b) {
			t.Fatal("revealed does not round-trip")
		}
		if p, err := parseSharePlain(b); err == nil && !bytes.Equal(p.marshal(), b) {
			t.Fatal("share plaintext does not round-trip")
		}
	})
}

// FuzzServerReceive: whatever bytes a client sends, the server answers with
// an error or accepts, never panics, and a session that then completes
// honestly still sums exactly.
func FuzzServerReceive(f *testing.F) {
	for _, m := range seedMessages(f) {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := newSession(t, params(2, 4, 16), 3, "vectors")
		_ = s.srv.Receive(b)
	})
}

// FuzzClientBroadcasts: whatever a server broadcasts, a client returns an
// error or a message, never panics.
func FuzzClientBroadcasts(f *testing.F) {
	for _, m := range seedMessages(f) {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := newSession(t, params(2, 4, 16), 3, "fuzz client")
		c := s.parties[1].c
		if _, err := c.AdvertiseKeys(); err != nil {
			t.Fatal(err)
		}
		_, _ = c.ShareKeys(b)
		c.st = stageMasked
		_, _ = c.MaskedInput(b, make([]uint64, 4))
		c.st = stageConsistency
		c.u2 = []uint32{1, 2, 3}
		_, _ = c.ConsistencyCheck(b)
		c.st = stageUnmask
		c.u3 = []uint32{1, 2, 3}
		_, _ = c.Unmask(b)
	})
}

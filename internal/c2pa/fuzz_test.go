package c2pa

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/veraison/go-cose"
)

func goldenParts(f *testing.F) (file, store, claim, sig []byte) {
	file, err := os.ReadFile("testdata/golden.jpg")
	if err != nil {
		f.Fatal(err)
	}
	loc, err := FindStore(file)
	if err != nil || loc == nil {
		f.Fatal("golden has no store", err)
	}
	b, err := ParseBox(loc.Store)
	if err != nil {
		f.Fatal(err)
	}
	m := b.Children[0]
	return file, loc.Store, m.Child(LabelClaim).Content(typeCBOR).Data, m.Child(LabelSignature).Content(typeCBOR).Data
}

// FuzzParseBox: no panic; a box that parses with plain 32-bit lengths
// re-encodes to the same bytes.
func FuzzParseBox(f *testing.F) {
	_, store, _, _ := goldenParts(f)
	f.Add(store)
	f.Add(store[:40])
	f.Add([]byte{0, 0, 0, 8, 'j', 'u', 'm', 'b'})
	f.Fuzz(func(t *testing.T, p []byte) {
		b, err := ParseBox(p)
		if err != nil {
			return
		}
		if binary.BigEndian.Uint32(p) > 1 && !bytes.Equal(b.Encode(), p) {
			t.Fatal("re-encoding differs")
		}
	})
}

// FuzzFindStore covers JPEG header scanning and APP11 reassembly: no panic,
// and a found store's range lies inside the file.
func FuzzFindStore(f *testing.F) {
	file, _, _, _ := goldenParts(f)
	f.Add(file)
	f.Add(file[:200])
	f.Fuzz(func(t *testing.T, p []byte) {
		loc, err := FindStore(p)
		if err != nil || loc == nil {
			return
		}
		if loc.Start < 2 || loc.Start+loc.Length > len(p) || len(loc.Store) > MaxStore {
			t.Fatalf("store range %d+%d outside %d bytes", loc.Start, loc.Length, len(p))
		}
		if _, err := StripStores(p); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzDecodeClaim: no panic; a claim that decodes re-encodes and decodes
// to the same value.
func FuzzDecodeClaim(f *testing.F) {
	_, _, claim, _ := goldenParts(f)
	f.Add(claim)
	f.Fuzz(func(t *testing.T, p []byte) {
		c, err := DecodeClaim(p)
		if err != nil {
			return
		}
		again, err := encMode.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := DecodeClaim(again)
		if err != nil {
			t.Fatal(err)
		}
		if again2, _ := encMode.Marshal(c2); !bytes.Equal(again, again2) {
			t.Fatal("claim round trip differs")
		}
	})
}

// FuzzCOSE: the COSE_Sign1 parser and x5chain decoding never panic.
func FuzzCOSE(f *testing.F) {
	_, _, _, sig := goldenParts(f)
	f.Add(sig)
	f.Fuzz(func(t *testing.T, p []byte) {
		var msg cose.Sign1Message
		if msg.UnmarshalCBOR(p) != nil {
			return
		}
		_, _ = x5chain(msg.Headers.Protected[cose.HeaderLabelX5Chain])
	})
}

// FuzzVerify runs the whole verifier on mutated files: no panic, and a
// valid result always names its signer and claim.
func FuzzVerify(f *testing.F) {
	file, _, _, _ := goldenParts(f)
	s := goldenSigner(f)
	roots := pool(s)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	f.Add(file)
	f.Fuzz(func(t *testing.T, p []byte) {
		r, err := Verify(p, roots, at)
		if err != nil {
			return
		}
		if r.Valid && (!r.Present || r.Claim == nil || r.Signer == "") {
			t.Fatalf("valid without a claim or signer: %+v", r)
		}
	})
}

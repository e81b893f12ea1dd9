package secagg

import (
	"crypto/ecdh"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json")

// vectors is testdata/vectors.json: exact outputs of the PRG and the key
// derivations, one message of every type, and one malformed message per
// rejection rule of docs/spec/secagg-v1.md.
type vectors struct {
	PRG []struct {
		Key  string   `json:"key"`
		Bits uint8    `json:"bits"`
		Out  []uint64 `json:"out"`
	} `json:"prg"`
	PairKey struct {
		PrivA, PubB, Session, Key string
	} `json:"pair_key"`
	Messages []struct {
		Name string `json:"name"`
		Hex  string `json:"hex"`
	} `json:"messages"`
	Rejected []struct {
		Name  string `json:"name"`
		Hex   string `json:"hex"`
		Error string `json:"error"`
	} `json:"rejected"`
}

// generate builds the vectors from a deterministic session.
func generate(t *testing.T) vectors {
	var v vectors
	for _, c := range []struct {
		key  byte
		bits uint8
	}{{0, 16}, {1, 32}, {2, 64}, {3, 13}} {
		var k [32]byte
		for i := range k {
			k[i] = c.key + byte(i)
		}
		v.PRG = append(v.PRG, struct {
			Key  string   `json:"key"`
			Bits uint8    `json:"bits"`
			Out  []uint64 `json:"out"`
		}{hex.EncodeToString(k[:]), c.bits, PRG(k, 6, c.bits)})
	}
	var a, b [32]byte
	for i := range a {
		a[i], b[i] = byte(i), byte(0x80+i)
	}
	pa, _ := ecdh.X25519().NewPrivateKey(a[:])
	pb, _ := ecdh.X25519().NewPrivateKey(b[:])
	var sess [SessionLen]byte
	copy(sess[:], "vector session 1")
	k, err := pairKey(pa, [32]byte(pb.PublicKey().Bytes()), sess)
	must(t, err)
	v.PairKey.PrivA, v.PairKey.PubB = hex.EncodeToString(a[:]), hex.EncodeToString(pb.PublicKey().Bytes())
	v.PairKey.Session, v.PairKey.Key = hex.EncodeToString(sess[:]), hex.EncodeToString(k[:])

	// One session of three clients, recorded (shares are randomised by circl,
	// so only the deterministic messages are kept).
	s := newSession(t, params(2, 4, 16), 3, "vectors")
	add := func(name string, msg []byte) {
		v.Messages = append(v.Messages, struct {
			Name string `json:"name"`
			Hex  string `json:"hex"`
		}{name, hex.EncodeToString(msg)})
	}
	adv, err := s.parties[1].c.AdvertiseKeys()
	must(t, err)
	add("advertise", adv)
	add("masked", (&Envelope{Type: TypeMasked, Session: sess, Sender: 1, Body: MarshalVector([]uint64{0, 1, 0xfffe, 0x1234}, 16), Sig: make([]byte, sigLen)}).Marshal())
	add("survivors", (&Envelope{Type: TypeSurvivors, Session: sess, Body: MarshalIndexes([]uint32{1, 3, 4})}).Marshal())
	add("unmask", (&Envelope{Type: TypeUnmask, Session: sess, Sender: 3, Sig: make([]byte, sigLen), Body: MarshalRevealed([]Revealed{{Owner: 1, Kind: ShareSeed}, {Owner: 2, Kind: ShareMaskKey}})}).Marshal())

	rej := func(name string, msg []byte, err error) {
		v.Rejected = append(v.Rejected, struct {
			Name  string `json:"name"`
			Hex   string `json:"hex"`
			Error string `json:"error"`
		}{name, hex.EncodeToString(msg), err.Error()})
	}
	mut := func(f func([]byte) []byte) []byte { return f(append([]byte(nil), adv...)) }
	rej("version 2", mut(func(b []byte) []byte { b[0] = 2; return b }), errUnsupportedVersion)
	rej("unknown type", mut(func(b []byte) []byte { b[1] = 9; return b }), ErrMalformed)
	rej("client message without sender", mut(func(b []byte) []byte { b[21] = 0; return b }), ErrMalformed)
	rej("broadcast with sender", mut(func(b []byte) []byte { b[1] = byte(TypeSurvivors); return b }), ErrMalformed)
	rej("missing signature byte", mut(func(b []byte) []byte { return b[:len(b)-1] }), ErrMalformed)
	rej("trailing byte", mut(func(b []byte) []byte { return append(b, 0) }), ErrMalformed)
	rej("short header", adv[:headerLen-1], ErrMalformed)
	return v
}

var errUnsupportedVersion = errors.New("unsupported")

func TestVectors(t *testing.T) {
	got := generate(t)
	path := filepath.Join("testdata", "vectors.json")
	if *update {
		b, _ := json.MarshalIndent(got, "", "  ")
		must(t, os.WriteFile(path, append(b, '\n'), 0o644))
	}
	b, err := os.ReadFile(path)
	must(t, err)
	var want vectors
	must(t, json.Unmarshal(b, &want))
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if string(gb) != string(wb) {
		t.Fatalf("vectors differ from %s (run with -update after a deliberate change)", path)
	}
	// Every message parses and re-encodes to the same bytes.
	for _, m := range want.Messages {
		raw, _ := hex.DecodeString(m.Hex)
		e, err := ParseEnvelope(raw)
		if err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if hex.EncodeToString(e.Marshal()) != m.Hex {
			t.Errorf("%s: re-encoding differs", m.Name)
		}
	}
	// Every rejected vector is refused by ParseEnvelope.
	for _, r := range want.Rejected {
		raw, _ := hex.DecodeString(r.Hex)
		if _, err := ParseEnvelope(raw); err == nil {
			t.Errorf("%s: accepted", r.Name)
		}
	}
}

package secagg

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// seeded is a deterministic randomness source for reproducible tests.
type seeded struct{ r *rand.ChaCha8 }

func newSeeded(seed string) *seeded {
	return &seeded{rand.NewChaCha8(sha256.Sum256([]byte(seed)))}
}

func (s *seeded) Read(p []byte) (int, error) { return s.r.Read(p) }

// party is one test client with its device key.
type party struct {
	c      *Client
	device ed25519.PrivateKey
	x      []uint64
}

// session is a test session: a server, its clients and what each round saw.
type session struct {
	t       *testing.T
	srv     *Server
	parties map[uint32]*party
	// seen records every byte the server receives or sends (the curious server's view).
	seen [][]byte
}

func devices(n int, seed string) map[uint32]ed25519.PrivateKey {
	r := newSeeded(seed)
	out := map[uint32]ed25519.PrivateKey{}
	for i := 1; i <= n; i++ {
		var s [32]byte
		_, _ = r.Read(s[:])
		out[uint32(i)] = ed25519.NewKeyFromSeed(s[:])
	}
	return out
}

func newSession(t *testing.T, p Params, n int, seed string) *session {
	t.Helper()
	devs := devices(n, seed)
	pubs := map[uint32]ed25519.PublicKey{}
	s := &session{t: t, parties: map[uint32]*party{}}
	r := newSeeded(seed + "/inputs")
	for i := uint32(1); i <= uint32(n); i++ {
		d := devs[i]
		pubs[i] = d.Public().(ed25519.PublicKey)
		c, err := NewClient(p, i, d, newSeeded(fmt.Sprintf("%s/%d", seed, i)))
		if err != nil {
			t.Fatal(err)
		}
		x := make([]uint64, p.Length)
		for j := range x {
			x[j] = r.r.Uint64() & ringMask(p.Bits)
		}
		s.parties[i] = &party{c: c, device: d, x: x}
	}
	srv, err := NewServer(p, pubs)
	if err != nil {
		t.Fatal(err)
	}
	s.srv = srv
	return s
}

func (s *session) send(msg []byte, err error) {
	s.t.Helper()
	if err != nil {
		s.t.Fatalf("client: %v", err)
	}
	s.seen = append(s.seen, msg)
	if err := s.srv.Receive(msg); err != nil {
		s.t.Fatalf("server receive: %v", err)
	}
}

// run plays the protocol; drop[r] lists the clients that stop before round r.
// It returns the server's final error (nil when the sum is ready).
func (s *session) run(drop map[int][]uint32) error {
	s.t.Helper()
	return s.play(5, drop)
}

// play plays the protocol's first rounds (0: advertise keys, 1: share
// keys, 2: masked input, 3: consistency check, 4: unmask), closing each.
func (s *session) play(rounds int, drop map[int][]uint32) error {
	s.t.Helper()
	alive := map[uint32]bool{}
	for i := range s.parties {
		alive[i] = true
	}
	order := slices.Sorted(func(yield func(uint32) bool) {
		for i := range s.parties {
			if !yield(i) {
				return
			}
		}
	})
	for round := 0; round < rounds; round++ {
		for _, d := range drop[round] {
			alive[d] = false
		}
		for _, i := range order {
			if !alive[i] {
				continue
			}
			p := s.parties[i]
			switch round {
			case 0:
				s.send(p.c.AdvertiseKeys())
			case 1:
				kl, err := s.srv.KeyList()
				if err != nil {
					s.t.Fatal(err)
				}
				s.send(p.c.ShareKeys(kl))
			case 2:
				ct, err := s.srv.Ciphertexts(i)
				if err != nil {
					s.t.Fatal(err)
				}
				s.send(p.c.MaskedInput(ct, p.x))
			case 3:
				sv, err := s.srv.Survivors()
				if err != nil {
					s.t.Fatal(err)
				}
				s.send(p.c.ConsistencyCheck(sv))
			case 4:
				sg, err := s.srv.Signatures()
				if err != nil {
					s.t.Fatal(err)
				}
				s.send(p.c.Unmask(sg))
			}
		}
		if err := s.srv.Close(); err != nil {
			return err
		}
	}
	return nil
}

// want is the sum of the inputs of the clients in U3.
func (s *session) want() []uint64 {
	z := make([]uint64, s.srv.p.Length)
	for _, u := range s.srv.Survived() {
		for i, x := range s.parties[u].x {
			z[i] = (z[i] + x) & ringMask(s.srv.p.Bits)
		}
	}
	return z
}

func params(t, length int, bits uint8) Params {
	p := Params{Threshold: t, Bits: bits, Length: length}
	copy(p.Session[:], "test session 001")
	return p
}

// TestSumExact: with no dropouts and with dropouts at every round up to
// n − t clients, the server's sum is exactly the survivors' sum; with one
// more dropout the session aborts.
func TestSumExact(t *testing.T) {
	cases := []struct {
		name     string
		n, t     int
		bits     uint8
		drop     map[int][]uint32
		survived int
		tooFew   bool
	}{
		{"no dropouts", 7, 4, 16, nil, 7, false},
		{"64-bit ring", 5, 3, 64, nil, 5, false},
		{"odd bits", 5, 3, 13, nil, 5, false},
		{"drop before sharing", 7, 4, 20, map[int][]uint32{1: {2, 5}}, 5, false},
		{"drop after sharing (mask keys recovered)", 7, 4, 20, map[int][]uint32{2: {1, 4, 7}}, 4, false},
		{"drop before consistency", 7, 4, 20, map[int][]uint32{3: {3, 6}}, 7, false},
		{"drop before unmasking", 7, 4, 20, map[int][]uint32{4: {1, 2, 7}}, 7, false},
		{"n-t spread over rounds", 9, 5, 24, map[int][]uint32{1: {9}, 2: {1}, 3: {5}, 4: {3}}, 7, false},
		{"n-t+1 after sharing", 7, 4, 20, map[int][]uint32{2: {1, 2, 3, 4}}, 0, true},
		{"n-t+1 before unmasking", 7, 4, 20, map[int][]uint32{4: {1, 2, 3, 4}}, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, params(tc.t, 257, tc.bits), tc.n, tc.name)
			err := s.run(tc.drop)
			if tc.tooFew {
				if !errors.Is(err, ErrTooFew) {
					t.Fatalf("err = %v, want ErrTooFew", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := len(s.srv.Survived()); got != tc.survived {
				t.Fatalf("survivors = %d, want %d", got, tc.survived)
			}
			got, err := s.srv.Sum()
			if err != nil {
				t.Fatal(err)
			}
			if want := s.want(); !slices.Equal(got, want) {
				t.Fatalf("sum differs from the survivors' sum at %d of %d elements", diff(got, want), len(want))
			}
		})
	}
}

func diff(a, b []uint64) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

// TestThresholdMajority: a threshold of half the clients or less is refused
// by the server and by the clients (two disjoint halves could otherwise be
// unmasked separately).
func TestThresholdMajority(t *testing.T) {
	s := newSession(t, params(3, 8, 16), 6, "majority")
	for _, i := range []uint32{1, 2, 3, 4, 5, 6} {
		s.send(s.parties[i].c.AdvertiseKeys())
	}
	if err := s.srv.Close(); !errors.Is(err, ErrTooFew) {
		t.Fatalf("server Close = %v, want ErrTooFew", err)
	}
	// A server that ignores the rule cannot get a client to share.
	kl := KeyList{}
	for _, i := range []uint32{1, 2, 3, 4, 5, 6} {
		e, _ := ParseEnvelope(s.seen[i-1])
		a, _ := ParseAdvertise(e.Body)
		kl = append(kl, KeyEntry{Index: e.Sender, Device: s.parties[e.Sender].device.Public().(ed25519.PublicKey), Advertise: a, Sig: e.Sig})
	}
	slices.SortFunc(kl, func(a, b KeyEntry) int { return int(a.Index) - int(b.Index) })
	msg := (&Envelope{Type: TypeKeyList, Session: s.srv.p.Session, Body: kl.Marshal()}).Marshal()
	if _, err := s.parties[1].c.ShareKeys(msg); !errors.Is(err, ErrMismatch) {
		t.Fatalf("client ShareKeys = %v, want ErrMismatch", err)
	}
}

package secagg

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"
)

// chiSquare returns Pearson's χ² statistic of v's elements (in Z_{2^bits})
// over 2^bucketBits equal buckets, by their top bits.
func chiSquare(v []uint64, bits, bucketBits uint8) float64 {
	k := 1 << bucketBits
	counts := make([]float64, k)
	for _, x := range v {
		counts[x>>(bits-bucketBits)]++
	}
	want := float64(len(v)) / float64(k)
	var chi float64
	for _, c := range counts {
		chi += (c - want) * (c - want) / want
	}
	return chi
}

// chiCritical001 is the 0.999 quantile of χ² with 15 degrees of freedom
// (NIST/SEMATECH e-Handbook, table 1.3.6.7.4): a uniform vector exceeds it
// with probability 0.001.
const chiCritical001 = 37.697

// TestCuriousServer: a server that records every byte of a session sees,
// of one client whose input is all zeros (as far from uniform as an input
// can be), a masked vector that passes Pearson's χ² test of uniformity —
// and so does what it could unmask from one client alone: the masked vector
// minus the self mask it learns (survivor) is still hidden by pairwise masks.
// The same statistic rejects the raw input, so the test can fail.
func TestCuriousServer(t *testing.T) {
	const n, bits, length = 5, 16, 16384
	s := newSession(t, params(3, length, bits), n, "curious")
	s.parties[2].x = make([]uint64, length) // the victim's input: all zeros
	if err := s.run(nil); err != nil {
		t.Fatal(err)
	}
	var masked []uint64
	for _, msg := range s.seen {
		e, err := ParseEnvelope(msg)
		if err != nil {
			t.Fatal(err)
		}
		if e.Type == TypeMasked && e.Sender == 2 {
			if masked, err = ParseVector(e.Body, bits); err != nil {
				t.Fatal(err)
			}
		}
	}
	if masked == nil {
		t.Fatal("victim's masked input not recorded")
	}
	if chi := chiSquare(masked, bits, 4); chi > chiCritical001 {
		t.Errorf("χ² of the victim's masked vector = %.1f > %.1f: not uniform", chi, chiCritical001)
	}
	// The server learns b_2 (the victim survived); removing the self mask
	// leaves the pairwise masks, still uniform.
	shares := map[uint32][keyLen]byte{}
	for from, rs := range s.srv.reveal {
		shares[from] = rs[2].Value
	}
	seed, err := recoverSecret(3, shares)
	if err != nil {
		t.Fatal(err)
	}
	unself := append([]uint64(nil), masked...)
	addPRG(unself, selfMaskKey(seed), bits, -1)
	if chi := chiSquare(unself, bits, 4); chi > chiCritical001 {
		t.Errorf("χ² after removing the self mask = %.1f > %.1f", chi, chiCritical001)
	}
	// Control: the statistic does reject a non-uniform vector.
	if chi := chiSquare(s.parties[2].x, bits, 4); chi <= chiCritical001 {
		t.Errorf("χ² of the zero input = %.1f: the test cannot fail", chi)
	}
	// And the total is exact.
	got, _ := s.srv.Sum()
	if want := s.want(); !bytes.Equal(MarshalVector(got, bits), MarshalVector(want, bits)) {
		t.Fatal("sum differs")
	}
}

// TestConsistencyCheck: a server that tells one client that a peer dropped
// (to get that peer's mask key) and the others that it survived (to get its
// seed) is caught: the client refuses to unmask because the signatures it is
// shown are over another survivor set, and a client never reveals a seed and a
// mask-key share for the same peer.
func TestConsistencyCheck(t *testing.T) {
	s := newSession(t, params(3, 32, 16), 4, "consistency")
	must(t, s.play(3, nil))
	// Honest survivor list {1,2,3,4} to clients 2, 3, 4; the lie {1,2,3} to client 1.
	sv, _ := s.srv.Survivors()
	lie := (&Envelope{Type: TypeSurvivors, Session: s.srv.p.Session, Body: MarshalIndexes([]uint32{1, 2, 3})}).Marshal()
	c1, err := s.parties[1].c.ConsistencyCheck(lie)
	must(t, err)
	// The server cannot record the lie's signature in an honest round.
	if err := s.srv.Receive(c1); !errors.Is(err, ErrMismatch) {
		t.Fatalf("server took a signature over another set: %v", err)
	}
	for _, i := range []uint32{2, 3, 4} {
		s.send(s.parties[i].c.ConsistencyCheck(sv))
	}
	must(t, s.srv.Close())
	sigs, _ := s.srv.Signatures() // over {1,2,3,4}
	if _, err := s.parties[1].c.Unmask(sigs); !errors.Is(err, ErrForged) {
		t.Fatalf("client unmasked with signatures over another set: %v", err)
	}
	// Forged signatures list (one signature replaced): refused.
	l, _ := ParseSignatures(mustEnv(t, sigs).Body)
	l[0].Sig = bytes.Clone(l[1].Sig)
	forged := (&Envelope{Type: TypeSignatures, Session: s.srv.p.Session, Body: MarshalSignatures(l)}).Marshal()
	if _, err := s.parties[2].c.Unmask(forged); !errors.Is(err, ErrForged) {
		t.Fatalf("client unmasked with a forged signature: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustEnv(t *testing.T, b []byte) Envelope {
	t.Helper()
	e, err := ParseEnvelope(b)
	must(t, err)
	return e
}

// TestReceiveRefuses: forged, replayed, cross-session, out-of-order and
// inconsistent client messages are refused with the right error, and the
// session still completes exactly afterwards.
func TestReceiveRefuses(t *testing.T) {
	s := newSession(t, params(3, 16, 16), 4, "refuse")
	ids := []uint32{1, 2, 3, 4}
	adv := map[uint32][]byte{}
	for _, i := range ids {
		m, err := s.parties[i].c.AdvertiseKeys()
		must(t, err)
		adv[i] = m
	}
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	resign := func(msg []byte, key ed25519.PrivateKey, edit func(*Envelope)) []byte {
		e := mustEnv(t, msg)
		e.Body = bytes.Clone(e.Body)
		edit(&e)
		e.sign(key)
		return e.Marshal()
	}
	flip := bytes.Clone(adv[1])
	flip[headerLen] ^= 1
	cases := []struct {
		name string
		msg  []byte
		want error
	}{
		{"signed by another key", resign(adv[1], other, func(*Envelope) {}), ErrForged},
		{"body changed after signing", flip, ErrForged},
		{"unknown sender", resign(adv[1], s.parties[1].device, func(e *Envelope) { e.Sender = 99 }), ErrForged},
		{"claims another sender", resign(adv[1], s.parties[1].device, func(e *Envelope) { e.Sender = 2 }), ErrForged},
		{"other session", resign(adv[1], s.parties[1].device, func(e *Envelope) { e.Session[0] ^= 1 }), ErrReplay},
		{"future round", resign(adv[1], s.parties[1].device, func(e *Envelope) { e.Type = TypeMasked }), ErrStage},
		{"other parameters", resign(adv[1], s.parties[1].device, func(e *Envelope) { e.Body[4] = 8 }), ErrMismatch},
		{"truncated", adv[1][:len(adv[1])-1], ErrMalformed},
	}
	for _, tc := range cases {
		if err := s.srv.Receive(tc.msg); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	for _, i := range ids {
		s.send(adv[i], nil)
	}
	if err := s.srv.Receive(adv[3]); !errors.Is(err, ErrReplay) {
		t.Errorf("advertise twice: %v, want ErrReplay", err)
	}
	must(t, s.srv.Close())
	if err := s.srv.Receive(adv[4]); !errors.Is(err, ErrReplay) {
		t.Errorf("advertise in round 1: %v, want ErrReplay", err)
	}
	kl, _ := s.srv.KeyList()
	shares := map[uint32][]byte{}
	for _, i := range ids {
		m, err := s.parties[i].c.ShareKeys(kl)
		must(t, err)
		shares[i] = m
	}
	// Client 1 leaves out a peer: the server refuses it (no one may be masked
	// with a peer that cannot recover the shares).
	e := mustEnv(t, shares[1])
	l, _ := ParseAddressed(e.Body)
	short := resign(shares[1], s.parties[1].device, func(e *Envelope) { e.Body = MarshalAddressed(l[1:]) })
	if err := s.srv.Receive(short); !errors.Is(err, ErrMismatch) {
		t.Errorf("share keys missing a peer: %v, want ErrMismatch", err)
	}
	for _, i := range ids {
		s.send(shares[i], nil)
	}
	must(t, s.srv.Close())
	// A client refuses a broadcast of another session or type, and a
	// ciphertext tampered on the way fails to open at unmasking.
	ct, _ := s.srv.Ciphertexts(1)
	bad := mustEnv(t, ct)
	bad.Session[0] ^= 1
	if _, err := s.parties[1].c.MaskedInput(bad.Marshal(), s.parties[1].x); !errors.Is(err, ErrReplay) {
		t.Errorf("client took another session's broadcast: %v", err)
	}
	// The failed call aborted client 1, as the protocol requires; it drops.
	if _, err := s.parties[1].c.MaskedInput(ct, s.parties[1].x); !errors.Is(err, ErrStage) {
		t.Errorf("aborted client continued: %v", err)
	}
	for _, i := range ids[1:] {
		ct, _ := s.srv.Ciphertexts(i)
		s.send(s.parties[i].c.MaskedInput(ct, s.parties[i].x))
	}
	must(t, s.srv.Close())
	sv, _ := s.srv.Survivors()
	for _, i := range []uint32{2, 3, 4} {
		s.send(s.parties[i].c.ConsistencyCheck(sv))
	}
	must(t, s.srv.Close())
	sg, _ := s.srv.Signatures()
	for _, i := range ids[1:] {
		s.send(s.parties[i].c.Unmask(sg))
	}
	must(t, s.srv.Close())
	got, err := s.srv.Sum()
	must(t, err)
	if want := s.want(); !bytes.Equal(MarshalVector(got, 16), MarshalVector(want, 16)) {
		t.Fatal("sum after refused messages differs")
	}
}

// TestTamperedShare: a share ciphertext altered by the server does not open.
func TestTamperedShare(t *testing.T) {
	s := newSession(t, params(3, 8, 16), 3, "tamper")
	must(t, s.play(2, nil))
	ids := []uint32{1, 2, 3}
	ct, _ := s.srv.Ciphertexts(1)
	e := mustEnv(t, ct)
	e.Body = bytes.Clone(e.Body)
	e.Body[len(e.Body)-1] ^= 1
	must(t, errOnly(s.parties[1].c.MaskedInput(e.Marshal(), s.parties[1].x)))
	sv := (&Envelope{Type: TypeSurvivors, Session: s.srv.p.Session, Body: MarshalIndexes(ids)}).Marshal()
	c := s.parties[1].c
	must(t, errOnly(c.ConsistencyCheck(sv)))
	var sigs []Signed
	for _, i := range ids {
		env := Envelope{Type: TypeConsistency, Session: s.srv.p.Session, Sender: i, Body: MarshalIndexes(ids)}
		env.sign(s.parties[i].device)
		sigs = append(sigs, Signed{Index: i, Sig: env.Sig})
	}
	sg := (&Envelope{Type: TypeSignatures, Session: s.srv.p.Session, Body: MarshalSignatures(sigs)}).Marshal()
	if _, err := c.Unmask(sg); !errors.Is(err, ErrForged) {
		t.Fatalf("tampered share opened: %v", err)
	}
}

func errOnly(_ []byte, err error) error { return err }

package c2pa

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"github.com/veraison/go-cose"
)

// testSigner is a test double: an Ed25519 key in memory, certified by a
// throwaway CA with the profile internal/provenance issues.
type testSigner struct {
	key   ed25519.PrivateKey
	chain [][]byte
	ca    *x509.Certificate
}

func (s *testSigner) Algorithm() cose.Algorithm { return cose.AlgorithmEdDSA }
func (s *testSigner) Chain() [][]byte           { return s.chain }
func (s *testSigner) Sign(_ context.Context, msg []byte) ([]byte, error) {
	return ed25519.Sign(s.key, msg), nil
}

var oidDocumentSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}

func newTestSigner(t testing.TB, now time.Time) *testSigner {
	t.Helper()
	_, caKey, _ := ed25519.GenerateKey(rand.Reader)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	return chainSigner(t, caKey, key, "Test", now.Add(-time.Hour), now.Add(24*time.Hour))
}

// chainSigner signs with key under an end-entity certificate for document
// signing ("<prefix> signer") issued by a CA ("<prefix> Provenance CA")
// with caKey, both valid from..to. Ed25519 signs deterministically, so
// fixed keys and times give the same chain byte for byte.
func chainSigner(t testing.TB, caKey, key ed25519.PrivateKey, prefix string, from, to time.Time) *testSigner {
	t.Helper()
	caT := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: prefix + " Provenance CA", Organization: []string{"Obscura test"}},
		NotBefore: from, NotAfter: to, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, SubjectKeyId: []byte{1},
	}
	caDER, err := x509.CreateCertificate(nil, caT, caT, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	eeT := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: prefix + " signer", Organization: []string{"Obscura test"}},
		NotBefore: from, NotAfter: to, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}, UnknownExtKeyUsage: []asn1.ObjectIdentifier{oidDocumentSigning},
		SubjectKeyId: []byte{2},
	}
	eeDER, err := x509.CreateCertificate(nil, eeT, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	return &testSigner{key: key, chain: [][]byte{eeDER, caDER}, ca: ca}
}

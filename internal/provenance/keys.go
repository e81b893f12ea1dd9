// Package provenance makes Obscura's generated images say what made them and
// checks images that claim to: an installation provenance CA issues a
// claim-signing certificate per tenant (keys in the key service, signing by
// operation only), Stamp adds the invisible watermark and a signed C2PA
// manifest to a generated JPEG, and Verify reads both back.
//
// Protects against: generated images passing as camera photos once shared
// (manifest and watermark travel with them); a forged or altered manifest
// (signature, hashes, chain to this installation's CA); linking a tenant's
// outputs to another tenant's (watermark key, ingredient hash and signer
// name are keyed per tenant); leaking who or what is in the image through
// metadata (the manifest carries no subject, tenant or person name, caption
// or source id in clear — TestLeakScan).
//
// Does not protect against: removal of the manifest (any re-encode drops
// it) or deliberate removal of the watermark; time claims (no timestamp
// authority: created_at is the signer's own clock); relying parties that do
// not trust this installation's CA.
package provenance

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"sync"
	"time"

	"github.com/veraison/go-cose"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/keyring"
	"github.com/obscuraproject/obscura/internal/store"
)

// Certificate lifetimes. A tenant certificate is renewed (a new version)
// when less than renewBefore of it is left.
const (
	caValidity     = 20 * 365 * 24 * time.Hour
	tenantValidity = 365 * 24 * time.Hour
	renewBefore    = 30 * 24 * time.Hour
)

// oidDocumentSigning is id-kp-documentSigning (RFC 9336), one of the EKUs
// C2PA accepts for claim signing, beside id-kp-emailProtection.
var oidDocumentSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}

// keyService is what provenance needs from the key service
// (*keyring.Keyring): Ed25519 signing by operation, and keyed hashes.
type keyService interface {
	TenantSigner(ctx context.Context, tenant, use string) (*keyring.Signer, error)
	HashID(domain, id string) string
}

// certStore is the part of the store provenance uses.
type certStore interface {
	store.Provenance
	Tenant(ctx context.Context, id string) (store.Tenant, error)
}

// keyUse names the key service's key for a certificate version.
func keyUse(tenant string, version int) string {
	if tenant == "" {
		return "provenance-ca/v" + strconv.Itoa(version)
	}
	return "provenance/v" + strconv.Itoa(version)
}

// keySigner adapts a key service signer to crypto.Signer (for x509) and to
// c2pa.Signer; the private key never leaves the key service.
type keySigner struct {
	s     *keyring.Signer
	chain [][]byte
}

func (k keySigner) Public() crypto.PublicKey { return k.s.PublicKey() }

func (k keySigner) Sign(_ io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts != nil && opts.HashFunc() != 0 {
		return nil, errors.New("provenance: Ed25519 signs the message, not a digest")
	}
	return k.s.Sign(msg)
}

// claimSigner is a tenant's c2pa.Signer.
type claimSigner struct{ keySigner }

func (c claimSigner) Algorithm() cose.Algorithm { return cose.AlgorithmEdDSA }
func (c claimSigner) Chain() [][]byte           { return c.chain }
func (c claimSigner) Sign(_ context.Context, msg []byte) ([]byte, error) {
	return c.s.Sign(msg)
}

// certs caches the certificate table.
type certs struct {
	mu   sync.Mutex
	list []store.ProvenanceCert
}

func (s *Service) loadCerts(ctx context.Context) ([]store.ProvenanceCert, error) {
	s.certs.mu.Lock()
	defer s.certs.mu.Unlock()
	if s.certs.list != nil {
		return s.certs.list, nil
	}
	l, err := s.st.ProvenanceCerts(ctx)
	if err != nil {
		return nil, err
	}
	if l == nil {
		l = []store.ProvenanceCert{}
	}
	s.certs.list = l
	return l, nil
}

func (s *Service) forgetCerts() {
	s.certs.mu.Lock()
	s.certs.list = nil
	s.certs.mu.Unlock()
}

// current returns a tenant's newest unrevoked certificate, if any.
func current(list []store.ProvenanceCert, tenant string) (store.ProvenanceCert, bool) {
	var out store.ProvenanceCert
	found := false
	for _, c := range list {
		if c.TenantID == tenant && c.RevokedAt.IsZero() {
			out, found = c, true
		}
	}
	return out, found
}

func nextVersion(list []store.ProvenanceCert, tenant string) int {
	v := 0
	for _, c := range list {
		if c.TenantID == tenant {
			v = max(v, c.Version)
		}
	}
	return v + 1
}

// Init creates the installation CA on first start (idempotent).
func (s *Service) Init(ctx context.Context) error {
	_, _, err := s.ca(ctx)
	return err
}

// ca returns the current CA certificate and its signer, creating version 1
// when there is none.
func (s *Service) ca(ctx context.Context) (*x509.Certificate, keySigner, error) {
	list, err := s.loadCerts(ctx)
	if err != nil {
		return nil, keySigner{}, err
	}
	c, ok := current(list, "")
	if !ok {
		if _, err := s.RotateCA(ctx); err != nil {
			return nil, keySigner{}, err
		}
		return s.ca(ctx)
	}
	cert, err := x509.ParseCertificate(c.DER)
	if err != nil {
		return nil, keySigner{}, fmt.Errorf("provenance CA v%d: %w", c.Version, err)
	}
	ks, err := s.keys.TenantSigner(ctx, "", keyUse("", c.Version))
	if err != nil {
		return nil, keySigner{}, err
	}
	return cert, keySigner{s: ks}, nil
}

// RotateCA issues a new installation CA version (new key) and returns its
// version. Tenant certificates issued by the previous CA stay valid until
// revoked; new ones are issued by the new CA.
func (s *Service) RotateCA(ctx context.Context) (int, error) {
	v, err := s.issue(ctx, "", caValidity, nil, nil, func(c *x509.Certificate, v int) {
		c.Subject = pkix.Name{CommonName: fmt.Sprintf("Obscura Provenance CA v%d", v), Organization: []string{"Obscura installation"}}
		c.IsCA, c.MaxPathLenZero = true, true
		c.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	})
	if err != nil {
		return 0, err
	}
	s.log.InfoContext(ctx, "provenance CA issued", "version", v)
	return v, nil
}

// RotateTenant issues a tenant a new signing certificate (new key) and
// returns its version.
func (s *Service) RotateTenant(ctx context.Context, tenant string) (int, error) {
	if tenant == "" {
		return 0, fault.New(fault.Invalid, "tenant required")
	}
	if _, err := s.st.Tenant(ctx, tenant); err != nil {
		return 0, err
	}
	caCert, caSigner, err := s.ca(ctx)
	if err != nil {
		return 0, err
	}
	v, err := s.issue(ctx, tenant, tenantValidity, caCert, caSigner, func(c *x509.Certificate, _ int) {
		// The tenant appears only as a keyed hash: no app name in images.
		c.Subject = pkix.Name{CommonName: "Obscura signer " + s.signerName(tenant), Organization: []string{"Obscura installation"}}
		c.KeyUsage = x509.KeyUsageDigitalSignature
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}
		c.UnknownExtKeyUsage = []asn1.ObjectIdentifier{oidDocumentSigning}
	})
	if err != nil {
		return 0, err
	}
	s.log.InfoContext(ctx, "provenance certificate issued", "tenant_hash", s.keys.HashID("tenant", tenant), "version", v)
	return v, nil
}

// issue records the next certificate version of tenant ("" is the
// installation CA) for a new key, valid from an hour ago for validity:
// name sets its subject and uses; parent and parentKey issue it (nil: it
// is self-signed).
func (s *Service) issue(ctx context.Context, tenant string, validity time.Duration, parent *x509.Certificate, parentKey crypto.Signer, name func(c *x509.Certificate, version int)) (int, error) {
	defer s.forgetCerts()
	list, err := s.loadCerts(ctx)
	if err != nil {
		return 0, err
	}
	v := nextVersion(list, tenant)
	ks, err := s.keys.TenantSigner(ctx, tenant, keyUse(tenant, v))
	if err != nil {
		return 0, err
	}
	now := s.clk.Now().UTC().Truncate(time.Second)
	serial, err := newSerial()
	if err != nil {
		return 0, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		BasicConstraintsValid: true,
		SubjectKeyId:          keyID(ks.PublicKey()),
	}
	name(tmpl, v)
	if parent == nil {
		parent, parentKey = tmpl, keySigner{s: ks}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, ks.PublicKey(), parentKey)
	if err != nil {
		what := "provenance certificate"
		if tenant == "" {
			what = "provenance CA"
		}
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	err = s.st.AddProvenanceCert(ctx, store.ProvenanceCert{TenantID: tenant, Version: v, Serial: serial.Text(16), DER: der, CreatedAt: now})
	if err != nil {
		return 0, err
	}
	return v, nil
}

// Revoke revokes a certificate version (tenant "" is the CA): Verify no
// longer accepts manifests signed under it, and Stamp issues a new one.
func (s *Service) Revoke(ctx context.Context, tenant string, version int) error {
	defer s.forgetCerts()
	return s.st.RevokeProvenanceCert(ctx, tenant, version, s.clk.Now())
}

// signerName is the tenant's public, unlinkable signer name.
func (s *Service) signerName(tenant string) string {
	return s.keys.HashID("provenance-signer", tenant)[:16]
}

// tenantSigner returns the tenant's current claim signer, issuing or
// renewing its certificate when needed.
func (s *Service) tenantSigner(ctx context.Context, tenant string) (claimSigner, error) {
	for range 2 {
		list, err := s.loadCerts(ctx)
		if err != nil {
			return claimSigner{}, err
		}
		c, ok := current(list, tenant)
		if ok {
			cert, err := x509.ParseCertificate(c.DER)
			if err != nil {
				return claimSigner{}, err
			}
			issuer, issuerOK := s.issuerOf(list, cert)
			if issuerOK && s.clk.Now().Before(cert.NotAfter.Add(-renewBefore)) {
				ks, err := s.keys.TenantSigner(ctx, tenant, keyUse(tenant, c.Version))
				if err != nil {
					return claimSigner{}, err
				}
				return claimSigner{keySigner{s: ks, chain: [][]byte{c.DER, issuer}}}, nil
			}
		}
		if _, err := s.RotateTenant(ctx, tenant); err != nil {
			return claimSigner{}, err
		}
	}
	return claimSigner{}, errors.New("provenance: no usable signing certificate")
}

// issuerOf finds the unrevoked CA certificate that issued cert.
func (s *Service) issuerOf(list []store.ProvenanceCert, cert *x509.Certificate) ([]byte, bool) {
	for _, c := range list {
		if c.TenantID != "" || !c.RevokedAt.IsZero() {
			continue
		}
		ca, err := x509.ParseCertificate(c.DER)
		if err == nil && cert.CheckSignatureFrom(ca) == nil {
			return c.DER, true
		}
	}
	return nil, false
}

// Roots returns the pool of unrevoked CA certificates.
func (s *Service) Roots(ctx context.Context) (*x509.CertPool, error) {
	list, err := s.loadCerts(ctx)
	if err != nil {
		return nil, err
	}
	p := x509.NewCertPool()
	for _, c := range list {
		if c.TenantID == "" && c.RevokedAt.IsZero() {
			if cert, err := x509.ParseCertificate(c.DER); err == nil {
				p.AddCert(cert)
			}
		}
	}
	return p, nil
}

// CAPEM returns the unrevoked CA certificates as PEM: the trust anchors a
// relying party (c2pa-rs trust.trust_anchors, `obscura provenance verify
// --ca`) configures.
func (s *Service) CAPEM(ctx context.Context) ([]byte, error) {
	if err := s.Init(ctx); err != nil {
		return nil, err
	}
	list, err := s.loadCerts(ctx)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	for _, c := range list {
		if c.TenantID == "" && c.RevokedAt.IsZero() {
			pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.DER})
		}
	}
	return buf.Bytes(), nil
}

// revokedSerial reports whether a certificate with this serial is revoked.
func revokedSerial(list []store.ProvenanceCert, serial string) bool {
	for _, c := range list {
		if c.Serial == serial && !c.RevokedAt.IsZero() {
			return true
		}
	}
	return false
}

func newSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// keyID is a subject key identifier: the first 20 bytes of the key.
func keyID(pub ed25519.PublicKey) []byte { return bytes.Clone(pub[:20]) }

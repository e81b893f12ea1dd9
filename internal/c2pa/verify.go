package c2pa

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"slices"
	"time"

	"github.com/veraison/go-cose"
)

// C2PA validation status codes Verify reports (C2PA 2.1 §15.2).
const (
	StatusClaimMissing        = "claim.missing"
	StatusClaimMalformed      = "claim.malformed"
	StatusSignatureMismatch   = "claimSignature.mismatch"
	StatusSignatureMissing    = "claimSignature.missing"
	StatusCredentialUntrusted = "signingCredential.untrusted"
	StatusCredentialInvalid   = "signingCredential.invalid"
	StatusHashedURIMismatch   = "assertion.hashedURI.mismatch"
	StatusAssertionMissing    = "assertion.missing"
	StatusDataHashMismatch    = "assertion.dataHash.mismatch"
	StatusDataHashMalformed   = "assertion.dataHash.malformed"
	StatusHardBindingsMissing = "claim.hardBindings.missing"
	StatusManifestMalformed   = "manifest.malformed"
)

// Result is what Verify found.
type Result struct {
	Present   bool     // a C2PA store is in the file
	Valid     bool     // present, every check passed and the signer chains to a root
	Failures  []string // C2PA status codes of the checks that failed
	Label     string   // active manifest URN
	Signer    string   // end-entity certificate subject common name
	Issuer    string   // end-entity certificate issuer common name
	Serial    string   // end-entity certificate serial, hex
	Claim     *Claim
	Actions   []Action
	Parent    *Ingredient
	CreatedAt time.Time // from the last action's "when": claimed by the signer, not timestamped
}

// Verify checks the active manifest of a JPEG: the store parses, every
// created assertion matches its hashed URI, the hard binding matches the
// bytes outside the store, the COSE signature verifies with the end-entity
// certificate, and that certificate has the C2PA signing profile and chains
// to roots at time now. A file without a store gives Present false and no
// error; malformed bytes give a Result with a failure, not an error.
func Verify(jpeg []byte, roots *x509.CertPool, now time.Time) (*Result, error) {
	loc, err := FindStore(jpeg)
	if err != nil {
		if errors.Is(err, ErrMalformed) {
			return &Result{Present: true, Failures: []string{StatusManifestMalformed}}, nil
		}
		return nil, err
	}
	if loc == nil {
		return &Result{}, nil
	}
	r := &Result{Present: true}
	r.verify(jpeg, loc, roots, now)
	r.Valid = len(r.Failures) == 0
	return r, nil
}

func (r *Result) fail(code string) {
	if !slices.Contains(r.Failures, code) {
		r.Failures = append(r.Failures, code)
	}
}

func (r *Result) verify(jpeg []byte, loc *Located, roots *x509.CertPool, now time.Time) {
	store, err := ParseBox(loc.Store)
	if err != nil || store.UUID != uuidStore || len(store.Children) == 0 {
		r.fail(StatusManifestMalformed)
		return
	}
	m := store.Children[len(store.Children)-1] // the active manifest is the last
	if m.Type != typeJUMB || m.UUID != uuidManifest {
		r.fail(StatusManifestMalformed)
		return
	}
	r.Label = m.Label
	claimBox := m.Child(LabelClaim)
	if claimBox == nil || claimBox.Content(typeCBOR) == nil {
		r.fail(StatusClaimMissing)
		return
	}
	claimBytes := claimBox.Content(typeCBOR).Data
	claim, err := DecodeClaim(claimBytes)
	if err != nil {
		r.fail(StatusClaimMalformed)
		return
	}
	r.Claim = claim
	r.checkSignature(m, claimBytes, roots, now)
	r.checkAssertions(m, claim, jpeg, loc)
}

func (r *Result) checkSignature(m *Box, claim []byte, roots *x509.CertPool, now time.Time) {
	sigBox := m.Child(LabelSignature)
	if sigBox == nil || sigBox.Content(typeCBOR) == nil {
		r.fail(StatusSignatureMissing)
		return
	}
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(sigBox.Content(typeCBOR).Data); err != nil {
		r.fail(StatusSignatureMismatch)
		return
	}
	chain, err := x5chain(msg.Headers.Protected[cose.HeaderLabelX5Chain])
	if err != nil {
		r.fail(StatusCredentialInvalid)
		return
	}
	leaf := chain[0]
	r.Signer, r.Issuer, r.Serial = leaf.Subject.CommonName, leaf.Issuer.CommonName, leaf.SerialNumber.Text(16)
	alg, err := msg.Headers.Protected.Algorithm()
	if err != nil {
		r.fail(StatusSignatureMismatch)
		return
	}
	v, err := cose.NewVerifier(alg, leaf.PublicKey)
	if err != nil {
		r.fail(StatusCredentialInvalid)
		return
	}
	msg.Payload = claim
	if err := msg.Verify(nil, v); err != nil {
		r.fail(StatusSignatureMismatch)
		return
	}
	if err := CheckSigningCert(leaf); err != nil {
		r.fail(StatusCredentialInvalid)
		return
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if roots == nil {
		r.fail(StatusCredentialUntrusted)
		return
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		r.fail(StatusCredentialUntrusted)
	}
}

// x5chain decodes the x5chain header: one bstr or an array of them.
func x5chain(v any) ([]*x509.Certificate, error) {
	var ders [][]byte
	switch t := v.(type) {
	case []byte:
		ders = [][]byte{t}
	case []any:
		for _, e := range t {
			b, ok := e.([]byte)
			if !ok {
				return nil, errors.New("x5chain element is not a byte string")
			}
			ders = append(ders, b)
		}
	default:
		return nil, errors.New("no x5chain in the protected header")
	}
	if len(ders) == 0 || len(ders) > 8 {
		return nil, errors.New("x5chain length out of range")
	}
	certs := make([]*x509.Certificate, len(ders))
	for i, d := range ders {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return nil, err
		}
		certs[i] = c
	}
	return certs, nil
}

// EKUs C2PA accepts for claim signing (C2PA 2.1 §14.5.1).
var (
	oidEKUDocumentSigning = "1.3.6.1.5.5.7.3.36"
	oidEKUC2PAClaim       = "1.3.6.1.4.1.62558.2.1"
)

// CheckSigningCert applies the C2PA end-entity certificate profile: v3,
// not a CA, digitalSignature key usage, and an EKU of emailProtection,
// documentSigning or c2pa-kp-claimSigning without anyExtendedKeyUsage.
func CheckSigningCert(c *x509.Certificate) error {
	if c.Version != 3 {
		return errors.New("certificate is not X.509 v3")
	}
	if c.IsCA {
		return errors.New("signing certificate is a CA")
	}
	if c.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return errors.New("signing certificate lacks digitalSignature")
	}
	ok := false
	for _, u := range c.ExtKeyUsage {
		switch u {
		case x509.ExtKeyUsageAny:
			return errors.New("signing certificate has anyExtendedKeyUsage")
		case x509.ExtKeyUsageEmailProtection:
			ok = true
		}
	}
	for _, u := range c.UnknownExtKeyUsage {
		if s := u.String(); s == oidEKUDocumentSigning || s == oidEKUC2PAClaim {
			ok = true
		}
	}
	if !ok {
		return errors.New("signing certificate has no C2PA extended key usage")
	}
	return nil
}

func (r *Result) checkAssertions(m *Box, claim *Claim, jpeg []byte, loc *Located) {
	as := m.Child(LabelAssertions)
	if as == nil {
		r.fail(StatusAssertionMissing)
		return
	}
	hardBinding := false
	for _, ref := range claim.CreatedAssertions {
		label, ok := assertionLabel(ref.URL, m.Label)
		if !ok {
			r.fail(StatusAssertionMissing)
			continue
		}
		a := as.Child(label)
		if a == nil || a.Content(typeCBOR) == nil {
			r.fail(StatusAssertionMissing)
			continue
		}
		if ref.Alg != "" && ref.Alg != "sha256" || claim.Alg != "" && claim.Alg != "sha256" {
			r.fail(StatusHashedURIMismatch)
			continue
		}
		h := sha256.Sum256(a.payload())
		if !bytes.Equal(h[:], ref.Hash) {
			r.fail(StatusHashedURIMismatch)
			continue
		}
		data := a.Content(typeCBOR).Data
		switch label {
		case LabelDataHash:
			hardBinding = true
			r.checkDataHash(data, jpeg, loc)
		case LabelActions:
			var acts Actions
			if decMode.Unmarshal(data, &acts) == nil {
				r.Actions = acts.Actions
				for _, a := range acts.Actions {
					if t, err := time.Parse(time.RFC3339, a.When); err == nil {
						r.CreatedAt = t
					}
				}
			}
		case LabelIngredient:
			var ing Ingredient
			if decMode.Unmarshal(data, &ing) == nil {
				r.Parent = &ing
			}
		}
	}
	if !hardBinding {
		r.fail(StatusHardBindingsMissing)
	}
}

func (r *Result) checkDataHash(data, jpeg []byte, loc *Located) {
	var dh DataHash
	if err := decMode.Unmarshal(data, &dh); err != nil || dh.Alg != "sha256" && dh.Alg != "" {
		r.fail(StatusDataHashMalformed)
		return
	}
	// The exclusions must cover the store exactly as it sits in the file.
	covered := false
	pos := 0
	h := sha256.New()
	for _, e := range dh.Exclusions {
		if e.Start < pos || e.Length < 0 || e.Start+e.Length > len(jpeg) {
			r.fail(StatusDataHashMalformed)
			return
		}
		if e.Start == loc.Start && e.Length == loc.Length {
			covered = true
		}
		h.Write(jpeg[pos:e.Start])
		pos = e.Start + e.Length
	}
	h.Write(jpeg[pos:])
	if !covered {
		r.fail(StatusDataHashMalformed)
		return
	}
	if !bytes.Equal(h.Sum(nil), dh.Hash) {
		r.fail(StatusDataHashMismatch)
	}
	if len(bytes.Trim(dh.Pad, "\x00")) != 0 {
		r.fail(StatusDataHashMalformed)
	}
}

package plugin

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"

	"github.com/obscuraproject/obscura/internal/fault"
)

// Format is the manifest format marker (docs/spec/plugin-v1.md).
const Format = "obscura-plugin-manifest-v1"

// signingContext prefixes the signed bytes, so a manifest signature can
// never be taken for a signature over anything else.
const signingContext = "obscura-plugin-manifest-v1\n"

// ABIVersion is the only ABI this host speaks.
const ABIVersion = 1

// Limits of the manifest format.
const (
	MaxManifestBytes = 64 << 10
	MaxParams        = 16
	MaxParamsBytes   = 4 << 10
)

// CapFaces is the capability to receive the photo's face boxes.
const CapFaces = "faces"

var (
	namePattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)
	versionPattern = regexp.MustCompile(`^(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})$`)
	shaPattern     = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Manifest describes a plugin; its publisher signs it.
type Manifest struct {
	Format       string           `json:"format"`
	Name         string           `json:"name"`
	Version      string           `json:"version"`
	Publisher    string           `json:"publisher"`
	SHA256       string           `json:"sha256"`
	ABI          int              `json:"abi"`
	Capabilities []string         `json:"capabilities"`
	Description  string           `json:"description,omitempty"`
	Params       map[string]Param `json:"params"`
}

// Param is one parameter's schema.
type Param struct {
	// Type is "string", "number", "integer" or "boolean".
	Type string `json:"type"`
	// Enum lists the allowed values of a string parameter (empty: any
	// string of at most 64 bytes).
	Enum []string `json:"enum,omitempty"`
	// Min and Max bound a number or integer.
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
	// Default is used when the request leaves the parameter out.
	Default     json.RawMessage `json:"default,omitempty"`
	Description string          `json:"description,omitempty"`
}

// Signed is a manifest file: the manifest and its publisher's signature
// over the manifest member's exact bytes.
type Signed struct {
	Manifest  Manifest
	Raw       []byte // the exact signed bytes
	Signature []byte
}

// HasFaces reports whether the plugin declares the faces capability.
func (m Manifest) HasFaces() bool { return slices.Contains(m.Capabilities, CapFaces) }

// Errors of the supply chain. Each is wrapped with the reason.
var (
	// ErrManifest: the manifest is malformed.
	ErrManifest = fault.New(fault.Invalid, "malformed plugin manifest")
	// ErrSignature: unsigned, wrongly signed or altered.
	ErrSignature = fault.New(fault.Invalid, "plugin signature invalid")
	// ErrUntrusted: the publisher is not trusted by this installation.
	ErrUntrusted = fault.New(fault.Invalid, "plugin publisher not trusted")
)

// ParseSigned parses a manifest file strictly: size-limited, no unknown
// or duplicate members, every field valid. It does not verify the
// signature (Verify does).
func ParseSigned(b []byte) (*Signed, error) {
	if len(b) > MaxManifestBytes {
		return nil, fault.Wrap(fault.Invalid, "plugin manifest too large", ErrManifest)
	}
	if err := noDuplicateKeys(b); err != nil {
		return nil, fault.Wrap(fault.Invalid, "plugin manifest: "+err.Error(), ErrManifest)
	}
	var file struct {
		Manifest  json.RawMessage `json:"manifest"`
		Signature string          `json:"signature"`
	}
	if err := strictUnmarshal(b, &file); err != nil {
		return nil, fault.Wrap(fault.Invalid, "plugin manifest: "+err.Error(), ErrManifest)
	}
	if len(file.Manifest) == 0 || file.Manifest[0] != '{' {
		return nil, fault.Wrap(fault.Invalid, "plugin manifest: no manifest object", ErrManifest)
	}
	if file.Signature == "" {
		return nil, fault.Wrap(fault.Invalid, "plugin manifest is unsigned", ErrSignature)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(file.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fault.Wrap(fault.Invalid, "plugin signature is not an Ed25519 signature", ErrSignature)
	}
	var m Manifest
	if err := strictUnmarshal(file.Manifest, &m); err != nil {
		return nil, fault.Wrap(fault.Invalid, "plugin manifest: "+err.Error(), ErrManifest)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &Signed{Manifest: m, Raw: bytes.Clone(file.Manifest), Signature: sig}, nil
}

// Validate checks every field of the manifest.
func (m Manifest) Validate() error {
	bad := func(msg string) error { return fault.Wrap(fault.Invalid, "plugin manifest: "+msg, ErrManifest) }
	switch {
	case m.Format != Format:
		return bad("format is not " + Format)
	case !namePattern.MatchString(m.Name):
		return bad("name must match " + namePattern.String())
	case !versionPattern.MatchString(m.Version):
		return bad("version must be MAJOR.MINOR.PATCH")
	case !namePattern.MatchString(m.Publisher):
		return bad("publisher must match " + namePattern.String())
	case !shaPattern.MatchString(m.SHA256):
		return bad("sha256 must be 64 lower-case hex digits")
	case m.ABI != ABIVersion:
		return bad(fmt.Sprintf("abi must be %d", ABIVersion))
	case len(m.Description) > 500:
		return bad("description too long")
	case len(m.Params) > MaxParams:
		return bad("too many parameters")
	}
	for _, c := range m.Capabilities {
		if c != CapFaces {
			return bad("unknown capability")
		}
	}
	if len(m.Capabilities) > 1 {
		return bad("duplicate capability")
	}
	for name, p := range m.Params {
		if !namePattern.MatchString(name) {
			return bad("parameter name must match " + namePattern.String())
		}
		if err := p.validate(); err != nil {
			return bad("parameter " + name + ": " + err.Error())
		}
	}
	return nil
}

func (p Param) validate() error {
	switch p.Type {
	case "string":
		if p.Min != nil || p.Max != nil {
			return errors.New("min/max on a string")
		}
		if len(p.Enum) > 32 {
			return errors.New("too many enum values")
		}
		for _, e := range p.Enum {
			if e == "" || len(e) > 64 {
				return errors.New("bad enum value")
			}
		}
	case "number", "integer":
		if len(p.Enum) > 0 {
			return errors.New("enum on a number")
		}
		for _, v := range []*float64{p.Min, p.Max} {
			if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
				return errors.New("bad bound")
			}
		}
		if p.Min != nil && p.Max != nil && *p.Min > *p.Max {
			return errors.New("min above max")
		}
	case "boolean":
		if len(p.Enum) > 0 || p.Min != nil || p.Max != nil {
			return errors.New("constraints on a boolean")
		}
	default:
		return errors.New("type must be string, number, integer or boolean")
	}
	if len(p.Default) > 0 {
		if _, err := p.check(p.Default); err != nil {
			return fmt.Errorf("default: %w", err)
		}
	}
	if len(p.Description) > 200 {
		return errors.New("description too long")
	}
	return nil
}

// check validates one value against the schema and returns it re-encoded.
func (p Param) check(raw json.RawMessage) (any, error) {
	switch p.Type {
	case "string":
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, errors.New("not a string")
		}
		if len(s) > 64 {
			return nil, errors.New("too long")
		}
		if len(p.Enum) > 0 && !slices.Contains(p.Enum, s) {
			return nil, errors.New("not one of the allowed values")
		}
		return s, nil
	case "number", "integer":
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, errors.New("not a number")
		}
		if p.Type == "integer" && f != math.Trunc(f) {
			return nil, errors.New("not an integer")
		}
		if p.Min != nil && f < *p.Min || p.Max != nil && f > *p.Max {
			return nil, errors.New("out of range")
		}
		return f, nil
	case "boolean":
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, errors.New("not a boolean")
		}
		return b, nil
	}
	return nil, errors.New("bad type")
}

// ErrParams: the request's parameters do not fit the plugin's schema.
var ErrParams = fault.New(fault.Invalid, "plugin parameters invalid")

// Params checks a request's parameters (a JSON object, or empty) against
// the schema and returns what the plugin receives: a JSON object with
// every parameter the schema names that has a value or a default, keys
// sorted.
func (m Manifest) CheckParams(raw []byte) ([]byte, error) {
	if len(raw) > MaxParamsBytes {
		return nil, fault.Wrap(fault.Invalid, "plugin parameters too large", ErrParams)
	}
	in := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(raw)) > 0 && string(bytes.TrimSpace(raw)) != "null" {
		if err := noDuplicateKeys(raw); err != nil {
			return nil, fault.Wrap(fault.Invalid, "plugin parameters: "+err.Error(), ErrParams)
		}
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, fault.Wrap(fault.Invalid, "plugin parameters must be a JSON object", ErrParams)
		}
	}
	out := map[string]any{}
	for name, v := range in {
		p, ok := m.Params[name]
		if !ok {
			return nil, fault.Wrap(fault.Invalid, "unknown plugin parameter "+quoteName(name), ErrParams)
		}
		val, err := p.check(v)
		if err != nil {
			return nil, fault.Wrap(fault.Invalid, "plugin parameter "+name+": "+err.Error(), ErrParams)
		}
		out[name] = val
	}
	for name, p := range m.Params {
		if _, ok := out[name]; !ok && len(p.Default) > 0 {
			val, _ := p.check(p.Default)
			out[name] = val
		}
	}
	return json.Marshal(out)
}

// quoteName quotes a parameter name for an error, or withholds it when it
// is not a plausible name (it came from the request).
func quoteName(s string) string {
	if namePattern.MatchString(s) {
		return fmt.Sprintf("%q", s)
	}
	return "(invalid name)"
}

// SigningInput is what a publisher's signature covers.
func SigningInput(raw []byte) []byte { return append([]byte(signingContext), raw...) }

// Verify checks the signature against the publisher's trusted key and the
// module's bytes against the manifest's hash.
func (s *Signed) Verify(trusted ed25519.PublicKey, wasm []byte) error {
	if trusted == nil {
		return fault.Wrap(fault.Invalid, "plugin publisher "+s.Manifest.Publisher+" is not trusted", ErrUntrusted)
	}
	if !ed25519.Verify(trusted, SigningInput(s.Raw), s.Signature) {
		return fault.Wrap(fault.Invalid, "plugin manifest signature does not verify", ErrSignature)
	}
	if got := SHA256Hex(wasm); got != s.Manifest.SHA256 {
		return fault.Wrap(fault.Invalid, "plugin module does not match its signed hash", ErrSignature)
	}
	return nil
}

// Sign signs a manifest with the publisher's key and returns the manifest
// file.
func Sign(m Manifest, key interface{ Sign([]byte) ([]byte, error) }) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	raw, err := json.MarshalIndent(m, "  ", "  ")
	if err != nil {
		return nil, err
	}
	sig, err := key.Sign(SigningInput(raw))
	if err != nil {
		return nil, fmt.Errorf("sign plugin manifest: %w", err)
	}
	var b bytes.Buffer
	b.WriteString("{\n  \"manifest\": ")
	b.Write(raw)
	fmt.Fprintf(&b, ",\n  \"signature\": %q\n}\n", base64.StdEncoding.EncodeToString(sig))
	return b.Bytes(), nil
}

// SHA256Hex is the lower-case hex SHA-256 of b.
func SHA256Hex(b []byte) string {
	h := sha256Sum(b)
	return hex.EncodeToString(h[:])
}

// ParsePublicKey reads a publisher's Ed25519 public key: PEM "PUBLIC KEY"
// (PKIX), as `openssl pkey -pubout` writes it.
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, fault.New(fault.Invalid, "publisher key must be a PEM PUBLIC KEY")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fault.Wrap(fault.Invalid, "publisher key unreadable", err)
	}
	ek, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fault.New(fault.Invalid, "publisher key is not Ed25519")
	}
	return ek, nil
}

// MarshalPublicKey writes an Ed25519 public key as PEM "PUBLIC KEY".
func MarshalPublicKey(k ed25519.PublicKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(k)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func strictUnmarshal(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return errors.New("not valid JSON of the expected shape")
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("trailing data")
	}
	return nil
}

// noDuplicateKeys refuses JSON whose objects repeat a member name (two
// parsers could disagree on which one counts) or nest deeper than 8.
func noDuplicateKeys(b []byte) error {
	d := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		obj  bool
		keys map[string]bool
		key  bool // next token in an object is a key
	}
	var stack []*frame
	for {
		t, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return errors.New("not valid JSON")
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.key {
			if s, ok := t.(string); ok {
				if top.keys[s] {
					return errors.New("duplicate member")
				}
				top.keys[s] = true
				top.key = false
				continue
			}
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			if len(stack) >= 8 {
				return errors.New("nested too deep")
			}
			if top != nil && top.obj {
				top.key = true
			}
			stack = append(stack, &frame{obj: t == json.Delim('{'), keys: map[string]bool{}, key: t == json.Delim('{')})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		default:
			if top != nil && top.obj {
				top.key = true
			}
		}
	}
}

// KeySigner signs with an Ed25519 private key held in memory (publishers'
// own tooling and tests; the installation's key stays in the keyring).
type KeySigner ed25519.PrivateKey

// Sign implements Signer.
func (k KeySigner) Sign(msg []byte) ([]byte, error) {
	return ed25519.Sign(ed25519.PrivateKey(k), msg), nil
}

// PublicKey implements Signer.
func (k KeySigner) PublicKey() ed25519.PublicKey {
	return ed25519.PrivateKey(k).Public().(ed25519.PublicKey)
}

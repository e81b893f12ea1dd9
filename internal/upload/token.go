package upload

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/obscuraproject/obscura/internal/fault"
)

// Token errors (docs/spec/upload-token-v1.md).
var (
	ErrTokenInvalid = fault.New(fault.Unauthenticated, "token is invalid")
	ErrTokenExpired = fault.New(fault.Expired, "token has expired")
	ErrTokenUsed    = fault.New(fault.Conflict, "token was already used")
)

// Kind is a token kind; each has its own prefix and associated data, so a
// download token is never accepted as an upload token or vice versa.
type Kind string

// Token kinds.
const (
	KindUpload      Kind = "ut1"
	KindDownload    Kind = "dt1"
	KindExport      Kind = "xt1"
	KindPrivacy     Kind = "pt1" // a single-use link into the privacy center
	KindSession     Kind = "ps1" // a privacy-center session cookie
	KindOperator    Kind = "os1" // an operator-console session cookie
	KindConsoleLink Kind = "cl1" // a single-use link into an installation operator's console
)

// MaxTokenLen bounds what the parser looks at.
const MaxTokenLen = 2048

// Claims are what a token binds. Subject is the keyed hash, never the raw id.
type Claims struct {
	V        int      `json:"v"`
	Tenant   string   `json:"tid"`
	Subject  string   `json:"sub,omitempty"`
	ID       string   `json:"jti"`
	Asset    string   `json:"aid,omitempty"`
	MaxBytes int64    `json:"max,omitempty"`
	Types    []string `json:"typ,omitempty"`
	Expires  int64    `json:"exp"`
	Issued   int64    `json:"iat"`
}

// Codec seals and opens tokens with an AEAD held by the key service.
type Codec struct {
	aead tink.AEAD
}

// NewCodec returns a Codec over aead.
func NewCodec(aead tink.AEAD) *Codec { return &Codec{aead: aead} }

func aad(k Kind) []byte { return []byte("obscura/token/v1/" + string(k)) }

// Seal returns the token string for claims.
func (c *Codec) Seal(k Kind, cl Claims) (string, error) {
	cl.V = 1
	pt, err := json.Marshal(cl)
	if err != nil {
		return "", err
	}
	ct, err := c.aead.Encrypt(pt, aad(k))
	if err != nil {
		return "", fault.Wrap(fault.Unavailable, "key service unavailable", err)
	}
	return string(k) + "." + base64.RawURLEncoding.EncodeToString(ct), nil
}

// Open verifies a token of kind k and returns its claims. It checks
// authenticity first, then version, then expiry against now.
func (c *Codec) Open(k Kind, tok string, now time.Time) (Claims, error) {
	if len(tok) > MaxTokenLen {
		return Claims{}, ErrTokenInvalid
	}
	body, ok := strings.CutPrefix(tok, string(k)+".")
	if !ok {
		return Claims{}, ErrTokenInvalid
	}
	ct, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return Claims{}, ErrTokenInvalid
	}
	pt, err := c.aead.Decrypt(ct, aad(k))
	if err != nil {
		return Claims{}, ErrTokenInvalid
	}
	var cl Claims
	dec := json.NewDecoder(strings.NewReader(string(pt)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cl); err != nil || cl.V != 1 || cl.Tenant == "" || cl.ID == "" {
		return Claims{}, fmt.Errorf("claims: %w", ErrTokenInvalid)
	}
	if now.Unix() >= cl.Expires {
		return Claims{}, ErrTokenExpired
	}
	return cl, nil
}

package upload

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead/subtle"
)

var update = flag.Bool("update", false, "regenerate testdata/token-vectors.json")

const vectorKeyHex = "4f627363757261207570c0ad20746f6b656e20766563746f72206b65792121ab"

func vectorCodec(t testing.TB) *Codec {
	k, _ := hex.DecodeString(vectorKeyHex)
	a, err := subtle.NewAESGCM(k)
	if err != nil {
		t.Fatal(err)
	}
	return NewCodec(a)
}

type tokenVector struct {
	Name   string `json:"name"`
	Kind   Kind   `json:"kind"`
	Token  string `json:"token"`
	Now    int64  `json:"now"`
	Claims Claims `json:"claims,omitempty"`
	Error  string `json:"error,omitempty"`
}

var tokenErrs = map[string]error{"ErrTokenInvalid": ErrTokenInvalid, "ErrTokenExpired": ErrTokenExpired}

func TestTokenVectors(t *testing.T) {
	const file = "testdata/token-vectors.json"
	if *update {
		c := vectorCodec(t)
		cl := Claims{Tenant: "ten_vectors", Subject: "subjecthash", ID: "up_vector", MaxBytes: 1 << 20, Types: []string{"jpeg", "png"}, Expires: 1795000060, Issued: 1795000000}
		ok, _ := c.Seal(KindUpload, cl)
		dl, _ := c.Seal(KindDownload, Claims{Tenant: "ten_vectors", ID: "dl_vector", Asset: "ast_1", Expires: 1795000060, Issued: 1795000000})
		flip := []byte(ok)
		flip[len(flip)-3] ^= 1
		cl.V = 1
		vs := []tokenVector{
			{Name: "valid", Kind: KindUpload, Token: ok, Now: 1795000030, Claims: cl},
			{Name: "expired", Kind: KindUpload, Token: ok, Now: 1795000060, Error: "ErrTokenExpired"},
			{Name: "tampered", Kind: KindUpload, Token: string(flip), Now: 1795000030, Error: "ErrTokenInvalid"},
			{Name: "truncated", Kind: KindUpload, Token: ok[:len(ok)-4], Now: 1795000030, Error: "ErrTokenInvalid"},
			{Name: "download_token_as_upload", Kind: KindUpload, Token: "ut1." + strings.TrimPrefix(dl, "dt1."), Now: 1795000030, Error: "ErrTokenInvalid"},
			{Name: "wrong_prefix", Kind: KindUpload, Token: "ut2." + strings.TrimPrefix(ok, "ut1."), Now: 1795000030, Error: "ErrTokenInvalid"},
			{Name: "not_base64", Kind: KindUpload, Token: "ut1.!!!!", Now: 1795000030, Error: "ErrTokenInvalid"},
			{Name: "empty", Kind: KindUpload, Token: "", Now: 1795000030, Error: "ErrTokenInvalid"},
			{Name: "oversized", Kind: KindUpload, Token: "ut1." + strings.Repeat("A", MaxTokenLen), Now: 1795000030, Error: "ErrTokenInvalid"},
		}
		// A console link: tid "*" (the installation); it is no operator session.
		link := Claims{V: 1, Tenant: "*", ID: "cl_vector", Expires: 1795000300, Issued: 1795000000}
		cl1, _ := c.Seal(KindConsoleLink, link)
		vs = append(vs,
			tokenVector{Name: "console_link", Kind: KindConsoleLink, Token: cl1, Now: 1795000030, Claims: link},
			tokenVector{Name: "console_link_as_operator_session", Kind: KindOperator, Token: "os1." + strings.TrimPrefix(cl1, "cl1."), Now: 1795000030, Error: "ErrTokenInvalid"})
		b, _ := json.MarshalIndent(vs, "", "  ")
		os.WriteFile(file, append(b, '\n'), 0o644)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var vs []tokenVector
	json.Unmarshal(raw, &vs)
	if len(vs) < 9 {
		t.Fatalf("%d vectors", len(vs))
	}
	c := vectorCodec(t)
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			cl, err := c.Open(v.Kind, v.Token, time.Unix(v.Now, 0))
			if v.Error != "" {
				if !errors.Is(err, tokenErrs[v.Error]) {
					t.Fatalf("err = %v, want %s", err, v.Error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(cl)
			want, _ := json.Marshal(v.Claims)
			if string(got) != string(want) {
				t.Errorf("claims %s, want %s", got, want)
			}
		})
	}
}

func FuzzOpenToken(f *testing.F) {
	raw, _ := os.ReadFile("testdata/token-vectors.json")
	var vs []tokenVector
	json.Unmarshal(raw, &vs)
	for _, v := range vs {
		f.Add(v.Token)
	}
	c := vectorCodec(f)
	f.Fuzz(func(t *testing.T, tok string) {
		cl, err := c.Open(KindUpload, tok, time.Unix(1795000030, 0))
		if err != nil {
			return
		}
		// Anything accepted must be a token we sealed: it re-seals to claims that open identically.
		again, err := c.Seal(KindUpload, cl)
		if err != nil {
			t.Fatal(err)
		}
		cl2, err := c.Open(KindUpload, again, time.Unix(1795000030, 0))
		if err != nil || cl2.ID != cl.ID || cl2.Tenant != cl.Tenant {
			t.Fatalf("re-sealed token does not round-trip: %v", err)
		}
	})
}

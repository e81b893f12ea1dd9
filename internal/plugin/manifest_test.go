package plugin

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/manifest-vectors.json")

// vectorKey is the test vectors' publisher key, derived from a public
// label (a test key: it signs nothing but the vectors).
func vectorKey() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("obscura plugin-v1 test vector key"))
	return ed25519.NewKeyFromSeed(seed[:])
}

type vector struct {
	Name string `json:"name"`
	// File is the manifest file; Module the module's bytes (text here).
	File   string `json:"file"`
	Module string `json:"module"`
	// PublisherKey is the trusted key for the manifest's publisher (hex;
	// "" = publisher not trusted).
	PublisherKey string `json:"publisher_key"`
	// Want is "ok", "manifest", "signature" or "untrusted".
	Want string `json:"want"`
}

func vectorManifest(module string) Manifest {
	one := 1.0
	return Manifest{Format: Format, Name: "invert", Version: "1.2.3", Publisher: "acme", SHA256: SHA256Hex([]byte(module)), ABI: 1,
		Capabilities: []string{}, Description: "Inverts colours.",
		Params: map[string]Param{"amount": {Type: "number", Min: new(float64), Max: &one, Default: json.RawMessage("1")}}}
}

func makeVectors(t *testing.T) []vector {
	key := vectorKey()
	pub := hex.EncodeToString(key.Public().(ed25519.PublicKey))
	const module = "\x00asm\x01\x00\x00\x00 (vector module bytes)"
	sign := func(m Manifest) string {
		b, err := Sign(m, KeySigner(key))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	good := sign(vectorManifest(module))
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	otherFile, _ := Sign(vectorManifest(module), KeySigner(other))
	mutate := func(m func(*Manifest)) Manifest { v := vectorManifest(module); m(&v); return v }
	sigOf := func(f string) string { return f[strings.Index(f, `"signature": "`)+14 : strings.LastIndex(f, `"`)] }
	flipped := []byte(sigOf(good))
	if flipped[0] == 'A' {
		flipped[0] = 'B'
	} else {
		flipped[0] = 'A'
	}
	return []vector{
		{"valid", good, module, pub, "ok"},
		{"unsigned", strings.Replace(good, sigOf(good), "", 1), module, pub, "signature"},
		{"signature_not_ed25519", strings.Replace(good, sigOf(good), "AAAA", 1), module, pub, "signature"},
		{"wrong_signature", strings.Replace(good, sigOf(good), string(flipped), 1), module, pub, "signature"},
		{"signed_by_another_key", string(otherFile), module, pub, "signature"},
		{"altered_manifest", strings.Replace(good, `"version": "1.2.3"`, `"version": "1.2.4"`, 1), module, pub, "signature"},
		{"altered_manifest_whitespace", strings.Replace(good, `"version": "1.2.3"`, `"version":"1.2.3"`, 1), module, pub, "signature"},
		{"altered_module", good, module + "!", pub, "signature"},
		{"untrusted_publisher", good, module, "", "untrusted"},
		{"duplicate_member", strings.Replace(good, `"name": "invert",`, `"name": "invert", "name": "other",`, 1), module, pub, "manifest"},
		{"unknown_member", strings.Replace(good, `"abi": 1,`, `"abi": 1, "network": true,`, 1), module, pub, "manifest"},
		{"unknown_capability", strings.Replace(good, `"capabilities": []`, `"capabilities": ["network"]`, 1), module, pub, "manifest"},
		{"faces_capability", sign(mutate(func(m *Manifest) { m.Capabilities = []string{CapFaces} })), module, pub, "ok"},
		{"bad_name", strings.Replace(good, `"name": "invert"`, `"name": "../etc"`, 1), module, pub, "manifest"},
		{"wrong_abi", strings.Replace(good, `"abi": 1`, `"abi": 2`, 1), module, pub, "manifest"},
		{"wrong_format", strings.Replace(good, Format, "obscura-plugin-manifest-v0", 1), module, pub, "manifest"},
		{"trailing_data", good + "{}", module, pub, "manifest"},
		{"not_json", "manifest", module, pub, "manifest"},
	}
}

func TestManifestVectors(t *testing.T) {
	const path = "testdata/manifest-vectors.json"
	if *update {
		b, _ := json.MarshalIndent(makeVectors(t), "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) < 15 {
		t.Fatalf("only %d vectors", len(vs))
	}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			var key ed25519.PublicKey
			if v.PublisherKey != "" {
				k, _ := hex.DecodeString(v.PublisherKey)
				key = k
			}
			s, err := ParseSigned([]byte(v.File))
			if err == nil {
				err = s.Verify(key, []byte(v.Module))
			}
			got := "ok"
			switch {
			case errors.Is(err, ErrManifest):
				got = "manifest"
			case errors.Is(err, ErrSignature):
				got = "signature"
			case errors.Is(err, ErrUntrusted):
				got = "untrusted"
			case err != nil:
				got = "other: " + err.Error()
			}
			if got != v.Want {
				t.Errorf("got %s (%v), want %s", got, err, v.Want)
			}
		})
	}
}

func TestCheckParams(t *testing.T) {
	m := vectorManifest("x")
	m.Params["mode"] = Param{Type: "string", Enum: []string{"a", "b"}, Default: json.RawMessage(`"a"`)}
	m.Params["n"] = Param{Type: "integer"}
	m.Params["on"] = Param{Type: "boolean"}
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"empty gets defaults", ``, `{"amount":1,"mode":"a"}`, true},
		{"null", `null`, `{"amount":1,"mode":"a"}`, true},
		{"values", `{"amount":0.5,"mode":"b","n":3,"on":true}`, `{"amount":0.5,"mode":"b","n":3,"on":true}`, true},
		{"out of range", `{"amount":2}`, ``, false},
		{"not in enum", `{"mode":"c"}`, ``, false},
		{"not an integer", `{"n":1.5}`, ``, false},
		{"wrong type", `{"on":"yes"}`, ``, false},
		{"unknown", `{"url":"http://x"}`, ``, false},
		{"duplicate", `{"mode":"a","mode":"b"}`, ``, false},
		{"not an object", `[1]`, ``, false},
		{"too large", `{"mode":"` + strings.Repeat("a", MaxParamsBytes) + `"}`, ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.CheckParams([]byte(tt.in))
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrParams) {
				t.Errorf("err = %v, want ErrParams", err)
			}
			if tt.ok && string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestPublicKeyPEM(t *testing.T) {
	pub := vectorKey().Public().(ed25519.PublicKey)
	got, err := ParsePublicKey(MarshalPublicKey(pub))
	if err != nil || !got.Equal(pub) {
		t.Fatalf("round trip: %v", err)
	}
	for _, bad := range []string{"", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"} {
		if _, err := ParsePublicKey([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestBuiltinManifestsValid(t *testing.T) {
	ms, err := Builtins()
	if err != nil || len(ms) != 2 {
		t.Fatalf("builtins: %v, %v", ms, err)
	}
	for _, m := range ms {
		if err := m.Validate(); err != nil || m.Publisher != BuiltinPublisher || !m.HasFaces() {
			t.Errorf("%s: %v", m.Name, err)
		}
	}
}

// FuzzParseSigned: no input panics the manifest parser, and a manifest it
// accepts re-signs and re-parses to the same manifest.
func FuzzParseSigned(f *testing.F) {
	b, err := os.ReadFile("testdata/manifest-vectors.json")
	if err != nil {
		f.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		f.Fatal(err)
	}
	for _, v := range vs {
		f.Add([]byte(v.File))
	}
	key := KeySigner(vectorKey())
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSigned(data)
		if err != nil {
			return
		}
		file, err := Sign(s.Manifest, key)
		if err != nil {
			t.Fatalf("accepted manifest does not re-sign: %v", err)
		}
		s2, err := ParseSigned(file)
		if err != nil {
			t.Fatalf("re-signed manifest does not parse: %v", err)
		}
		a, _ := json.Marshal(s.Manifest)
		c, _ := json.Marshal(s2.Manifest)
		if !bytes.Equal(a, c) {
			t.Fatalf("round trip changed the manifest:\n%s\n%s", a, c)
		}
		if err := s2.Verify(key.PublicKey(), nil); errors.Is(err, ErrSignature) && strings.Contains(err.Error(), "does not verify") {
			t.Fatal("a fresh signature does not verify")
		}
	})
}

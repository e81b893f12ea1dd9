// Package c2patest runs the C2PA reference implementation (c2pa-rs, from
// the npm package @contentauth/c2pa-node, installed by scripts/setup.sh
// test into $OBSCURA_CACHE) on files, for tests that must check Obscura's
// manifests with a reader Obscura did not write.
package c2patest

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Version is the pinned c2pa-node release setup installs.
const Version = "0.9.8"

//go:embed read.js
var readJS []byte

// Status is one validation status entry.
type Status struct {
	Code        string `json:"code"`
	URL         string `json:"url"`
	Explanation string `json:"explanation"`
}

// Report is the part of c2pa-rs's reader JSON the tests look at.
type Report struct {
	None            bool                       `json:"none"`
	Error           string                     `json:"error"`
	ActiveManifest  string                     `json:"active_manifest"`
	Manifests       map[string]json.RawMessage `json:"manifests"`
	ValidationState string                     `json:"validation_state"`
	Results         struct {
		Active struct {
			Success       []Status `json:"success"`
			Informational []Status `json:"informational"`
			Failure       []Status `json:"failure"`
		} `json:"activeManifest"`
	} `json:"validation_results"`
	Raw json.RawMessage `json:"-"`
}

// FailureCodes lists the codes of the active manifest's failures.
func (r *Report) FailureCodes() []string {
	var out []string
	for _, s := range r.Results.Active.Failure {
		out = append(out, s.Code)
	}
	return out
}

// Dir is where setup installs c2pa-node.
func Dir() string {
	cache := os.Getenv("OBSCURA_CACHE")
	if cache == "" {
		if c, err := os.UserCacheDir(); err == nil {
			cache = filepath.Join(c, "obscura")
		}
	}
	return filepath.Join(cache, "c2pa-node-"+Version)
}

// Reader returns a function that reads a file with c2pa-rs, trusting the PEM
// anchors. It skips the test when node or the package is missing, unless CI
// is set: then the reader is required and its absence fails.
func Reader(t testing.TB) func(file string, anchorsPEM []byte) Report {
	t.Helper()
	node, err := exec.LookPath("node")
	native := filepath.Join(Dir(), "dist", "index.node")
	if _, serr := os.Stat(native); err != nil || serr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("c2pa reference reader missing (%s); run scripts/setup.sh test", native)
		}
		t.Skipf("c2pa reference reader not installed (%s); run scripts/setup.sh test", native)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "read.js")
	if err := os.WriteFile(script, readJS, 0o600); err != nil {
		t.Fatal(err)
	}
	return func(file string, anchors []byte) Report {
		t.Helper()
		args := []string{script, native, file}
		if anchors != nil {
			p := filepath.Join(dir, "anchors.pem")
			if err := os.WriteFile(p, anchors, 0o600); err != nil {
				t.Fatal(err)
			}
			args = append(args, p)
		}
		cmd := exec.Command(node, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("c2pa reader: %v: %s", err, stderr.String())
		}
		var r Report
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("c2pa reader output: %v: %s", err, out)
		}
		r.Raw = out
		return r
	}
}

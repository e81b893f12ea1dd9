package blobtest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// S3Server is a running versitygw (github.com/versity/versitygw, posix
// backend): a real S3-compatible server on a loopback port for tests
// (s3blob's conformance, the cluster e2e). `make setup-test` builds it
// into $OBSCURA_CACHE/bin.
type S3Server struct {
	Endpoint  string // host:port, plain HTTP
	AccessKey string
	SecretKey string
	Region    string

	proc *os.Process
	root string
}

// StartVersityGW starts versitygw on a free loopback port with its data in
// a new temporary directory. Stop it when done.
func StartVersityGW() (*S3Server, error) {
	bin, err := findVersityGW()
	if err != nil {
		return nil, err
	}
	root, err := os.MkdirTemp("", "obscura-versitygw")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	secret := make([]byte, 8)
	_, _ = rand.Read(secret)
	s := &S3Server{Endpoint: addr, AccessKey: "obscura-test", SecretKey: "obscura-test-secret-" + hex.EncodeToString(secret), Region: "us-east-1", root: root}
	cmd := exec.Command(bin, "--port", addr, "--access", s.AccessKey, "--secret", s.SecretKey, "--quiet", "posix", "--sidecar", filepath.Join(root, "meta"), filepath.Join(root, "data"))
	os.MkdirAll(filepath.Join(root, "data"), 0o700)
	os.MkdirAll(filepath.Join(root, "meta"), 0o700)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	s.proc = cmd.Process
	for range 200 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return s, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Stop()
	return nil, errors.New("versitygw did not start listening")
}

// Stop kills the server and removes its data.
func (s *S3Server) Stop() {
	if s.proc != nil {
		s.proc.Kill()
		s.proc.Wait()
	}
	os.RemoveAll(s.root)
}

func findVersityGW() (string, error) {
	var cands []string
	if c := os.Getenv("OBSCURA_CACHE"); c != "" {
		cands = append(cands, filepath.Join(c, "bin", "versitygw"))
	}
	if c, err := os.UserCacheDir(); err == nil {
		cands = append(cands, filepath.Join(c, "obscura", "bin", "versitygw"))
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		cands = append(cands, p)
	}
	for _, c := range cands {
		if fi, err := os.Stat(c); err == nil && fi.Mode()&0o111 != 0 {
			return c, nil
		}
	}
	return "", errors.New("versitygw binary not found (run `make setup-test`)")
}

package s3blob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"sync"
	"testing"

	"github.com/obscuraproject/obscura/internal/blob"
	"github.com/obscuraproject/obscura/internal/blob/blobtest"
	"github.com/obscuraproject/obscura/internal/fault"
)

// TestConformance runs the blob suite against a real S3-compatible server:
// versitygw (posix backend), built by `make test` setup and started here on
// a loopback port, stopped when the test ends.
func TestConformance(t *testing.T) {
	cfg := StartVersityGW(t)
	blobtest.Run(t, func(t *testing.T) blob.Store {
		c := cfg
		c.Bucket = "obscura-test-" + randHex(6)
		c.Create = true
		s, err := Open(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestPrefixAndMissingBucket(t *testing.T) {
	cfg := StartVersityGW(t)
	ctx := context.Background()
	c := cfg
	c.Bucket = "obscura-missing-" + randHex(4)
	if _, err := Open(ctx, c); !errors.Is(err, fault.NotFound) {
		t.Errorf("missing bucket without Create: %v, want NotFound", err)
	}
	c.Create, c.Prefix = true, "tenant-data/"
	s, err := Open(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	blobtest.Run(t, func(t *testing.T) blob.Store { return s })
}

func TestUnavailable(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	_, err := Open(context.Background(), Config{Endpoint: addr, AccessKey: "a", SecretKey: "b", Bucket: "x"})
	if !errors.Is(err, fault.Unavailable) {
		t.Errorf("S3 down: %v, want Unavailable", err)
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

var (
	gwOnce sync.Once
	gwCfg  Config
	gwErr  error
)

// StartVersityGW starts one versitygw for the test binary and returns its config.
func StartVersityGW(t *testing.T) Config {
	t.Helper()
	gwOnce.Do(func() { gwCfg, gwErr = startGW() })
	if gwErr != nil {
		if os.Getenv("OBSCURA_SKIP_S3") == "1" {
			t.Skipf("OBSCURA_SKIP_S3=1 and no S3 server: %v", gwErr)
		}
		t.Fatalf("S3 test server: %v (run `make setup-test`, or set OBSCURA_SKIP_S3=1 to skip explicitly)", gwErr)
	}
	return gwCfg
}

func startGW() (Config, error) {
	srv, err := blobtest.StartVersityGW()
	if err != nil {
		return Config{}, err
	}
	gw = srv // TestMain stops the server when the tests end.
	return Config{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Region: srv.Region}, nil
}

var gw *blobtest.S3Server

func TestMain(m *testing.M) {
	code := m.Run()
	if gw != nil {
		gw.Stop()
	}
	os.Exit(code)
}

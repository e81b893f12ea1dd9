package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runServe runs `obscura serve` on data and returns its exit error and
// stderr once it exits by itself (it must, within the timeout).
func runServe(t *testing.T, data string, env ...string) (string, error) {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--addr", freeAddr(t))
	cmd.Env = append(append(os.Environ(), "OBSCURA_DATA="+data), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return stderr.String(), err
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("serve kept running: %s", stderr.String())
		return "", nil
	}
}

// Issue 17.1: a data dir that holds data but lost master.key is refused by
// the server (naming the file), and no new key is written.
func TestServeRefusesLostMasterKey(t *testing.T) {
	data := t.TempDir()
	createTenant(t, data, "Keyed")
	key := filepath.Join(data, "master.key")
	if err := os.Remove(key); err != nil {
		t.Fatal(err)
	}
	stderr, err := runServe(t, data)
	if err == nil || !strings.Contains(stderr, key+" does not exist but "+data+" holds data") {
		t.Errorf("serve without its master key: %v, stderr %q", err, stderr)
	}
	if strings.Contains(stderr, "GENERATED A NEW MASTER KEY") {
		t.Error("serve generated a new master key for a data dir that holds data")
	}
	if _, err := os.Stat(key); err == nil {
		t.Error("a new master.key was written")
	}
}

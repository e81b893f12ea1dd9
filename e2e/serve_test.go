package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary builds cmd/obscura once per test run.
var binary = sync.OnceValues(func() (string, error) {
	return buildObscura("obscura-e2e-bin")
})

// buildObscura builds cmd/obscura with extra go build arguments into a new
// temporary directory, which TestMain removes after the run.
func buildObscura(prefix string, args ...string) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", err
	}
	runDirs.add(dir)
	out := filepath.Join(dir, "obscura")
	cmd := exec.Command("go", append(append([]string{"build"}, args...), "-o", out, "../cmd/obscura")...)
	cmd.Stderr = os.Stderr
	return out, cmd.Run()
}

func obscura(t *testing.T, data string, args ...string) []byte {
	t.Helper()
	return obscuraEnv(t, data, nil, args...)
}

// obscuraEnv is obscura with extra environment variables (KEY=VALUE):
// unlike t.Setenv, it leaves the process environment alone, so the test
// can run in parallel.
func obscuraEnv(t *testing.T, data string, env []string, args ...string) []byte {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), "OBSCURA_DATA="+data), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("obscura %v: %v: %s", args, err, stderr.String())
	}
	return out
}

func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := listenAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// listenAddr is a loopback address with a port free a moment ago.
func listenAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// server is a running `obscura serve`.
type server struct {
	cmd  *exec.Cmd
	base string
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer starts `obscura serve` on data with extra environment
// variables (KEY=VALUE) and waits for /healthz. OBSCURA_E2E_BINARY runs
// another build (e.g. the one before a fix) to measure it.
func startServer(t *testing.T, data string, env ...string) *server {
	t.Helper()
	return startServerBinary(t, os.Getenv("OBSCURA_E2E_BINARY"), data, env...)
}

// startServerBinary is startServer running the build bin ("" = this
// tree's): unlike setting OBSCURA_E2E_BINARY, it leaves the process
// environment alone, so the test can run in parallel.
func startServerBinary(t *testing.T, bin, data string, env ...string) *server {
	t.Helper()
	if bin == "" {
		var err error
		if bin, err = binary(); err != nil {
			t.Fatal(err)
		}
	}
	s, err := launch(bin, data, env)
	if s != nil {
		t.Cleanup(s.stop)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// launch starts `bin serve` on data and waits for /healthz. A server that
// started but did not come up is returned with the error, to be stopped.
func launch(bin, data string, env []string) (*server, error) {
	seedPluginCache(data)
	addr, err := listenAddr()
	if err != nil {
		return nil, err
	}
	s := &server{base: "http://" + addr, logs: &syncBuffer{}}
	s.cmd = exec.Command(bin, "serve", "--addr", addr)
	s.cmd.Env = append(append(os.Environ(), "OBSCURA_DATA="+data), env...)
	s.cmd.Stderr = s.logs
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	// Model loading dominates start-up; on a saturated 2-core machine it
	// has taken over 20 s, and the tests start servers in parallel (the
	// deadline only bounds a server that never comes up).
	deadline := time.Now().Add(150 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(s.base + "/healthz"); err == nil {
			res.Body.Close()
			keepPluginCache(data)
			return s, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s, fmt.Errorf("server did not come up: %s", s.logs.String())
}

// stop kills the server (if it still runs) and reaps it.
func (s *server) stop() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
}

// pluginCache is a copy of the compiled built-in plugins (wazero's
// compilation cache, data/plugin-cache) of the first server that came up.
// Every later server of the run starts on a fresh data directory and would
// compile the same modules again — about 3 s of CPU each, 40% of a
// start-up; seeded with hard links to this copy, it loads them instead.
// The cache is keyed by the module's hash and wazero's version, so a
// seeded server runs exactly what it would have compiled.
var pluginCache struct {
	sync.Mutex
	dir string
}

// keepPluginCache keeps data's plugin cache as the template, once.
func keepPluginCache(data string) {
	pluginCache.Lock()
	defer pluginCache.Unlock()
	if pluginCache.dir != "" {
		return
	}
	src := filepath.Join(data, "plugin-cache")
	if _, err := os.Stat(src); err != nil {
		return
	}
	bin, err := binary()
	if err != nil {
		return
	}
	dst := filepath.Join(filepath.Dir(bin), "plugin-cache")
	if err := linkTree(src, dst); err != nil {
		os.RemoveAll(dst)
		return
	}
	pluginCache.dir = dst
}

// seedPluginCache gives data the template's compiled plugins unless it
// already has a cache of its own.
func seedPluginCache(data string) {
	pluginCache.Lock()
	src := pluginCache.dir
	pluginCache.Unlock()
	dst := filepath.Join(data, "plugin-cache")
	if src == "" {
		return
	}
	if _, err := os.Stat(dst); err == nil {
		return
	}
	if err := linkTree(src, dst); err != nil {
		os.RemoveAll(dst) // the server compiles them itself
	}
}

// linkTree recreates the directory tree src at dst (private modes, as the
// server makes them) with hard links to src's files, copying a file where
// a link cannot be made.
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o700)
		}
		if os.Link(p, to) == nil {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o600)
	})
}

func (s *server) get(t *testing.T, path, key string) (int, http.Header, []byte) {
	t.Helper()
	return request(t, http.DefaultClient, "GET", s.base+path, key, nil, nil)
}

// request sends one request through c: with key, as Bearer key with a
// JSON body; hdr adds or overrides headers. It returns the status, the
// headers and the whole body; a transport error fails the test.
func request(t *testing.T, c *http.Client, method, url, key string, body []byte, hdr map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		req.Body, req.ContentLength = nil, 0
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

// TestServeDoneWhen walks the foundation issue's "done when" list against a real process.
func TestServeDoneWhen(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	var created struct {
		TenantID string `json:"tenant_id"`
		APIKey   string `json:"api_key"`
	}
	obscura(t, data, "init")
	out := obscura(t, data, "tenant", "create", "E2E App", "--json")
	if err := json.Unmarshal(out, &created); err != nil || created.APIKey == "" {
		t.Fatalf("tenant create output %q: %v", out, err)
	}
	s := startServer(t, data)

	if code, _, _ := s.get(t, "/healthz", ""); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	if code, _, b := s.get(t, "/readyz", ""); code != 200 {
		t.Errorf("/readyz = %d %s", code, b)
	}
	code, h, b := s.get(t, "/v1/tenant", "")
	if code != 401 || h.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(b), `"code":"unauthenticated"`) {
		t.Errorf("/v1/tenant without key = %d %s %s", code, h.Get("Content-Type"), b)
	}
	code, _, b = s.get(t, "/v1/tenant", created.APIKey)
	var tenant struct {
		TenantID string `json:"tenant_id"`
		Name     string `json:"name"`
	}
	json.Unmarshal(b, &tenant)
	if code != 200 || tenant.TenantID != created.TenantID || tenant.Name != "E2E App" {
		t.Errorf("/v1/tenant with key = %d %s", code, b)
	}
	// A tenant created while the server runs works at once (same data dir).
	out = obscura(t, data, "tenant", "create", "Live", "--json")
	var live struct {
		APIKey string `json:"api_key"`
	}
	json.Unmarshal(out, &live)
	if code, _, b := s.get(t, "/v1/tenant", live.APIKey); code != 200 {
		t.Errorf("tenant created beside a running server: %d %s", code, b)
	}
	if code, _, b := s.get(t, "/openapi.yaml", ""); code != 200 || !bytes.Contains(b, []byte("openapi: 3.1.0")) {
		t.Errorf("/openapi.yaml = %d", code)
	}
	if code, _, b := s.get(t, "/metrics", ""); code != 200 || !bytes.Contains(b, []byte("obscura_http_requests_total")) {
		t.Errorf("/metrics = %d", code)
	}

	// Graceful shutdown on SIGTERM: exit 0 and a "stopped" log line.
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve exited with %v after SIGTERM", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop after SIGTERM")
	}
	logs := s.logs.String()
	if !strings.Contains(logs, `"msg":"stopped"`) {
		t.Errorf("no graceful stop in logs:\n%s", logs)
	}
	// Logs are JSON, one object per line, and hold no keys or tenant ids.
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("log line is not JSON: %q", line)
		}
	}
	for _, secret := range []string{created.APIKey, live.APIKey, created.TenantID} {
		if strings.Contains(logs, secret) {
			t.Errorf("server log contains %q", secret)
		}
	}
}

// tenant is what `obscura tenant create --json` prints.
type tenant struct {
	TenantID string `json:"tenant_id"`
	APIKey   string `json:"api_key"`
}

// createTenant runs `obscura tenant create NAME --json` on data.
func createTenant(t *testing.T, data, name string) tenant {
	t.Helper()
	return createTenantEnv(t, data, nil, name)
}

// createTenantEnv is createTenant with extra environment variables.
func createTenantEnv(t *testing.T, data string, env []string, name string) tenant {
	t.Helper()
	var tn tenant
	obscuraEnv(t, data, env, "init") // idempotent; the CLI never creates an installation by itself
	out := obscuraEnv(t, data, env, "tenant", "create", name, "--json")
	if err := json.Unmarshal(out, &tn); err != nil || tn.APIKey == "" {
		t.Fatalf("tenant create output %q: %v", out, err)
	}
	return tn
}

// Package plugintest builds plugin sources (the shipped plugins, the SDK
// examples and the hostile test plugins) into WebAssembly for tests and
// benchmarks, with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared, caching
// the modules by a hash of the sources and the toolchain so a second test
// run does not rebuild them.
package plugintest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Root returns the repository root (the directory holding go.mod), found
// from the working directory upwards.
func Root(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/obscuraproject/obscura\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("plugintest: repository root not found")
		}
		dir = parent
	}
}

var mu sync.Mutex

// Build builds each package (paths relative to the repository root, e.g.
// "plugins/face-blur") and returns the modules' paths by package.
// Packages whose main has no obscura_run export can be built as commands
// with a "cmd:" prefix.
func Build(tb testing.TB, pkgs ...string) map[string]string {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	root := Root(tb)
	src, err := sourceHash(root)
	if err != nil {
		tb.Fatal(err)
	}
	dir := filepath.Join(CacheRoot(), src[:16])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	out := map[string]string{}
	var wg sync.WaitGroup
	errs := make([]error, len(pkgs))
	for i, p := range pkgs {
		pkg, command := strings.CutPrefix(p, "cmd:")
		file := filepath.Join(dir, strings.NewReplacer("/", "_", ":", "_").Replace(p)+".wasm")
		out[p] = file
		if _, err := os.Stat(file); err == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := []string{"build", "-trimpath", "-o", file + ".tmp"}
			if !command {
				args = append(args, "-buildmode=c-shared")
			}
			cmd := exec.Command("go", append(args, "./"+pkg)...)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("build %s: %v\n%s", p, err, b)
				return
			}
			errs[i] = os.Rename(file+".tmp", file)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

// CacheRoot is where built test modules are cached:
// $OBSCURA_CACHE/plugin-test (or the user cache directory's obscura/).
// A wazero compilation cache for tests lives in its "wazero" directory.
func CacheRoot() string {
	cache := os.Getenv("OBSCURA_CACHE")
	if cache == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			c = os.TempDir()
		}
		cache = filepath.Join(c, "obscura")
	}
	return filepath.Join(cache, "plugin-test")
}

// sourceHash hashes every Go source a plugin can be built from, and the
// toolchain.
func sourceHash(root string) (string, error) {
	h := sha256.New()
	fmt.Fprintln(h, runtime.Version())
	var files []string
	for _, d := range []string{"sdk/plugin", "plugins", "internal/plugin/testdata"} {
		err := filepath.WalkDir(filepath.Join(root, d), func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !e.IsDir() && strings.HasSuffix(path, ".go") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			return "", err
		}
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", strings.TrimPrefix(f, root), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

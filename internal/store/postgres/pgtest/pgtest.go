// Package pgtest gives tests a real PostgreSQL server: one temporary
// cluster per test binary, made with the installed initdb and started with
// pg_ctl on a free port of 127.0.0.1 and a private temporary directory, and
// a fresh empty database for each test.
//
// The cluster is built for speed, not durability (fsync, synchronous_commit
// and full_page_writes off) and trusts local connections (initdb
// --auth=trust, superuser "obscura", listening on 127.0.0.1 only): it holds
// only test data and lives as long as the test binary. When the tests run
// as root, initdb and the server run as the unprivileged user "nobody"
// (Postgres refuses to run as root), owning the temporary directory.
//
// The PostgreSQL server binaries come from `pg_config --bindir` or
// /usr/lib/postgresql/*/bin; without them the tests fail (never skip) and
// say to run `make setup-test`, which installs Debian's postgresql.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// superuser is the cluster's bootstrap superuser.
const superuser = "obscura"

type cluster struct {
	dir  string // the temporary directory (removed at stop)
	data string // the data directory
	bin  string // the PostgreSQL binaries
	port int
	cred *syscall.Credential // nil: run as the current user
	// copy is the CREATE DATABASE clause that copies a template: the
	// file copy (PostgreSQL 15+), about twice as fast as logging every
	// page with fsync off.
	copy string
}

var (
	once    sync.Once
	current *cluster
	startE  error
)

// Main runs the package's tests and then stops the cluster if one was
// started (without Main, a watchdog process stops it within a second or
// so of the test binary's exit). Use it as TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if current != nil {
		if err := current.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	os.Exit(code)
}

// URL returns the postgres:// URL of a fresh, empty database on the test
// binary's cluster (started on first use). The database is dropped when tb
// ends, whoever is still connected.
func URL(tb testing.TB) string {
	tb.Helper()
	c := get(tb)
	name := "t_" + randHex(8)
	if err := c.admin(context.Background(), `CREATE DATABASE `+name+` TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'`+c.copy); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.admin(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			tb.Errorf("pgtest: drop database: %v", err)
		}
	})
	return c.url(name)
}

// Clone returns the postgres:// URL of a fresh database copied from a
// template that prepare builds once per test binary and name (for example
// by applying migrations, so that each test does not). prepare gets the
// template's URL and must close its connections before returning. The
// copy is dropped when tb ends.
func Clone(tb testing.TB, name string, prepare func(url string) error) string {
	tb.Helper()
	c := get(tb)
	templatesMu.Lock()
	t, ok := templates[name]
	if !ok {
		t = &template{db: "tmpl_" + randHex(8)}
		templates[name] = t
	}
	templatesMu.Unlock()
	t.once.Do(func() {
		if t.err = c.admin(context.Background(), `CREATE DATABASE `+t.db+` TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'`); t.err == nil {
			t.err = prepare(c.url(t.db))
		}
	})
	if t.err != nil {
		tb.Fatalf("pgtest: template %s: %v", name, t.err)
	}
	db := "t_" + randHex(8)
	var err error
	// The template's last connections may still be closing server-side.
	for i := 0; i < 50; i++ {
		if err = c.admin(context.Background(), `CREATE DATABASE `+db+` TEMPLATE `+t.db+c.copy); err == nil || !strings.Contains(err.Error(), "being accessed by other users") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		tb.Fatalf("pgtest: create database from template %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if err := c.admin(context.Background(), `DROP DATABASE IF EXISTS `+db+` WITH (FORCE)`); err != nil {
			tb.Errorf("pgtest: drop database: %v", err)
		}
	})
	return c.url(db)
}

type template struct {
	db   string
	once sync.Once
	err  error
}

var (
	templatesMu sync.Mutex
	templates   = map[string]*template{}
)

// DataDir returns the cluster's data directory, for tests that scan what
// Postgres keeps on disk.
func DataDir(tb testing.TB) string {
	tb.Helper()
	return get(tb).data
}

// Checkpoint runs CHECKPOINT on the database at url, so that every page
// written so far is in the data files before a scan.
func Checkpoint(tb testing.TB, url string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatalf("pgtest: checkpoint: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
		tb.Fatalf("pgtest: checkpoint: %v", err)
	}
}

func get(tb testing.TB) *cluster {
	tb.Helper()
	once.Do(func() { current, startE = start() })
	if startE != nil {
		tb.Fatalf("pgtest: %v", startE)
	}
	return current
}

func (c *cluster) url(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", superuser, c.port, db)
}

// version returns the server's version number (150004 for 15.4).
func (c *cluster) version() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.url("postgres"))
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, "SHOW server_version_num").Scan(&v); err != nil {
		return 0, err
	}
	return strconv.Atoi(v)
}

// admin runs one statement on the maintenance database.
func (c *cluster) admin(ctx context.Context, stmt string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.url("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, stmt)
	return err
}

// BinDir finds the PostgreSQL server binaries (initdb, pg_ctl, postgres).
func BinDir() (string, error) {
	return binDir("pg_config", "/usr/lib/postgresql/*/bin")
}

// binDir looks in what pgConfig --bindir prints, then in the directories
// matching pattern, newest major version first.
func binDir(pgConfig, pattern string) (string, error) {
	var dirs []string
	if out, err := exec.Command(pgConfig, "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	found, _ := filepath.Glob(pattern)
	sort.Slice(found, func(i, j int) bool { return major(found[i]) > major(found[j]) })
	dirs = append(dirs, found...)
	for _, d := range dirs {
		if fileExists(filepath.Join(d, "initdb")) && fileExists(filepath.Join(d, "pg_ctl")) && fileExists(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", errors.New("no PostgreSQL server binaries (initdb, pg_ctl, postgres) found via pg_config --bindir or in /usr/lib/postgresql/*/bin: run `make setup-test` (installs Debian's postgresql)")
}

// major is the version directory's number in …/postgresql/N/bin (0 if none).
func major(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func start() (*cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	parent := os.TempDir()
	if os.Geteuid() == 0 && !reachable(parent) {
		parent = "/tmp" // nobody must reach the cluster's directory
	}
	dir, err := os.MkdirTemp(parent, "obscura-pgtest-")
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir, data: filepath.Join(dir, "data"), bin: bin}
	if os.Geteuid() == 0 {
		if c.cred, err = nobody(); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		if err := os.Chown(dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if err := c.run("initdb", "-D", c.data, "-U", superuser, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// A free port can be taken between probing and binding: retry.
	for attempt := 0; ; attempt++ {
		if c.port, err = freePort(); err != nil {
			break
		}
		opts := strings.Join([]string{
			"-p", strconv.Itoa(c.port), "-k", dir, "-c", "listen_addresses=127.0.0.1",
			"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
			"-c", "shared_buffers=32MB", "-c", "max_connections=200",
		}, " ")
		if err = c.run("pg_ctl", "-D", c.data, "-l", filepath.Join(dir, "server.log"), "-o", opts, "-w", "-t", "60", "start"); err == nil || attempt == 2 {
			break
		}
	}
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%w\n%s", err, tail(string(log), 2000))
	}
	if err := c.watch(); err != nil {
		return nil, errors.Join(err, c.stop())
	}
	if v, err := c.version(); err != nil {
		return nil, errors.Join(err, c.stop())
	} else if v >= 150000 {
		c.copy = " STRATEGY FILE_COPY"
	}
	return c, nil
}

// watchdog stops the server and removes the directory once the test
// binary ($1) is gone, however it ended: a test timeout panics past Main,
// and a package whose tests use URL without Main never stops the cluster.
const watchdog = `while kill -0 "$1" 2>/dev/null; do sleep 1; done
if [ -f "$2/data/postmaster.pid" ]; then
  pm=$(head -n 1 "$2/data/postmaster.pid")
  kill -QUIT "$pm" 2>/dev/null
  i=0; while kill -0 "$pm" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
fi
rm -rf "$2"`

// watch starts the watchdog in its own session, so that signals to the
// test's process group leave it running until the binary has exited.
func (c *cluster) watch() error {
	cmd := exec.Command("/bin/sh", "-c", watchdog, "pgtest-watchdog", strconv.Itoa(os.Getpid()), c.dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start watchdog: %w", err)
	}
	return cmd.Process.Release()
}

func (c *cluster) stop() error {
	err := c.run("pg_ctl", "-D", c.data, "-m", "immediate", "-w", "stop")
	return errors.Join(err, os.RemoveAll(c.dir))
}

// run runs one of the PostgreSQL binaries as the cluster's user.
func (c *cluster) run(name string, args ...string) error {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", name, err, tail(string(out), 2000))
	}
	return nil
}

// nobody is the unprivileged user the cluster runs as under root.
func nobody() (*syscall.Credential, error) {
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("running as root and no user nobody to run PostgreSQL as: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("user nobody: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// reachable reports whether every directory from / to dir lets other
// users through (the search bit), so that nobody can reach a child of it.
func reachable(dir string) bool {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil || st.Mode().Perm()&0o001 == 0 {
			return false
		}
		if d == filepath.Dir(d) {
			return true
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

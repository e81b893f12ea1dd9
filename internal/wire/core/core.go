// Package core opens Obscura's storage core — the data directory, the store
// (SQLite, or PostgreSQL when database_url is set), the key service (local
// master key or KMS root), the blob store (filesystem or S3), the encrypted
// object store and the audit log — from configuration. It is the bottom half of the composition root
// (internal/wire builds every service on it); it stands alone so that the
// test kit can build the same core for tests inside the packages wire
// itself imports.
package core

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/blob"
	"github.com/obscuraproject/obscura/internal/blob/fsblob"
	"github.com/obscuraproject/obscura/internal/blob/s3blob"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/config"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/keyring"
	"github.com/obscuraproject/obscura/internal/keyring/rootkey"
	"github.com/obscuraproject/obscura/internal/sealed"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/store/postgres"
	"github.com/obscuraproject/obscura/internal/store/sqlite"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// Options are what the caller resolves before the core is opened.
type Options struct {
	// Config is the resolved configuration.
	Config config.Config
	// Getenv reads secrets (OBSCURA_MASTER_KEY, VAULT_ADDR, VAULT_TOKEN,
	// OBSCURA_S3_ACCESS_KEY, OBSCURA_S3_SECRET_KEY). Nil reads nothing.
	Getenv func(string) string
	// Clock is the time every component reads (nil: the system clock).
	Clock clock.Clock
	// Log receives structured logs.
	Log *slog.Logger
}

// Core is the opened storage core.
type Core struct {
	Config config.Config
	Clock  clock.Clock
	Log    *slog.Logger
	getenv func(string) string

	Store   store.Backend
	Keys    *keyring.Keyring
	Blobs   blob.Store
	Objects *sealed.Store
	Audit   *audit.Log
}

// DBFile is the SQLite database's name inside the data directory.
const DBFile = "obscura.db"

// Open opens the core. Close it when done.
func Open(ctx context.Context, o Options) (*Core, error) {
	if o.Getenv == nil {
		o.Getenv = func(string) string { return "" }
	}
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	g := &Core{Config: o.Config, Clock: o.Clock, Log: o.Log, getenv: o.Getenv}
	if err := g.open(ctx); err != nil {
		return nil, err
	}
	return g, nil
}

// Close flushes the audit log and closes the store.
func (g *Core) Close() error {
	g.Audit.Close()
	return g.Store.Close()
}

// open opens the data dir, the store, the key service, the blob store,
// the encrypted object store and the audit log.
func (g *Core) open(ctx context.Context) error {
	cfg := g.Config
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	// The root key before the store: a new local master key is only ever
	// generated into an empty data dir (rootkey.LocalRoot), so opening the
	// database first would make every fresh directory look like data.
	root, err := g.rootKey(ctx)
	if err != nil {
		return err
	}
	st, err := g.openStore(ctx)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		st.Close()
		return err
	}
	shred, err := g.shredKeys(ctx, st)
	if err != nil {
		return fail(err)
	}
	kr, err := keyring.New(ctx, root, st, g.Clock, g.Log, keyring.Options{CacheTTL: cfg.KEKCacheTTL, Shred: shred})
	if err != nil {
		return fail(err)
	}
	blobs, err := g.blobStore(ctx)
	if err != nil {
		return fail(err)
	}
	signer, err := kr.TenantSigner(ctx, "", "audit")
	if err != nil {
		return fail(err)
	}
	g.Store, g.Keys, g.Blobs, g.Objects = st, kr, blobs, sealed.New(blobs, kr)
	g.Audit = audit.New(st, signer, g.Clock, g.Log, audit.Options{})
	return nil
}

// openStore opens the configured store: PostgreSQL when database_url is
// set, else SQLite in the data directory. The URL may hold a password:
// only its host and database name are logged.
func (g *Core) openStore(ctx context.Context) (store.Backend, error) {
	if g.Config.DatabaseURL == "" {
		return sqlite.Open(ctx, filepath.Join(g.Config.Data, DBFile))
	}
	st, err := postgres.Open(ctx, g.Config.DatabaseURL)
	if err != nil {
		return nil, err
	}
	g.Log.Info("store", "backend", "postgres", "database", postgres.Redact(g.Config.DatabaseURL))
	return st, nil
}

// rootKey builds the configured root of the key hierarchy.
func (g *Core) rootKey(ctx context.Context) (tink.AEAD, error) {
	if (g.Config.KMS == "" || g.Config.KMS == "local") && g.Config.MasterKeyFile != "" && g.getenv("OBSCURA_MASTER_KEY") == "" {
		return rootkey.LocalRootFile(g.Config.MasterKeyFile)
	}
	if g.Config.KMS == "" || g.Config.KMS == "local" {
		return rootkey.LocalRoot(g.Config.Data, g.getenv("OBSCURA_MASTER_KEY"), g.Log)
	}
	return rootkey.RemoteRoot(ctx, g.Config.KMS, rootkey.RemoteRootOptions{
		VaultAddr:  g.getenv("VAULT_ADDR"),
		VaultToken: g.getenv("VAULT_TOKEN"),
	})
}

// blobStore builds the configured blob store.
func (g *Core) blobStore(ctx context.Context) (blob.Store, error) {
	if g.Config.Blob == "" || g.Config.Blob == "fs" {
		return fsblob.Open(filepath.Join(g.Config.Data, "blobs"))
	}
	u, err := url.Parse(g.Config.Blob)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return nil, fault.New(fault.Invalid, "blob must be fs or s3://BUCKET[/PREFIX]?endpoint=HOST:PORT")
	}
	q := u.Query()
	cfg := s3blob.Config{
		Endpoint:  q.Get("endpoint"),
		AccessKey: g.getenv("OBSCURA_S3_ACCESS_KEY"),
		SecretKey: g.getenv("OBSCURA_S3_SECRET_KEY"),
		Bucket:    u.Host,
		Region:    q.Get("region"),
		TLS:       q.Get("tls") != "false",
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		cfg.Prefix = p + "/"
	}
	if cfg.Endpoint == "" {
		return nil, fault.New(fault.Invalid, "s3 blob store needs ?endpoint=HOST:PORT")
	}
	s, err := s3blob.Open(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open s3 blob store: %w", err)
	}
	return s, nil
}

package main

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/obscuraproject/obscura/internal/blob"
	"github.com/obscuraproject/obscura/internal/blob/fsblob"
	"github.com/obscuraproject/obscura/internal/blob/s3blob"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/keyring"
)

// rootKey builds the configured root of the key hierarchy.
func (a *app) rootKey(ctx context.Context) (tink.AEAD, error) {
	if a.cfg.KMS == "" || a.cfg.KMS == "local" {
		return keyring.LocalRoot(a.cfg.Data, a.getenv("OBSCURA_MASTER_KEY"), a.log)
	}
	return keyring.RemoteRoot(ctx, a.cfg.KMS, keyring.RemoteRootOptions{
		VaultAddr:  a.getenv("VAULT_ADDR"),
		VaultToken: a.getenv("VAULT_TOKEN"),
	})
}

// blobStore builds the configured blob store.
func (a *app) blobStore(ctx context.Context) (blob.Store, error) {
	if a.cfg.Blob == "" || a.cfg.Blob == "fs" {
		return fsblob.Open(filepath.Join(a.cfg.Data, "blobs"))
	}
	u, err := url.Parse(a.cfg.Blob)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return nil, fault.New(fault.Invalid, "blob must be fs or s3://BUCKET[/PREFIX]?endpoint=HOST:PORT")
	}
	q := u.Query()
	cfg := s3blob.Config{
		Endpoint:  q.Get("endpoint"),
		AccessKey: a.getenv("OBSCURA_S3_ACCESS_KEY"),
		SecretKey: a.getenv("OBSCURA_S3_SECRET_KEY"),
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

package core

import (
	"context"

	"github.com/obscuraproject/obscura/internal/blob"
	"github.com/obscuraproject/obscura/internal/keyring"
	"github.com/obscuraproject/obscura/internal/keyring/shreddir"
	"github.com/obscuraproject/obscura/internal/store/sqlite"
)

// shredKeys returns where the key service keeps shred keys (docs/spec/keys-v2.md),
// or nil for the embedded SQLite store, whose destruction is already final
// (secure_delete, WAL truncated). For any other store (Postgres keeps
// deleted rows in dead tuples, WAL and backups) the shred keys sit beside
// the blobs: <data>/shred with file-system blobs, the bucket's "shred/"
// prefix with S3 blobs (every node sees it).
func (g *Core) shredKeys(ctx context.Context, st any) (keyring.ShredKeys, error) {
	if _, embedded := st.(*sqlite.Store); embedded {
		return nil, nil
	}
	return g.ShredKeysFor(ctx, g.Config.Blob)
}

// ShredKeysFor opens the shred key store that goes with a blob setting
// ("fs" or s3://…) in this data directory. `obscura store migrate` uses it
// to place the target's shred keys where the target's nodes will look.
func (g *Core) ShredKeysFor(ctx context.Context, blobSetting string) (keyring.ShredKeys, error) {
	if blobSetting == "" || blobSetting == "fs" {
		return shreddir.Open(g.Config.Data)
	}
	return g.BlobStoreFor(ctx, blobSetting)
}

// BlobStoreFor opens the blob store of a blob setting ("fs" or s3://…,
// credentials from the same environment) in this data directory.
func (g *Core) BlobStoreFor(ctx context.Context, blobSetting string) (blob.Store, error) {
	o := *g
	o.Config.Blob = blobSetting
	return o.blobStore(ctx)
}

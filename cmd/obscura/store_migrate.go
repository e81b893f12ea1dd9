package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/blob"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store/postgres"
	"github.com/obscuraproject/obscura/internal/storecopy"
	"github.com/obscuraproject/obscura/internal/wire/core"
)

func (a *app) storeCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "store", Short: "Move the installation's metadata store"}
	var to, blobs string
	migrate := &cobra.Command{
		Use:   "migrate --to postgres://… [--blobs s3://…]",
		Short: "Copy this embedded installation into an empty PostgreSQL database (and its blobs to S3); stop the server and drain jobs first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !strings.HasPrefix(to, "postgres://") && !strings.HasPrefix(to, "postgresql://") {
				return fault.New(fault.Invalid, "--to must be a postgres:// URL")
			}
			if blobs != "" && !strings.HasPrefix(blobs, "s3://") {
				return fault.New(fault.Invalid, "--blobs must be an s3:// blob setting (s3://BUCKET[/PREFIX]?endpoint=HOST:PORT)")
			}
			if err := a.checkInstallation(false); err != nil {
				return err
			}
			return a.storeMigrate(cmd.Context(), to, blobs)
		},
	}
	migrate.Flags().StringVar(&to, "to", "", "target database: postgres://USER@HOST/DB?sslmode=verify-full (must be empty)")
	migrate.Flags().StringVar(&blobs, "blobs", "", "also copy every blob to this S3 store (must be empty): s3://BUCKET[/PREFIX]?endpoint=HOST:PORT")
	migrate.MarkFlagRequired("to")
	cmd.AddCommand(migrate)
	return cmd
}

// migrateSummary is what `store migrate` prints.
type migrateSummary struct {
	Target      string                 `json:"target"`
	Report      storecopy.Report       `json:"report"`
	AuditReport audit.Report           `json:"audit"`
	Next        map[string]string      `json:"next_config"`
	Tables      []storecopy.TableCount `json:"-"`
}

func (a *app) storeMigrate(ctx context.Context, to, blobSetting string) error {
	src := a.cfg
	src.DatabaseURL = "" // the source is always this data directory's SQLite database
	c, err := core.Open(ctx, core.Options{Config: src, Getenv: a.getenv, Clock: a.clk, Log: a.log})
	if err != nil {
		return err
	}
	defer c.Close()
	target, err := postgres.Open(ctx, to)
	if err != nil {
		return err
	}
	defer target.Close()
	// Where the target's nodes will find shred keys: beside the blobs.
	targetBlobSetting := src.Blob
	if blobSetting != "" {
		targetBlobSetting = blobSetting
	}
	shred, err := c.ShredKeysFor(ctx, targetBlobSetting)
	if err != nil {
		return err
	}
	kr, err := c.Keys.WithShred(shred)
	if err != nil {
		return err
	}
	signer, err := c.Keys.TenantSigner(ctx, "", "audit")
	if err != nil {
		return err
	}
	// The migration is itself in the chain it copies.
	if err := c.Audit.Append(ctx, audit.Entry{Action: "cli.store.migrate.intent", Actor: "cli", Result: "ok", Detail: "postgres"}); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	c.Audit.Close()
	opts := storecopy.Options{Source: filepath.Join(src.Data, core.DBFile), Target: target.Pool(), ScopeKey: kr.WrapForShred, Log: a.log}
	if blobSetting != "" {
		var tb blob.Store
		if tb, err = c.BlobStoreFor(ctx, blobSetting); err != nil {
			return err
		}
		opts.SourceBlobs, opts.TargetBlobs = c.Blobs, tb
	}
	rep, err := storecopy.Copy(ctx, opts)
	if err != nil {
		return err
	}
	ar, err := audit.Verify(ctx, target, signer.PublicKey(), 0)
	if err != nil {
		return fmt.Errorf("audit chain on the target does not verify: %w", err)
	}
	sum := migrateSummary{Target: postgres.Redact(to), Report: rep, AuditReport: ar,
		Next: map[string]string{"database_url": postgres.Redact(to) + " (with your credentials)", "blob": targetBlobSetting}}
	var b strings.Builder
	fmt.Fprintf(&b, "copied %d rows in %d tables to %s (row counts verified per table)\n", rep.Rows, len(rep.Tables), sum.Target)
	for _, t := range rep.Tables {
		if t.Source > 0 {
			fmt.Fprintf(&b, "  %-24s %8d\n", t.Table, t.Target)
		}
	}
	fmt.Fprintf(&b, "scope keys re-wrapped under shred keys (keys-v2): %d\n", rep.ScopeKeys)
	if opts.TargetBlobs != nil {
		fmt.Fprintf(&b, "blobs copied and listed on the target: %d\n", rep.Blobs)
	}
	fmt.Fprintf(&b, "audit chain on the target: ok, %d entries, %d signed checkpoints\n", ar.Entries, ar.Checkpoints)
	fmt.Fprintf(&b, "next: set database_url (and blob=%s), keep the same master key, start `obscura serve`; keep this data directory until you have checked the new installation", targetBlobSetting)
	return a.print(sum, b.String())
}

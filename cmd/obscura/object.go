package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/wire"

	"github.com/spf13/cobra"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/sealed"
)

var objectIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// objectCmd is the operator's direct access to encrypted objects: store a
// file, read one back, crypto-shred a subject's or a purpose's data.
func (a *app) objectCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "object", Short: "Store, read and crypto-shred encrypted objects (operator tool)"}
	var tenant, subject, purpose, id string
	var all bool
	ref := func() (sealed.Ref, error) {
		if tenant == "" || subject == "" {
			return sealed.Ref{}, fault.New(fault.Invalid, "--tenant and --subject are required")
		}
		if id != "" && !objectIDPattern.MatchString(id) {
			return sealed.Ref{}, fault.New(fault.Invalid, "--id must be 1-64 of [a-z0-9_-]")
		}
		return sealed.Ref{Tenant: tenant, Purpose: purpose, Object: id}, nil
	}
	put := &cobra.Command{
		Use: "put --tenant T --subject S [--purpose P] --id ID FILE", Short: "Encrypt and store a file", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := ref()
			if err != nil {
				return err
			}
			if id == "" {
				return fault.New(fault.Invalid, "--id is required")
			}
			f, err := os.Open(args[0])
			if err != nil {
				return fault.Wrap(fault.Invalid, "cannot open input file", err)
			}
			defer f.Close()
			return a.withServices(cmd, func(ctx context.Context, svc *wire.Graph) error {
				r.Subject = svc.Keys.SubjectHash(subject)
				n, err := svc.Objects.Put(ctx, r, f)
				if err != nil {
					return fmt.Errorf("put: %w", err)
				}
				if err := a.record(ctx, svc, audit.Entry{Action: "cli.object.put", Tenant: tenant, Subject: r.Subject, Object: svc.Keys.HashID("audit-object", id), Purpose: purpose, Bytes: n}); err != nil {
					return err
				}
				return a.print(map[string]any{"id": id, "bytes": n}, fmt.Sprintf("stored %s (%d bytes, encrypted)", id, n))
			})
		},
	}
	get := &cobra.Command{
		Use: "get --tenant T --subject S [--purpose P] --id ID", Short: "Decrypt an object to stdout (only if it authenticates)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := ref()
			if err != nil {
				return err
			}
			return a.withServices(cmd, func(ctx context.Context, svc *wire.Graph) error {
				r.Subject = svc.Keys.SubjectHash(subject)
				b, err := svc.Objects.ReadAll(ctx, r, 1<<30)
				if err != nil {
					return fmt.Errorf("get: %w", err)
				}
				_, err = a.stdout.Write(b)
				return err
			})
		},
	}
	shred := &cobra.Command{
		Use: "shred --tenant T --subject S (--purpose P | --all)", Short: "Destroy the scope key, then delete the ciphertext", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := ref(); err != nil {
				return err
			}
			scope := purpose
			if all {
				scope = "*"
			}
			return a.withServices(cmd, func(ctx context.Context, svc *wire.Graph) error {
				n, err := svc.Objects.Shred(ctx, tenant, svc.Keys.SubjectHash(subject), scope)
				if err != nil {
					return fmt.Errorf("shred (run again to finish): %w", err)
				}
				if err := a.record(ctx, svc, audit.Entry{Action: "cli.object.shred", Tenant: tenant, Subject: svc.Keys.SubjectHash(subject), Purpose: scope, Detail: strconv.Itoa(n)}); err != nil {
					return err
				}
				return a.print(map[string]any{"deleted": n}, fmt.Sprintf("shredded: key destroyed, %d objects deleted", n))
			})
		},
	}
	for _, c := range []*cobra.Command{put, get, shred} {
		c.Flags().StringVar(&tenant, "tenant", "", "tenant id")
		c.Flags().StringVar(&subject, "subject", "", "subject id (stored only as a keyed hash)")
		c.Flags().StringVar(&purpose, "purpose", "", "purpose of derived data (empty: the subject's own objects)")
	}
	for _, c := range []*cobra.Command{put, get} {
		c.Flags().StringVar(&id, "id", "", "object id")
	}
	shred.Flags().BoolVar(&all, "all", false, "everything of the subject")
	cmd.AddCommand(put, get, shred)
	return cmd
}

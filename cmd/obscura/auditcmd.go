package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/obscuraproject/obscura/internal/alert"
	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/wire"
)

func (a *app) auditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Verify, read and export the audit log"}
	cmd.AddCommand(a.bundleExportCmd("export --from TIME --to TIME --out FILE",
		"Write a signed audit segment (entries, checkpoints, anchor; verify with obscura incident verify-bundle)",
		"cli.audit.export", "audit-segment.json"))
	var from int64
	verify := &cobra.Command{
		Use: "verify [--from CHECKPOINT]", Short: "Verify the hash chain and signed checkpoints; names the first bad position", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withServices(cmd, func(ctx context.Context, svc *wire.Graph) error {
				signer, err := svc.Keys.TenantSigner(ctx, "", "audit")
				if err != nil {
					return err
				}
				rep, err := audit.Verify(ctx, svc.Store, signer.PublicKey(), from)
				if err != nil {
					var p *audit.Problem
					if errors.As(err, &p) {
						svc.Alerts.Raise(ctx,
							store.Alert{Rule: alert.RuleAuditBroken, Severity: "critical", Detail: fmt.Sprintf("seq=%d", p.Seq)})
						return fmt.Errorf("AUDIT CHAIN BROKEN at entry %d: %s", p.Seq, p.Reason)
					}
					return err
				}
				return a.print(rep, fmt.Sprintf("ok: %d entries from %d to %d, %d signed checkpoints", rep.Entries, rep.From, rep.Head, rep.Checkpoints))
			})
		},
	}
	verify.Flags().Int64Var(&from, "from", 0, "start at the signed checkpoint at or below this sequence number")
	var tenant string
	var limit int
	list := &cobra.Command{
		Use: "list [--tenant ID] [--from SEQ] [--limit N]", Short: "Print audit entries (metadata only)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withServices(cmd, func(ctx context.Context, svc *wire.Graph) error {
				es, next, err := audit.Page(ctx, svc.Store, tenant, from, limit)
				if err != nil {
					return err
				}
				var b strings.Builder
				for _, e := range es {
					fmt.Fprintf(&b, "%6d %s %-18s %-7s %-16s tenant=%s actor=%s\n", e.Seq, e.Time, e.Action, e.Result, e.Code, e.Tenant, e.Actor)
				}
				return a.print(map[string]any{"entries": es, "next": next}, strings.TrimRight(b.String(), "\n"))
			})
		},
	}
	list.Flags().StringVar(&tenant, "tenant", "", "only this tenant's entries")
	list.Flags().Int64Var(&from, "from", 0, "entries after this sequence number")
	list.Flags().IntVar(&limit, "limit", 100, "at most this many")
	cmd.AddCommand(verify, list)
	return cmd
}

package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/incident"
	"github.com/obscuraproject/obscura/internal/wire"
)

func (a *app) incidentCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "incident", Short: "Incident kit: kill switch (see docs/incident-playbook.md)"}
	var tenant, feature string
	kill := &cobra.Command{
		Use:   "kill-switch on|off [--tenant ID] [--feature analyze|faces|memes|plugins|uploads]",
		Short: "Stop or resume processing: global, per tenant, per feature; a running server obeys within a second",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "on" && args[0] != "off" {
				return fault.New(fault.Invalid, "say on or off")
			}
			return a.withServices(cmd, func(ctx context.Context, svc *wire.Graph) error {
				if tenant != "" {
					if _, err := svc.Store.Tenant(ctx, tenant); err != nil {
						return fmt.Errorf("tenant %s: %w", tenant, err)
					}
				}
				sw := svc.Kill
				sc, err := svc.Operator.SetKillSwitch(ctx, cliActor, tenant, feature, args[0] == "on")
				if err != nil {
					return err
				}
				return a.print(map[string]any{"scope": sc, "on": args[0] == "on", "active": sw.Active()},
					fmt.Sprintf("kill switch %s: %s (active: %s)", args[0], sc, strings.Join(sw.Active(), ", ")))
			})
		},
	}
	kill.Flags().StringVar(&tenant, "tenant", "", "only this tenant")
	kill.Flags().StringVar(&feature, "feature", "", "only this feature")
	status := a.serviceCmd("status", "Kill switches in force", func(ctx context.Context, svc *wire.Graph) error {
		sw := svc.Kill
		if err := sw.Refresh(ctx); err != nil {
			return err
		}
		act := sw.Active()
		text := "no kill switch in force"
		if len(act) > 0 {
			text = "kill switches in force: " + strings.Join(act, ", ")
		}
		return a.print(map[string]any{"active": act}, text)
	})
	var fromS, toS, pubkey string
	export := a.bundleExportCmd("export --from TIME --to TIME --out FILE",
		"Write a signed forensic bundle (audit segment, checkpoints, kill switches, config digest; no content, no raw ids)",
		"cli.forensic.export", "forensic-bundle.json")
	verifyBundle := &cobra.Command{
		Use:   "verify-bundle FILE [--pubkey KEY.json]",
		Short: "Verify a forensic bundle's signature, chain segment and checkpoints (offline)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return fault.Wrap(fault.Invalid, "cannot read the bundle", err)
			}
			b, err := incident.ParseBundle(data)
			if err != nil {
				return err
			}
			var pin ed25519.PublicKey
			if pubkey != "" {
				kb, err := os.ReadFile(pubkey)
				if err != nil {
					return fault.Wrap(fault.Invalid, "cannot read the public key", err)
				}
				if pin, err = consent.ParsePublicKey(kb); err != nil {
					return err
				}
			}
			fp, err := incident.VerifyBundle(b, pin)
			if err != nil {
				return err
			}
			note := ""
			if pin == nil {
				note = " (key not pinned: compare the fingerprint with the installation's)"
			}
			return a.print(map[string]any{"valid": true, "entries": len(b.Entries), "key_fingerprint": fp},
				fmt.Sprintf("ok: %d entries, key %s%s", len(b.Entries), fp, note))
		},
	}
	verifyBundle.Flags().StringVar(&pubkey, "pubkey", "", `pin the signing key: {"alg":"Ed25519","public_key":…} as printed by obscura incident audit-key`)
	auditKey := a.serviceCmd("audit-key", "Print the installation's audit signing public key (to pin bundles)", func(ctx context.Context, svc *wire.Graph) error {
		signer, err := svc.Keys.TenantSigner(ctx, "", "audit")
		if err != nil {
			return err
		}
		return writeJSON(a.stdout, consent.PublicKeyDoc{Alg: "Ed25519", PublicKey: base64.StdEncoding.EncodeToString(signer.PublicKey())})
	})
	alerts := a.serviceCmd("alerts", "Recent alerts of every tenant, newest first", func(ctx context.Context, svc *wire.Graph) error {
		as, err := svc.Store.Alerts(ctx, "", 100)
		if err != nil {
			return err
		}
		var b strings.Builder
		for _, x := range as {
			fmt.Fprintf(&b, "%s %-8s %-26s tenant=%s %s\n", x.Time.Format(time.RFC3339), x.Severity, x.Rule, x.TenantID, x.Detail)
		}
		if len(as) == 0 {
			b.WriteString("no alerts\n")
		}
		return a.print(map[string]any{"alerts": as}, strings.TrimRight(b.String(), "\n"))
	})
	var purgeSubject string
	var dryRun bool
	purge := &cobra.Command{
		Use:   "purge --tenant ID [--subject S | --from T --to T] [--dry-run]",
		Short: "Delete a subject's data, a tenant's photos in a time range, or everything of a tenant (keys destroyed first)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tenant == "" {
				return fault.New(fault.Invalid, "--tenant is required")
			}
			var from, to time.Time
			if fromS != "" || toS != "" {
				var err1, err2 error
				from, err1 = time.Parse(time.RFC3339, fromS)
				to, err2 = time.Parse(time.RFC3339, toS)
				if err1 != nil || err2 != nil || !from.Before(to) || !clock.InRange(from) || !clock.InRange(to) || purgeSubject != "" {
					return fault.New(fault.Invalid, "--from and --to are RFC 3339 times, from before to, and exclude --subject")
				}
			}
			return a.withServices(cmd, func(ctx context.Context, svc *wire.Graph) error {
				if _, err := svc.Store.Tenant(ctx, tenant); err != nil {
					return fmt.Errorf("tenant %s: %w", tenant, err)
				}
				sc := incident.PurgeScope{Tenant: tenant, From: from, To: to}
				if purgeSubject != "" {
					sc.SubjectHash = svc.Keys.SubjectHash(purgeSubject)
				}
				p := svc.Purger
				var rep incident.PurgeReport
				var err error
				if dryRun {
					rep, err = p.DryRun(ctx, sc)
				} else {
					rep, err = p.Run(ctx, sc)
				}
				if err != nil {
					return err
				}
				what := fmt.Sprintf("%d subjects (every key, photo, result and consent state), %d photos", rep.Subjects, rep.Photos)
				if dryRun {
					return a.print(rep, "dry run: would purge "+what)
				}
				if err := a.record(ctx, svc, audit.Entry{Action: "cli.purge", Tenant: tenant, Detail: fmt.Sprintf("%s subjects=%d photos=%d", sc.Describe(), rep.Subjects, rep.Photos)}); err != nil {
					return err
				}
				return a.print(rep, "purged "+what)
			})
		},
	}
	purge.Flags().StringVar(&tenant, "tenant", "", "tenant id")
	purge.Flags().StringVar(&purgeSubject, "subject", "", "only this subject")
	purge.Flags().StringVar(&fromS, "from", "", "photos created at or after (RFC 3339)")
	purge.Flags().StringVar(&toS, "to", "", "photos created before (RFC 3339)")
	purge.Flags().BoolVar(&dryRun, "dry-run", false, "count what would go, delete nothing")
	var rotate bool
	revokeKeys := &cobra.Command{
		Use:   "revoke-keys --tenant ID [--rotate-kek]",
		Short: "Revoke every API key of a tenant at once (and optionally rotate its KEK)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tenant == "" {
				return fault.New(fault.Invalid, "--tenant is required")
			}
			return a.withServices(cmd, func(ctx context.Context, svc *wire.Graph) error {
				if _, err := svc.Store.Tenant(ctx, tenant); err != nil {
					return fmt.Errorf("tenant %s: %w", tenant, err)
				}
				n, err := svc.Operator.RevokeAllKeys(ctx, cliActor, tenant)
				if err != nil {
					return err
				}
				text := fmt.Sprintf("revoked %d API keys", n)
				v := 0
				if rotate {
					if v, err = svc.Operator.RotateKEK(ctx, cliActor, tenant); err != nil {
						return err
					}
					text += fmt.Sprintf("; new KEK version %d (run obscura keys rewrap, then revoke the old version)", v)
				}
				return a.print(map[string]any{"revoked": n, "kek_version": v}, text)
			})
		},
	}
	revokeKeys.Flags().StringVar(&tenant, "tenant", "", "tenant id")
	revokeKeys.Flags().BoolVar(&rotate, "rotate-kek", false, "also create a new KEK version")
	cmd.AddCommand(kill, status, export, verifyBundle, auditKey, alerts, purge, revokeKeys)
	return cmd
}

// bundleExportCmd writes a signed bundle of the audit segment in a time
// range (incident export and audit export share it; verify either with
// obscura incident verify-bundle).
func (a *app) bundleExportCmd(use, short, action, defaultOut string) *cobra.Command {
	var fromS, toS, out string
	cmd := &cobra.Command{
		Use: use, Short: short, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, err1 := time.Parse(time.RFC3339, fromS)
			to, err2 := time.Parse(time.RFC3339, toS)
			if err1 != nil || err2 != nil || !clock.InRange(from) || !clock.InRange(to) {
				return fault.New(fault.Invalid, "--from and --to must be RFC 3339 times between 1970 and 2200, e.g. 2026-11-22T10:00:00Z")
			}
			return a.withServices(cmd, func(ctx context.Context, svc *wire.Graph) error {
				signer, err := svc.Keys.TenantSigner(ctx, "", "audit")
				if err != nil {
					return err
				}
				cfg, _ := json.Marshal(a.cfg)
				b, err := incident.Export(ctx, svc.Store, signer, from, to, a.clk.Now(), cfg)
				if err != nil {
					return err
				}
				data, _ := json.MarshalIndent(b, "", "  ")
				if err := os.WriteFile(out, append(data, '\n'), 0o600); err != nil {
					return fault.Wrap(fault.Invalid, "cannot write the bundle", err)
				}
				if err := a.record(ctx, svc, audit.Entry{Action: action, Detail: strconv.Itoa(len(b.Entries))}); err != nil {
					return err
				}
				return a.print(map[string]any{"entries": len(b.Entries), "checkpoints": len(b.Checkpoints), "out": out},
					fmt.Sprintf("wrote %s: %d audit entries, %d checkpoints", out, len(b.Entries), len(b.Checkpoints)))
			})
		},
	}
	cmd.Flags().StringVar(&fromS, "from", "", "start (RFC 3339)")
	cmd.Flags().StringVar(&toS, "to", "", "end, exclusive (RFC 3339)")
	cmd.Flags().StringVar(&out, "out", defaultOut, "output file")
	return cmd
}

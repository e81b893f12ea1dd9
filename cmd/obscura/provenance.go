package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/obscuraproject/obscura/internal/c2pa"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/provenance"
	"github.com/obscuraproject/obscura/internal/wire"
)

// maxProvenanceFile bounds a file `provenance verify` reads.
const maxProvenanceFile = 64 << 20

func (a *app) provenanceCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "provenance", Short: "Verify generated images (C2PA manifest, watermark) and manage the provenance CA"}
	var caFile, tenant string
	verify := &cobra.Command{
		Use:   "verify FILE [--ca CA.pem | --tenant ID]",
		Short: "Check a file's C2PA manifest (offline with --ca) and, with --tenant, that tenant's watermark",
		Long: "With --ca the check needs nothing but the CA certificate(s) (`obscura provenance ca` prints them): signature, hashes, " +
			"hard binding and chain. Without --ca it uses this installation's CA and also sees revocations; --tenant adds the " +
			"tenant's watermark. Exits 1 when the file has no valid manifest (and, with --tenant, no watermark).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file, err := readFileMax(args[0], maxProvenanceFile)
			if err != nil {
				return err
			}
			var v provenance.Verification
			switch {
			case caFile != "":
				if tenant != "" {
					return fault.New(fault.Invalid, "--tenant needs the installation: drop --ca")
				}
				pemBytes, err := os.ReadFile(caFile)
				if err != nil {
					return fmt.Errorf("read CA: %w", err)
				}
				roots := x509.NewCertPool()
				if !roots.AppendCertsFromPEM(pemBytes) {
					return fault.New(fault.Invalid, caFile+": no PEM certificate")
				}
				r, err := c2pa.Verify(file, roots, a.clk.Now())
				if err != nil {
					return err
				}
				v.C2PA = provenance.Summarise(r)
			default:
				err := a.withServices(cmd, func(ctx context.Context, g *wire.Graph) error {
					var err error
					if tenant != "" {
						v, err = g.Provenance.Verify(ctx, tenant, file)
						return err
					}
					v, err = g.Provenance.Verify(ctx, "", file)
					v.Watermark = provenance.WatermarkResult{}
					return err
				})
				if err != nil {
					return err
				}
			}
			if err := a.print(v, verifyText(v, tenant != "")); err != nil {
				return err
			}
			if !v.C2PA.Valid && !v.Watermark.Found {
				if a.jsonOut {
					return exitError{code: 1, err: errAlreadyReported}
				}
				return exitError{code: 1, err: errors.New("no valid Obscura provenance in " + args[0])}
			}
			return nil
		},
	}
	verify.Flags().StringVar(&caFile, "ca", "", "PEM file of trusted provenance CA certificates (offline check)")
	verify.Flags().StringVar(&tenant, "tenant", "", "also look for this tenant's watermark")

	ca := a.serviceCmd("ca", "Print this installation's provenance CA certificate(s) (PEM): the trust anchors for C2PA readers", func(ctx context.Context, g *wire.Graph) error {
		p, err := g.Provenance.CAPEM(ctx)
		if err != nil {
			return err
		}
		return a.print(map[string]string{"ca_pem": string(p)}, strings.TrimSpace(string(p)))
	})

	var rotCA bool
	rotate := &cobra.Command{
		Use: "rotate --tenant ID | --ca", Short: "Issue a new signing certificate (new key) for a tenant, or a new CA version", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if rotCA == (tenant != "") {
				return fault.New(fault.Invalid, "give either --tenant ID or --ca")
			}
			return a.withServices(cmd, func(ctx context.Context, g *wire.Graph) error {
				v, err := g.Operator.RotateProvenance(ctx, cliActor, tenant)
				if err != nil {
					return err
				}
				return a.print(map[string]any{"tenant_id": tenant, "version": v}, fmt.Sprintf("issued provenance certificate version %d", v))
			})
		},
	}
	rotate.Flags().StringVar(&tenant, "tenant", "", "tenant id")
	rotate.Flags().BoolVar(&rotCA, "ca", false, "rotate the installation CA")

	var version int
	revoke := &cobra.Command{
		Use: "revoke (--tenant ID | --ca) --version N", Short: "Revoke a signing certificate or CA version: verify stops accepting what it signed", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if rotCA == (tenant != "") || version <= 0 {
				return fault.New(fault.Invalid, "give --tenant ID or --ca, and --version N")
			}
			return a.withServices(cmd, func(ctx context.Context, g *wire.Graph) error {
				if err := g.Operator.RevokeProvenance(ctx, cliActor, tenant, version); err != nil {
					return fmt.Errorf("revoke provenance certificate version %d: %w", version, err)
				}
				return a.print(map[string]any{"tenant_id": tenant, "revoked_version": version}, fmt.Sprintf("revoked provenance certificate version %d", version))
			})
		},
	}
	revoke.Flags().StringVar(&tenant, "tenant", "", "tenant id")
	revoke.Flags().BoolVar(&rotCA, "ca", false, "revoke a CA version")
	revoke.Flags().IntVar(&version, "version", 0, "certificate version")

	cmd.AddCommand(verify, ca, rotate, revoke)
	return cmd
}

func verifyText(v provenance.Verification, withMark bool) string {
	var b strings.Builder
	switch {
	case !v.C2PA.Present:
		b.WriteString("c2pa: no manifest")
	case v.C2PA.Valid:
		fmt.Fprintf(&b, "c2pa: valid, signer %q, actions %s", v.C2PA.Signer, strings.Join(v.C2PA.Actions, ","))
		if v.C2PA.CreatedAt != nil {
			fmt.Fprintf(&b, ", created_at %s (signer's clock)", v.C2PA.CreatedAt.Format("2006-01-02T15:04:05Z07:00"))
		}
	default:
		fmt.Fprintf(&b, "c2pa: INVALID (%s)", strings.Join(v.C2PA.Failures, ", "))
	}
	if withMark {
		switch {
		case v.Watermark.AssetID != "":
			fmt.Fprintf(&b, "\nwatermark: found, asset %s", v.Watermark.AssetID)
		case v.Watermark.Found:
			b.WriteString("\nwatermark: found")
		default:
			b.WriteString("\nwatermark: not found")
		}
	}
	return b.String()
}

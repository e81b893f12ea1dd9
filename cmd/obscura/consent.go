package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/fault"
)

func (a *app) consentCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "consent", Short: "Consent receipts and purposes"}
	var pubkey string
	verify := &cobra.Command{
		Use:   "verify RECEIPTS.json --pubkey KEY.json",
		Short: "Verify a subject's receipts offline: every signature and every chain link",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kb, err := os.ReadFile(pubkey)
			if err != nil {
				return fault.Wrap(fault.Invalid, "cannot read public key file", err)
			}
			pub, err := consent.ParsePublicKey(kb)
			if err != nil {
				return err
			}
			rb, err := os.ReadFile(args[0])
			if err != nil {
				return fault.Wrap(fault.Invalid, "cannot read receipts file", err)
			}
			rs, err := consent.ParseReceipts(rb)
			if err != nil {
				return err
			}
			if err := consent.Verify(rs, pub); err != nil {
				var ce *consent.ChainError
				if errors.As(err, &ce) {
					return fmt.Errorf("first bad receipt is #%d (%s): %w", ce.Index, ce.ReceiptID, ce.Err)
				}
				return err
			}
			return a.print(map[string]any{"valid": true, "receipts": len(rs)}, fmt.Sprintf("ok: %d receipts, signatures and chain valid", len(rs)))
		},
	}
	verify.Flags().StringVar(&pubkey, "pubkey", "", `public key file as served by GET /v1/tenant/consent-key ({"alg":"Ed25519","public_key":…})`)
	verify.MarkFlagRequired("pubkey")
	purposes := &cobra.Command{
		Use: "purposes", Short: "List the purpose registry", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			text := ""
			for _, p := range consent.Registry {
				bio := ""
				if p.Biometric {
					bio = " [biometric]"
				}
				text += fmt.Sprintf("%-20s%s %s\n", p.Name, bio, p.Description)
			}
			text += fmt.Sprintf("%-20s %s", "plugin:<name>", "Run a named sticker/augmentation plugin.")
			return a.print(map[string]any{"purposes": consent.Registry}, text)
		},
	}
	cmd.AddCommand(verify, purposes)
	return cmd
}

package main

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"github.com/obscuraproject/obscura/internal/audit"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newTenantID() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "ten_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

func (a *app) tenantCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tenant", Short: "Manage tenants"}
	cmd.AddCommand(&cobra.Command{
		Use:   "create NAME",
		Short: "Create a tenant and print its first API key (every scope) once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := strings.TrimSpace(args[0])
			if name == "" || len(name) > 100 || !utf8.ValidString(name) {
				return fault.New(fault.Invalid, "tenant name must be 1 to 100 characters of UTF-8")
			}
			return a.withServices(cmd, func(ctx context.Context, svc *services) error {
				now := a.clk.Now().UTC()
				t := store.Tenant{ID: newTenantID(), Name: name, CreatedAt: now}
				plain, rec := auth.Mint(svc.keys, t.ID, auth.AllScopes, now)
				if err := svc.store.CreateTenant(ctx, t, rec); err != nil {
					return fmt.Errorf("create tenant: %w", err)
				}
				if err := svc.keys.InitTenant(ctx, t.ID); err != nil {
					return fmt.Errorf("create tenant key: %w", err)
				}
				if err := a.record(ctx, svc, audit.Entry{Action: "cli.tenant.create", Tenant: t.ID}); err != nil {
					return err
				}
				return a.print(map[string]string{"tenant_id": t.ID, "api_key": plain},
					fmt.Sprintf("tenant_id: %s\napi_key:   %s\n(the API key is shown only this once)", t.ID, plain))
			})
		},
	})
	return cmd
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/tenant"
	"github.com/obscuraproject/obscura/internal/wire"
)

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (a *app) tenantCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tenant", Short: "Manage tenants"}
	cmd.AddCommand(&cobra.Command{
		Use:   "create NAME",
		Short: "Create a tenant and print its first API key (every scope) once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withServices(cmd, func(ctx context.Context, svc *wire.Graph) error {
				t, plain, err := tenant.Create(ctx, svc.Store, svc.Keys, args[0], a.clk.Now())
				if err != nil {
					return err
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

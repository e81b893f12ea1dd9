package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

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
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the installation's tenants (id, name, created)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withServices(cmd, func(ctx context.Context, svc *wire.Graph) error {
				ts, err := svc.Store.Tenants(ctx)
				if err != nil {
					return err
				}
				type row struct {
					ID        string    `json:"tenant_id"`
					Name      string    `json:"name"`
					CreatedAt time.Time `json:"created_at"`
				}
				rows := []row{}
				var text strings.Builder
				for _, t := range ts {
					rows = append(rows, row{t.ID, t.Name, t.CreatedAt.UTC()})
					fmt.Fprintf(&text, "%s  %s  %s\n", t.ID, t.CreatedAt.UTC().Format(time.RFC3339), t.Name)
				}
				if len(ts) == 0 {
					text.WriteString("no tenants\n")
				}
				return a.print(map[string]any{"tenants": rows}, strings.TrimSuffix(text.String(), "\n"))
			})
		},
	})
	return cmd
}

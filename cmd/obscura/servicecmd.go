package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/wire"
)

// serviceCmd is a subcommand without arguments that runs on the opened
// services (flags are added by the caller).
func (a *app) serviceCmd(use, short string, run func(ctx context.Context, svc *wire.Graph) error) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.withServices(cmd, run) },
	}
}

// tenantSubCmd is a serviceCmd for one existing tenant, named by *tenant (a
// flag the caller adds).
func (a *app) tenantSubCmd(use, short string, tenant *string, run func(ctx context.Context, svc *wire.Graph) error) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.withTenant(cmd, *tenant, run) },
	}
}

// withTenant runs fn on the opened services once tenant is given and
// exists; a mistyped id is named in the error.
func (a *app) withTenant(cmd *cobra.Command, tenant string, fn func(ctx context.Context, svc *wire.Graph) error) error {
	if tenant == "" {
		return fault.New(fault.Invalid, "--tenant is required")
	}
	return a.withServices(cmd, func(ctx context.Context, svc *wire.Graph) error {
		if err := tenantExists(ctx, svc, tenant); err != nil {
			return err
		}
		return fn(ctx, svc)
	})
}

// tenantExists: the tenant exists; the error names the id otherwise.
func tenantExists(ctx context.Context, svc *wire.Graph, tenant string) error {
	if _, err := svc.Store.Tenant(ctx, tenant); err != nil {
		return fmt.Errorf("tenant %s: %w", tenant, err)
	}
	return nil
}

package main

import (
	"context"

	"github.com/spf13/cobra"

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

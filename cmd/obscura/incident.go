package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/incident"
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
			return a.withServices(cmd, func(ctx context.Context, svc *services) error {
				if tenant != "" {
					if _, err := svc.store.Tenant(ctx, tenant); err != nil {
						return fmt.Errorf("tenant %s: %w", tenant, err)
					}
				}
				sw := incident.NewSwitches(svc.store, a.clk, a.log)
				sc, err := sw.Set(ctx, tenant, feature, args[0] == "on")
				if err != nil {
					return err
				}
				if err := a.record(ctx, svc, audit.Entry{Action: "cli.kill_switch." + args[0], Tenant: tenant, Detail: sc}); err != nil {
					return err
				}
				return a.print(map[string]any{"scope": sc, "on": args[0] == "on", "active": sw.Active()},
					fmt.Sprintf("kill switch %s: %s (active: %s)", args[0], sc, strings.Join(sw.Active(), ", ")))
			})
		},
	}
	kill.Flags().StringVar(&tenant, "tenant", "", "only this tenant")
	kill.Flags().StringVar(&feature, "feature", "", "only this feature")
	status := &cobra.Command{
		Use: "status", Short: "Kill switches in force", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withServices(cmd, func(ctx context.Context, svc *services) error {
				sw := incident.NewSwitches(svc.store, a.clk, a.log)
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
		},
	}
	cmd.AddCommand(kill, status)
	return cmd
}

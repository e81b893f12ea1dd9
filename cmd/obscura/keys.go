package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/obscuraproject/obscura/internal/operator"
	"github.com/obscuraproject/obscura/internal/wire"

	"github.com/spf13/cobra"

	"github.com/obscuraproject/obscura/internal/fault"
)

// cliActor is who acts in the operator service for a CLI command.
var cliActor = operator.By{Channel: operator.ChannelCLI, Actor: "cli"}

func (a *app) keysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage API keys and key-encryption-key versions"}
	var tenant string
	var scopes []string
	create := &cobra.Command{
		Use:   "create --tenant ID --scope SCOPE [--scope SCOPE]",
		Short: "Create an API key and print it once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(scopes) == 0 {
				return fault.New(fault.Invalid, "at least one --scope is required (admin, analyze, ingest)")
			}
			ss, err := operator.Scopes(scopes)
			if err != nil {
				return err
			}
			return a.withServices(cmd, func(ctx context.Context, svc *wire.Graph) error {
				plain, rec, err := svc.Operator.CreateKey(ctx, cliActor, tenant, ss)
				if err != nil {
					return err
				}
				return a.print(map[string]any{"key_id": rec.ID, "api_key": plain, "scopes": rec.Scopes},
					fmt.Sprintf("key_id:  %s\napi_key: %s\n(the API key is shown only this once)", rec.ID, plain))
			})
		},
	}
	create.Flags().StringVar(&tenant, "tenant", "", "tenant id")
	create.Flags().StringSliceVar(&scopes, "scope", nil, "scope: admin, analyze or ingest (repeatable)")
	create.MarkFlagRequired("tenant")

	var version int
	revoke := &cobra.Command{
		Use:   "revoke KEYID | revoke --tenant ID --version N",
		Short: "Revoke an API key, or disable a KEK version",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if (len(args) == 1) == (tenant != "" || version != 0) {
				return fault.New(fault.Invalid, "give either an API key id, or --tenant and --version")
			}
			svc, err := a.open(ctx)
			if err != nil {
				return err
			}
			defer svc.Close()
			if len(args) == 1 {
				k, err := svc.Store.APIKeyForAuth(ctx, args[0])
				if err != nil {
					return fmt.Errorf("api key %s: %w", args[0], err)
				}
				if _, err := svc.Operator.RevokeKey(ctx, cliActor, k.TenantID, k.ID); err != nil {
					return err
				}
				return a.print(map[string]string{"revoked": k.ID}, "revoked "+k.ID)
			}
			if err := svc.Operator.RevokeKEK(ctx, cliActor, tenant, version); err != nil {
				return fmt.Errorf("revoke key version %d: %w", version, err)
			}
			return a.print(map[string]any{"tenant_id": tenant, "revoked_version": version}, fmt.Sprintf("revoked key version %d", version))
		},
	}
	revoke.Flags().StringVar(&tenant, "tenant", "", "tenant id (with --version)")
	revoke.Flags().IntVar(&version, "version", 0, "KEK version to disable")

	list := a.serviceCmd("list --tenant ID", "List a tenant's API keys", func(ctx context.Context, svc *wire.Graph) error {
		if _, err := svc.Store.Tenant(ctx, tenant); err != nil {
			return fmt.Errorf("tenant %s: %w", tenant, err)
		}
		ks, err := svc.Store.APIKeys(ctx, tenant)
		if err != nil {
			return err
		}
		type row struct {
			KeyID   string   `json:"key_id"`
			Scopes  []string `json:"scopes"`
			Revoked bool     `json:"revoked"`
		}
		rows := make([]row, 0, len(ks))
		var b strings.Builder
		for _, k := range ks {
			rows = append(rows, row{k.ID, k.Scopes, k.Revoked()})
			fmt.Fprintf(&b, "%s  %-22s revoked=%v\n", k.ID, strings.Join(k.Scopes, ","), k.Revoked())
		}
		return a.print(map[string]any{"keys": rows}, strings.TrimRight(b.String(), "\n"))
	})
	list.Flags().StringVar(&tenant, "tenant", "", "tenant id")
	list.MarkFlagRequired("tenant")

	cmd.AddCommand(append([]*cobra.Command{create, revoke, list}, a.kekCmds()...)...)
	return cmd
}

// kekCmds are the key-encryption-key commands: rotate, rewrap, versions, min-version.
func (a *app) kekCmds() []*cobra.Command {
	var tenant string
	rotate := a.serviceCmd("rotate --tenant ID", "Create a new KEK version; new writes use it", func(ctx context.Context, svc *wire.Graph) error {
		v, err := svc.Operator.RotateKEK(ctx, cliActor, tenant)
		if err != nil {
			return fmt.Errorf("rotate: %w", err)
		}
		return a.print(map[string]any{"tenant_id": tenant, "version": v}, fmt.Sprintf("new key version %d", v))
	})
	rewrap := a.serviceCmd("rewrap --tenant ID", "Re-wrap keys under the newest KEK version (resumable)", func(ctx context.Context, svc *wire.Graph) error {
		bar := newProgress(a.stderr, "rewrap")
		n, err := svc.Operator.Rewrap(ctx, cliActor, tenant, bar.update)
		bar.finish()
		if err != nil {
			return fmt.Errorf("rewrap (run again to resume): %w", err)
		}
		return a.print(map[string]any{"tenant_id": tenant, "rewrapped": n}, fmt.Sprintf("rewrapped %d keys", n))
	})
	versions := a.serviceCmd("versions --tenant ID", "List KEK versions", func(ctx context.Context, svc *wire.Graph) error {
		vs, err := svc.Keys.Versions(ctx, tenant)
		if err != nil {
			return fmt.Errorf("tenant %s: %w", tenant, err)
		}
		var b strings.Builder
		for _, v := range vs {
			fmt.Fprintf(&b, "v%d  %-8s primary=%v usable=%v\n", v.Version, v.State, v.Primary, v.Usable)
		}
		return a.print(map[string]any{"versions": vs}, strings.TrimRight(b.String(), "\n"))
	})
	minVersion := &cobra.Command{
		Use: "min-version --tenant ID N", Short: "Make every KEK version below N unusable", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[0])
			if err != nil {
				return fault.New(fault.Invalid, "N must be a number")
			}
			return a.withServices(cmd, func(ctx context.Context, svc *wire.Graph) error {
				if err := svc.Operator.SetMinVersion(ctx, cliActor, tenant, n); err != nil {
					return err
				}
				return a.print(map[string]any{"tenant_id": tenant, "min_version": n}, fmt.Sprintf("minimum decryption version %d", n))
			})
		},
	}
	cmds := []*cobra.Command{rotate, rewrap, versions, minVersion}
	for _, c := range cmds {
		c.Flags().StringVar(&tenant, "tenant", "", "tenant id")
		c.MarkFlagRequired("tenant")
	}
	return cmds
}

package main

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/web/console"
	"github.com/obscuraproject/obscura/internal/wire"
)

func (a *app) consoleCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "console", Short: "The web operator console"}
	var addr string
	link := a.serviceCmd("link [--addr HOST:PORT]", "Print a single-use link (5 minutes) that opens the operator console for the whole installation", func(ctx context.Context, svc *wire.Graph) error {
		tok, id, exp, err := console.IssueConsoleLink(ctx, svc.Tokens, svc.Store, a.clk.Now())
		if err != nil {
			return err
		}
		if err := a.record(ctx, svc, audit.Entry{Action: "cli.console.link", Actor: id}); err != nil {
			return err
		}
		if addr == "" {
			addr = a.cfg.Addr
		}
		url := "http://" + consoleHost(addr) + "/console/open/" + tok
		return a.print(map[string]any{"url": url, "expires_at": exp},
			fmt.Sprintf("%s\n(single use; expires %s; it signs in as the installation operator: keep it to yourself)", url, exp.Format("15:04:05 MST")))
	})
	link.Flags().StringVar(&addr, "addr", "", "the server's address, for the link (default: the configured listen address)")
	signOut := a.serviceCmd("sign-out", "End every installation operator's console session at once, and void unused console links", func(ctx context.Context, svc *wire.Graph) error {
		n, err := svc.Store.RevokeConsoleLinks(ctx, a.clk.Now())
		if err != nil {
			return err
		}
		if err := a.record(ctx, svc, audit.Entry{Action: "cli.console.sign_out", Detail: strconv.Itoa(n)}); err != nil {
			return err
		}
		return a.print(map[string]any{"revoked": n}, fmt.Sprintf("revoked %d console links and the sessions they opened", n))
	})
	cmd.AddCommand(link, signOut)
	return cmd
}

// consoleHost is where a browser on this machine reaches the server
// listening on addr.
func consoleHost(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

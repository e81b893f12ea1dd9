package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/plugin"
	"github.com/obscuraproject/obscura/internal/wire"
)

// maxPluginFile bounds what the plugin commands read from a file.
const maxPluginFile = 32 << 20

func (a *app) pluginCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "plugin", Short: "WebAssembly plugins: trust publishers, install, list, remove (docs/spec/plugin-v1.md)"}
	var publisher, keyFile string
	trust := &cobra.Command{
		Use: "trust --publisher NAME --key FILE", Short: "Trust a publisher's Ed25519 public key (PEM PUBLIC KEY)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := readFileMax(keyFile, maxPluginFile)
			if err != nil {
				return err
			}
			pub, err := plugin.ParsePublicKey(b)
			if err != nil {
				return err
			}
			return a.withServices(cmd, func(ctx context.Context, svc *wire.Graph) error {
				if publisher == plugin.BuiltinPublisher {
					return fault.New(fault.Invalid, "publisher "+plugin.BuiltinPublisher+" is this installation's own")
				}
				if err := svc.Plugins.Trust(ctx, publisher, pub); err != nil {
					return err
				}
				if err := a.record(ctx, svc, audit.Entry{Action: "cli.plugin.trust", Model: publisher}); err != nil {
					return err
				}
				return a.print(map[string]string{"publisher": publisher}, "trusted publisher "+publisher)
			})
		},
	}
	trust.Flags().StringVar(&publisher, "publisher", "", "publisher name, as in its manifests")
	trust.Flags().StringVar(&keyFile, "key", "", "the publisher's public key file")
	_ = trust.MarkFlagRequired("publisher")
	_ = trust.MarkFlagRequired("key")

	var manifestFile string
	install := &cobra.Command{
		Use: "install FILE.wasm --manifest FILE.json", Short: "Verify and install a signed plugin", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			wasm, err := readFileMax(args[0], maxPluginFile)
			if err != nil {
				return err
			}
			mf, err := readFileMax(manifestFile, maxPluginFile)
			if err != nil {
				return err
			}
			return a.withServices(cmd, func(ctx context.Context, svc *wire.Graph) error {
				m, err := svc.Plugins.Install(ctx, wasm, mf)
				if err != nil {
					return err
				}
				return a.print(m, fmt.Sprintf("installed %s %s (publisher %s, sha256 %s)", m.Name, m.Version, m.Publisher, m.SHA256[:16]))
			})
		},
	}
	install.Flags().StringVar(&manifestFile, "manifest", "", "the signed manifest file")
	_ = install.MarkFlagRequired("manifest")

	list := a.serviceCmd("list", "List installed plugins", func(ctx context.Context, svc *wire.Graph) error {
		ms, err := svc.Plugins.List(ctx)
		if err != nil {
			return err
		}
		lines := []string{}
		for _, m := range ms {
			caps := strings.Join(m.Capabilities, ",")
			if caps == "" {
				caps = "-"
			}
			lines = append(lines, fmt.Sprintf("%s\t%s\t%s\t%s", m.Name, m.Version, m.Publisher, caps))
		}
		if len(lines) == 0 {
			lines = append(lines, "no plugins installed")
		}
		if ms == nil {
			ms = []plugin.Manifest{}
		}
		return a.print(ms, strings.Join(lines, "\n"))
	})
	remove := &cobra.Command{
		Use: "remove NAME", Short: "Uninstall a plugin (to only disable it: incident kill-switch on --feature plugin:NAME)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withServices(cmd, func(ctx context.Context, svc *wire.Graph) error {
				if err := svc.Plugins.Remove(ctx, args[0]); err != nil {
					return fmt.Errorf("plugin %s: %w", args[0], err)
				}
				return a.print(map[string]string{"removed": args[0]}, "removed "+args[0])
			})
		},
	}

	var pubOut, privOut string
	keygen := &cobra.Command{
		Use: "keygen --private FILE --public FILE", Short: "For publishers: make an Ed25519 signing key pair (PEM)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pub, priv, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				return err
			}
			der, err := x509.MarshalPKCS8PrivateKey(priv)
			if err != nil {
				return err
			}
			f, err := os.OpenFile(privOut, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return err
			}
			if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			if err := os.WriteFile(pubOut, plugin.MarshalPublicKey(pub), 0o644); err != nil {
				return err
			}
			return a.print(map[string]string{"public": pubOut, "private": privOut}, "wrote "+privOut+" (keep it secret) and "+pubOut)
		},
	}
	keygen.Flags().StringVar(&privOut, "private", "", "private key file to create (0600)")
	keygen.Flags().StringVar(&pubOut, "public", "", "public key file to write")
	_ = keygen.MarkFlagRequired("private")
	_ = keygen.MarkFlagRequired("public")

	var out string
	sign := &cobra.Command{
		Use:   "sign FILE.wasm --manifest TEMPLATE.json --key PRIVATE.pem --out FILE.json",
		Short: "For publishers: sign a manifest (its sha256 is set from the module)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			wasm, err := readFileMax(args[0], maxPluginFile)
			if err != nil {
				return err
			}
			tb, err := readFileMax(manifestFile, maxPluginFile)
			if err != nil {
				return err
			}
			var m plugin.Manifest
			if err := json.Unmarshal(tb, &m); err != nil {
				return fault.New(fault.Invalid, "manifest template is not a manifest object")
			}
			kb, err := readFileMax(keyFile, maxPluginFile)
			if err != nil {
				return err
			}
			blk, _ := pem.Decode(kb)
			if blk == nil || blk.Type != "PRIVATE KEY" {
				return fault.New(fault.Invalid, "key must be a PEM PRIVATE KEY")
			}
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			priv, ok := k.(ed25519.PrivateKey)
			if err != nil || !ok {
				return fault.New(fault.Invalid, "key is not an Ed25519 private key")
			}
			m.SHA256 = plugin.SHA256Hex(wasm)
			file, err := plugin.Sign(m, plugin.KeySigner(priv))
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, file, 0o644); err != nil {
				return err
			}
			return a.print(map[string]string{"manifest": out}, "signed "+m.Name+" "+m.Version+" into "+out)
		},
	}
	sign.Flags().StringVar(&manifestFile, "manifest", "", "manifest template (JSON)")
	sign.Flags().StringVar(&keyFile, "key", "", "the publisher's private key (PEM)")
	sign.Flags().StringVar(&out, "out", "", "signed manifest file to write")
	for _, f := range []string{"manifest", "key", "out"} {
		_ = sign.MarkFlagRequired(f)
	}
	cmd.AddCommand(trust, install, list, remove, keygen, sign)
	return cmd
}

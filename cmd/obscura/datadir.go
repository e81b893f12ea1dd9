package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/obscuraproject/obscura/internal/keyring/rootkey"
	"github.com/obscuraproject/obscura/internal/wire"
)

// dbFile is the installation's metadata database inside the data dir: its
// presence is what makes a directory an installation.
const dbFile = "obscura.db"

// errNoInstallation: the data dir holds no installation. Only `obscura
// serve` and `obscura init` create one; every other command refuses, so a
// CLI pointed at the wrong directory never makes a second installation with
// its own master key.
var errNoInstallation = errors.New("no Obscura installation")

// checkInstallation returns nil when the data dir holds an installation, or
// when create is set (serve, init). Otherwise it names the directory and
// says how to point at the right one.
func (a *app) checkInstallation(create bool) error {
	if a.cfg.DatabaseURL != "" {
		// The installation is the Postgres database; a data dir with the
		// wrong master key fails to open its system keyset (keyring).
		return nil
	}
	_, err := os.Stat(filepath.Join(a.cfg.Data, dbFile))
	switch {
	case err == nil || create:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w in %s: start the server there first (`make run` or `obscura serve`), "+
			"or point at the server's data directory with --data or OBSCURA_DATA", errNoInstallation, a.cfg.Data)
	default:
		return fmt.Errorf("data dir %s: %w", a.cfg.Data, err)
	}
}

func (a *app) initCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Create an installation in the data directory (serve does this on first start)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := os.Stat(filepath.Join(a.cfg.Data, dbFile))
			existed := err == nil
			a.install = true
			return a.withServices(cmd, func(ctx context.Context, _ *wire.Graph) error {
				state := "created"
				if existed {
					state = "existing"
				}
				out := map[string]string{"data": a.cfg.Data, "installation": state}
				text := fmt.Sprintf("%s installation in %s", state, a.cfg.Data)
				if (a.cfg.KMS == "" || a.cfg.KMS == "local") && a.getenv("OBSCURA_MASTER_KEY") == "" {
					out["master_key"] = filepath.Join(a.cfg.Data, rootkey.MasterKeyFile)
					text += "\nmaster key: " + out["master_key"] + " (back it up: without it nothing stored can be decrypted)"
				}
				return a.print(out, text)
			})
		},
	}
}

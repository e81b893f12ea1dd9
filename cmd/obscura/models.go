package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/obscuraproject/obscura/internal/models"
	"github.com/obscuraproject/obscura/internal/models/convert/faceid"
	"github.com/obscuraproject/obscura/internal/models/convert/tfjs"
)

// converters are the tools the manifest's derived files name.
func converters() map[string]models.Converter {
	return map[string]models.Converter{
		"tfjs-graph": func(_ context.Context, src [][]byte, opts json.RawMessage) ([]byte, error) {
			var o struct {
				Name    string        `json:"name"`
				Outputs []tfjs.Output `json:"outputs"`
			}
			if err := json.Unmarshal(opts, &o); err != nil || len(src) < 2 {
				return nil, fmt.Errorf("tfjs-graph: options %s, %d sources: %w", opts, len(src), models.ErrUnknown)
			}
			var shards []byte
			for _, s := range src[1:] {
				shards = append(shards, s...)
			}
			return tfjs.ConvertGraph(o.Name, src[0], shards, o.Outputs)
		},
		"tfjs-layers-module": func(_ context.Context, src [][]byte, opts json.RawMessage) ([]byte, error) {
			var o struct {
				Name   string `json:"name"`
				Output string `json:"output"`
			}
			if err := json.Unmarshal(opts, &o); err != nil || len(src) < 2 || o.Output == "" {
				return nil, fmt.Errorf("tfjs-layers-module: options %s, %d sources: %w", opts, len(src), models.ErrUnknown)
			}
			topology, err := tfjs.ModuleJSON(src[0])
			if err != nil {
				return nil, err
			}
			var shards []byte
			for _, s := range src[1:] {
				b, err := tfjs.ModuleBase64(s)
				if err != nil {
					return nil, err
				}
				shards = append(shards, b...)
			}
			return tfjs.ConvertLayers(o.Name, topology, shards, o.Output)
		},
		"faceid": func(_ context.Context, src [][]byte, _ json.RawMessage) ([]byte, error) {
			if len(src) != 2 {
				return nil, fmt.Errorf("faceid: %d sources: %w", len(src), models.ErrUnknown)
			}
			return faceid.Build(src[0], src[1])
		},
	}
}

func (a *app) modelsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "models", Short: "The pinned model supply chain"}
	var dir string
	dirOf := func() string {
		if dir != "" {
			return dir
		}
		return models.DefaultDir(a.getenv)
	}
	fetch := &cobra.Command{
		Use: "fetch [--dir DIR]", Short: "Download, verify and install every pinned model and runtime file", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d := dirOf()
			client := &http.Client{Timeout: 10 * time.Minute}
			err := models.Pinned().Fetch(cmd.Context(), client, d+"/.cache", d, converters(), func(msg string) { fmt.Fprintln(a.stderr, "models:", msg) })
			if err != nil {
				return err
			}
			return a.print(map[string]any{"dir": d, "ok": true}, "models: all pinned files present and verified in "+d)
		},
	}
	verify := &cobra.Command{
		Use: "verify [--dir DIR]", Short: "Check every pinned file against its SHA-256", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sts, err := models.Pinned().Verify(dirOf())
			var b strings.Builder
			fmt.Fprintf(&b, "%-34s %-26s %-6s %s\n", "file", "package", "ok", "sha256")
			for _, s := range sts {
				fmt.Fprintf(&b, "%-34s %-26s %-6v %s %s\n", s.Name, s.Package, s.OK, s.SHA256[:16]+"…", s.Problem)
			}
			if perr := a.print(map[string]any{"files": sts}, strings.TrimRight(b.String(), "\n")); perr != nil {
				return perr
			}
			return err
		},
	}
	for _, c := range []*cobra.Command{fetch, verify} {
		c.Flags().StringVar(&dir, "dir", "", "models directory (env OBSCURA_MODELS; default ~/.cache/obscura/models)")
	}
	cmd.AddCommand(fetch, verify)
	return cmd
}

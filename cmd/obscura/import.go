package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/obscuraproject/obscura/internal/analysis"
	"github.com/obscuraproject/obscura/internal/api"
	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/jobs"
	"github.com/obscuraproject/obscura/internal/upload"
	"github.com/obscuraproject/obscura/internal/wire"
)

// importCmd imports a folder through the same pipeline as uploads. A journal
// of keyed hashes of imported content (never file names or pixels) makes it
// resumable: a re-run skips what is already in.
func (a *app) importCmd() *cobra.Command {
	var tenant, subject, analyze string
	var insecure bool
	cmd := &cobra.Command{
		Use:   "import DIR --tenant ID --subject S [--analyze faces,tags,sensitive,text]",
		Short: "Import a folder of photos (sanitized, encrypted); resumable",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := upload.ValidSubject(subject); err != nil {
				return err
			}
			var files []string
			err := filepath.WalkDir(args[0], func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.Type().IsRegular() {
					files = append(files, p)
				}
				return nil
			})
			if err != nil {
				return fault.Wrap(fault.Invalid, "cannot read import directory", err)
			}
			sort.Strings(files)
			var features []string
			if analyze != "" {
				features = strings.Split(analyze, ",")
				if err := analysis.CheckFeatures(features); err != nil {
					return err
				}
			}
			// Photos are sanitized (and rotated) in a sandboxed worker.
			pool, err := a.startPool(cmd.Context(), 1, false, insecure)
			if err != nil {
				return err
			}
			defer pool.Close()
			return a.withServices(cmd, func(ctx context.Context, svc *wire.Graph) error {
				svc.Uploads.WithSanitizer(pool)
				var queue *jobs.Queue
				if features != nil {
					q, err := svc.Queue(ctx, false)
					if err != nil {
						return err
					}
					defer q.Close(ctx)
					queue = q
				}
				var queued []string
				if _, err := svc.Store.Tenant(ctx, tenant); err != nil {
					return fmt.Errorf("tenant %s: %w", tenant, err)
				}
				ing := svc.Uploads

				journalPath := filepath.Join(a.cfg.Data, "import.journal")
				done := map[string]bool{}
				if f, err := os.Open(journalPath); err == nil {
					sc := bufio.NewScanner(f)
					for sc.Scan() {
						done[sc.Text()] = true
					}
					f.Close()
				}
				journal, err := os.OpenFile(journalPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
				if err != nil {
					return err
				}
				defer journal.Close()

				type skipped struct {
					File string `json:"file"`
					Code string `json:"code"`
				}
				var imported, already int
				var skips []skipped
				bar := newProgress(a.stderr, "import")
				for i, p := range files {
					bar.update(i, len(files))
					data, err := os.ReadFile(p)
					if err != nil {
						skips = append(skips, skipped{p, "unreadable"})
						continue
					}
					sum := sha256.Sum256(data)
					mark := svc.Keys.HashID("import", tenant+"\x00"+svc.Keys.SubjectHash(subject)+"\x00"+hex.EncodeToString(sum[:]))
					if done[mark] {
						already++
						continue
					}
					as, err := ing.Ingest(ctx, tenant, subject, data)
					if err != nil {
						prob := api.ProblemFor(err)
						if prob.Status >= 500 {
							return fmt.Errorf("import stopped at %s (run again to resume): %w", p, err)
						}
						skips = append(skips, skipped{p, prob.Code})
						continue
					}
					if _, err := journal.WriteString(mark + "\n"); err != nil {
						return err
					}
					if err := journal.Sync(); err != nil {
						return err
					}
					done[mark] = true
					imported++
					if queue != nil {
						// Consent is checked when the job runs (in obscura serve).
						j, err := queue.EnqueueAnalyze(ctx, jobs.AnalyzeArgs{Tenant: tenant, AssetID: as.ID, Features: features})
						if err != nil {
							return fmt.Errorf("queue analysis of %s: %w", p, err)
						}
						queued = append(queued, j.ID)
					}
				}
				bar.update(len(files), len(files))
				bar.finish()
				var b strings.Builder
				fmt.Fprintf(&b, "imported %d, already imported %d, skipped %d", imported, already, len(skips))
				if queue != nil {
					fmt.Fprintf(&b, ", queued %d analyses (obscura serve runs them; GET /v1/jobs/{id})", len(queued))
				}
				for _, s := range skips {
					fmt.Fprintf(&b, "\nskipped %s: %s", s.File, s.Code)
				}
				if skips == nil {
					skips = []skipped{}
				}
				if err := a.record(ctx, svc, audit.Entry{Action: "cli.import", Tenant: tenant, Subject: svc.Keys.SubjectHash(subject), Detail: strconv.Itoa(imported)}); err != nil {
					return err
				}
				if queued == nil {
					queued = []string{}
				}
				return a.print(map[string]any{"imported": imported, "already": already, "skipped": skips, "jobs": queued}, b.String())
			})
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "tenant id")
	cmd.Flags().StringVar(&subject, "subject", "", "subject id the photos belong to (stored only as a keyed hash)")
	cmd.Flags().StringVar(&analyze, "analyze", "", "queue an analysis of each imported photo with these features")
	insecureFlag(cmd, &insecure)
	cmd.MarkFlagRequired("tenant")
	cmd.MarkFlagRequired("subject")
	return cmd
}

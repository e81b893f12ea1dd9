package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/obscuraproject/obscura/internal/sandbox"
	"github.com/obscuraproject/obscura/internal/vision"
)

// exitError carries a specific exit code.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

// maxImageFile bounds a file the CLI reads for analysis.
const maxImageFile = 64 << 20

// openEngine starts one sandboxed worker with the models for the local
// analysis commands: files from disk are untrusted bytes too.
func (a *app) openEngine(ctx context.Context, insecure bool) (*sandbox.Pool, error) {
	return a.startPool(ctx, 1, true, insecure)
}

// visionThreads is the configured per-session thread count.
func (a *app) visionThreads() int {
	if n := a.cfg.VisionThreads; n > 0 {
		return n
	}
	return min(runtime.NumCPU(), 4)
}

func (a *app) analyzeCmd() *cobra.Command {
	var features string
	var insecure bool
	cmd := &cobra.Command{
		Use:   "analyze [--features faces,tags,sensitive,text] [--json] FILE...",
		Short: "Analyze local image files (writes nothing)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			fs := strings.Split(features, ",")
			if err := vision.CheckFeatures(fs); err != nil {
				return err
			}
			eng, err := a.openEngine(cmd.Context(), insecure)
			if err != nil {
				return err
			}
			defer eng.Close()
			var firstErr error
			for _, f := range files {
				data, err := readFileMax(f, maxImageFile)
				var res *vision.Result
				if err == nil {
					res, err = eng.Analyze(cmd.Context(), data, fs)
				}
				if err != nil {
					err = fmt.Errorf("%s: %w", f, err)
					fmt.Fprintf(a.stderr, "obscura: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
					if firstErr == nil {
						firstErr = err
					}
					continue
				}
				if a.jsonOut {
					out := struct {
						File string `json:"file"`
						*vision.Result
					}{f, res}
					b, _ := json.Marshal(out)
					fmt.Fprintln(a.stdout, string(b))
					continue
				}
				fmt.Fprintf(a.stdout, "%s: %dx%d, %d faces", f, res.Width, res.Height, len(res.Faces))
				for _, t := range res.Tags {
					fmt.Fprintf(a.stdout, ", %s %.2f", t.Label, t.Score)
				}
				if res.Sensitive != nil {
					fmt.Fprintf(a.stdout, ", sensitive: %s", res.Sensitive.Label)
				}
				for _, t := range res.Text {
					fmt.Fprintf(a.stdout, ", text %q", t.Text)
				}
				fmt.Fprintln(a.stdout)
			}
			if firstErr != nil {
				return exitError{code: 1, err: errAlreadyReported}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&features, "features", strings.Join(vision.Features, ","), "comma-separated: "+strings.Join(vision.Features, ", "))
	insecureFlag(cmd, &insecure)
	return cmd
}

// errAlreadyReported marks an error whose lines are already on stderr.
var errAlreadyReported = errors.New("some files could not be analyzed")

func (a *app) facesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "faces", Short: "Face tools for local files (write nothing)"}
	var pairs string
	var insecure bool
	compare := &cobra.Command{
		Use:   "compare [--json] (A B | --pairs FILE)",
		Short: "Compare the largest face of two images",
		RunE: func(cmd *cobra.Command, args []string) error {
			if (pairs == "") != (len(args) == 2) || (pairs != "" && len(args) != 0) {
				return errors.New("give two image files, or --pairs FILE with two tab-separated paths per line")
			}
			eng, err := a.openEngine(cmd.Context(), insecure)
			if err != nil {
				return err
			}
			defer eng.Close()
			embed := func(path string) ([]float32, error) {
				data, err := readFileMax(path, maxImageFile)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", path, err)
				}
				v, err := eng.Largest(cmd.Context(), data)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", path, err)
				}
				return v, nil
			}
			if pairs == "" {
				va, err := embed(args[0])
				if err == nil {
					var vb []float32
					vb, err = embed(args[1])
					if err == nil {
						m := vision.Compare(va, vb)
						return a.print(m, compareLine(m))
					}
				}
				if errors.Is(err, vision.ErrNoFace) {
					return exitError{code: 3, err: err}
				}
				return err
			}
			f, err := os.Open(pairs)
			if err != nil {
				return err
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			line := 0
			for sc.Scan() {
				line++
				text := strings.TrimRight(sc.Text(), "\r")
				if strings.TrimSpace(text) == "" {
					continue
				}
				out := map[string]any{}
				ab := strings.Split(text, "\t")
				if len(ab) != 2 {
					out["line"] = line
					out["error"] = "want two tab-separated paths"
				} else {
					out["a"], out["b"] = ab[0], ab[1]
					va, err := embed(ab[0])
					var vb []float32
					if err == nil {
						vb, err = embed(ab[1])
					}
					if err != nil {
						out["error"] = err.Error()
					} else {
						m := vision.Compare(va, vb)
						out["similarity"], out["threshold"], out["unsure_threshold"], out["decision"], out["match"] = m.Similarity, m.Threshold, m.UnsureThreshold, m.Decision, m.Match
					}
				}
				if a.jsonOut {
					b, _ := json.Marshal(out)
					fmt.Fprintln(a.stdout, string(b))
				} else if e, ok := out["error"]; ok {
					fmt.Fprintf(a.stdout, "line %d: error: %v\n", line, e)
				} else {
					fmt.Fprintf(a.stdout, "%s\t%s\tsimilarity %.2f %v match %v\n", out["a"], out["b"], out["similarity"], out["decision"], out["match"])
				}
			}
			return sc.Err()
		},
	}
	compare.Flags().StringVar(&pairs, "pairs", "", "file of tab-separated image pairs, one per line")
	insecureFlag(compare, &insecure)
	cmd.AddCommand(compare, a.calibrateCmd())
	return cmd
}

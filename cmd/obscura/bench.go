package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/obscuraproject/obscura/internal/models"
	"github.com/obscuraproject/obscura/internal/perf/featurebench"
	"github.com/obscuraproject/obscura/internal/perf/mediabench"
	"github.com/obscuraproject/obscura/internal/perf/serverbench"
	"github.com/obscuraproject/obscura/internal/vision"
	"github.com/obscuraproject/obscura/internal/wire"
)

// benchSections are what `obscura bench` can measure, in run order.
var benchSections = []string{"storage", "ingest", "api", "vision", "analysis", "memes", "guard", "fl", "plugins", "analytics", "sandbox", "provenance", "pipeline", "import", "store", "writer"}

func (a *app) benchCmd() *cobra.Command {
	var quick bool
	var reps int
	cmd := &cobra.Command{
		Use:   "bench [storage|ingest|api|vision|analysis|memes|guard|fl|plugins|analytics|sandbox|provenance|pipeline|import|store|writer]...",
		Short: "Measure hot paths against baselines in the same run and print ratios",
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, s := range args {
				if !slices.Contains(benchSections, s) {
					return fmt.Errorf("unknown bench section %q (choose from %s)", s, strings.Join(benchSections, ", "))
				}
			}
			want := func(s string) bool { return len(args) == 0 || slices.Contains(args, s) }
			out := map[string]any{}
			var b strings.Builder
			dir, err := os.MkdirTemp(a.cfg.Data, "bench-")
			if err != nil {
				if err := os.MkdirAll(a.cfg.Data, 0o700); err != nil {
					return err
				}
				if dir, err = os.MkdirTemp(a.cfg.Data, "bench-"); err != nil {
					return err
				}
			}
			defer os.RemoveAll(dir)
			sizes := serverbench.Sizes
			if quick {
				sizes = sizes[:2]
			}
			if want("storage") {
				fmt.Fprintln(a.stderr, "benchmarking storage (encrypt+store, load+decrypt) on", a.cfg.Data, "…")
				rows, err := serverbench.RunStorage(cmd.Context(), dir, sizes)
				if err != nil {
					return err
				}
				out["storage"] = rows
				fmt.Fprintf(&b, "%-4s %9s %12s %14s %13s %18s\n", "op", "size", "sealed MB/s", "raw-GCM MB/s", "raw-file MB/s", "vs slower baseline")
				for _, r := range rows {
					fmt.Fprintf(&b, "%-4s %9s %12.0f %14.0f %13.0f %17.0f%%\n", r.Op, sizeName(r.Size), r.Ours, r.RawGCM, r.RawFile, 100*r.VsSlower)
				}
			}
			if want("ingest") {
				fmt.Fprintln(a.stderr, "benchmarking ingest of a 12 MP JPEG (sniff + sanitize + encrypt + store) …")
				ing, err := mediabench.RunIngest(cmd.Context(), dir)
				if err != nil {
					return err
				}
				out["ingest"] = ing
				fmt.Fprintf(&b, "\n%-32s %12s %22s\n", "ingest case", "ms/photo", "vs decode+encode")
				for _, r := range ing {
					fmt.Fprintf(&b, "%-32s %12.1f %21.1fx\n", r.Case, r.MsPerPhoto, r.VsBaseline)
				}
			}
			if want("api") {
				fmt.Fprintln(a.stderr, "benchmarking the API stack against bare net/http …")
				apiRows, ratio, err := serverbench.RunAPI(cmd.Context(), dir)
				if err != nil {
					return err
				}
				out["api"], out["api_ratio"] = apiRows, ratio
				fmt.Fprintf(&b, "\n%-20s %12s %10s\n", "api case", "req/s", "p99 µs")
				for _, r := range apiRows {
					fmt.Fprintf(&b, "%-20s %12.0f %10.0f\n", r.Case, r.ReqPerSec, r.P99us)
				}
				fmt.Fprintf(&b, "api stack throughput: %.1f%% of bare net/http\n", 100*ratio)
			}
			if want("vision") {
				fmt.Fprintln(a.stderr, "benchmarking the vision path against bare ONNX Runtime sessions …")
				vis, err := mediabench.RunVision(cmd.Context(), models.DefaultDir(a.getenv), 2)
				if err != nil {
					return err
				}
				out["vision"] = vis
				fmt.Fprintf(&b, "\n%-26s %10s %10s %10s\n", "vision case (2 threads)", "obscura ms", "bare ms", "overhead")
				for _, r := range vis {
					fmt.Fprintf(&b, "%-26s %10.1f %10.1f %9.0f%%\n", r.Case, r.OursMs, r.BareMs, 100*r.Overhead)
				}
			}
			if want("analysis") {
				fmt.Fprintln(a.stderr, "benchmarking analysis through the HTTP API against the same analysis in process …")
				mdir := models.DefaultDir(a.getenv)
				eng, err := vision.Open(models.Pinned(), mdir, vision.Options{Threads: 2})
				if err != nil {
					return err
				}
				defer eng.Close()
				photo, err := models.Pinned().Load(mdir, "sample5.jpg")
				if err != nil {
					return err
				}
				row, err := mediabench.RunAnalysis(cmd.Context(), dir, eng, photo)
				if err != nil {
					return err
				}
				out["analysis"] = row
				fmt.Fprintf(&b, "\nanalysis (faces, tags, sensitive; sample5.jpg, 2 threads): HTTP %.1f ms, in process %.1f ms, ratio %.2f\n", row.HTTPMs, row.InProcessMs, row.Ratio)
			}
			if want("plugins") {
				wasm, err := os.ReadFile(filepath.Join(wire.PluginDir(a.getenv), "face-blur.wasm"))
				if err != nil {
					return fmt.Errorf("face-blur plugin not built (run scripts/setup.sh): %w", err)
				}
				fmt.Fprintln(a.stderr, "benchmarking face-blur on a 12 MP photo in the WebAssembly sandbox against native Go …")
				row, err := featurebench.RunPlugins(cmd.Context(), dir, wasm)
				if err != nil {
					return err
				}
				out["plugins"] = row
				fmt.Fprintf(&b, "\nplugins (face-blur, 12 MP, 12 faces): sandbox %.1f ms, native %.1f ms, ratio %.1f; compile first %.0f ms, cached %.0f ms\n",
					row.SandboxMs, row.NativeMs, row.Ratio, row.CompileFirstMs, row.CompileCachedMs)
			}
			if want("fl") {
				ns := []int{10, 50, 200}
				if quick {
					ns = ns[:2]
				}
				fmt.Fprintln(a.stderr, "benchmarking secure-aggregation rounds against a plain sum of the same vectors …")
				rows, err := featurebench.RunSecAgg(ns, featurebench.SecAggLength)
				if err != nil {
					return err
				}
				out["fl"] = rows
				fmt.Fprintf(&b, "\n%-28s %10s %10s %10s %12s %10s\n", "secure aggregation (9,315)", "round ms", "server ms", "client ms", "plain sum ms", "server ×")
				for _, r := range rows {
					fmt.Fprintf(&b, "%-28s %10.0f %10.0f %10.1f %12.2f %9.0fx\n", fmt.Sprintf("%d clients", r.Clients), r.RoundMs, r.ServerMs, r.ClientMs, r.PlainSumMs, r.ServerX)
				}
			}
			if want("memes") {
				if err := a.benchMemes(cmd.Context(), dir, out, &b); err != nil {
					return err
				}
			}
			if want("guard") {
				if err := a.benchGuard(cmd.Context(), out, &b); err != nil {
					return err
				}
			}
			if want("analytics") {
				fmt.Fprintln(a.stderr, "benchmarking a differentially private query over 100k contributions against the exact count …")
				rows, ratio, err := featurebench.RunAnalytics(cmd.Context(), dir)
				if err != nil {
					return err
				}
				out["analytics"], out["analytics_ratio"] = rows, ratio
				fmt.Fprintf(&b, "\n%-28s %16s\n", "analytics case", "measured")
				for _, r := range rows {
					if r.Ms > 0 {
						fmt.Fprintf(&b, "%-28s %13.1f ms\n", r.Case, r.Ms)
					} else {
						fmt.Fprintf(&b, "%-28s %14.0f /s\n", r.Case, r.PerS)
					}
				}
				fmt.Fprintf(&b, "dp query (tag_counts, 100k contributions): %.2fx the exact count without noise\n", ratio)
			}
			if want("sandbox") {
				fmt.Fprintln(a.stderr, "benchmarking the sandboxed workers against the same work in process and bare ONNX Runtime …")
				rep, err := a.benchSandbox(cmd.Context())
				if err != nil {
					return err
				}
				out["sandbox"] = rep
				fmt.Fprintf(&b, "\n%-32s %10s\n", "sandbox case (2 threads)", "ms")
				for _, r := range rep.Rows {
					fmt.Fprintf(&b, "%-32s %10.1f\n", r.Case, r.Ms)
				}
				fmt.Fprintf(&b, "sandboxed analyze: %.2fx in process, %.2fx bare models + one scaled decode; sandboxed sanitize: %.2fx in process\n",
					rep.AnalyzeVsInProcess, rep.AnalyzeVsBare, rep.IngestVsInProcess)
			}
			if want("pipeline") {
				if err := a.benchPipeline(cmd.Context(), quick, out, &b); err != nil {
					return err
				}
			}
			if want("import") {
				if err := a.benchImport(cmd.Context(), quick, reps, dir, out, &b); err != nil {
					return err
				}
			}
			if want("provenance") {
				fmt.Fprintln(a.stderr, "benchmarking provenance of a 12 MP image (C2PA sign+embed, watermark embed/detect) against one JPEG encode …")
				rows, err := featurebench.RunProvenance(cmd.Context(), dir)
				if err != nil {
					return err
				}
				out["provenance"] = rows
				fmt.Fprintf(&b, "\n%-26s %10s %18s\n", "provenance case (12 MP)", "ms", "x one JPEG encode")
				for _, r := range rows {
					fmt.Fprintf(&b, "%-26s %10.1f %17.2fx\n", r.Case, r.Ms, r.VsEncode)
				}
			}
			if want("store") {
				if err := a.benchStore(cmd.Context(), dir, out, &b); err != nil {
					return err
				}
			}
			if want("writer") {
				fmt.Fprintln(a.stderr, "benchmarking the SQLite writer's interactive lane under 4 saturating background writers (2×5 s) …")
				r, err := serverbench.RunWriterLanes(cmd.Context(), dir, 4, 5*time.Second)
				if err != nil {
					return err
				}
				out["writer"] = r
				fmt.Fprintf(&b, "\nwriter: interactive write p50 %.1f ms p99 %.1f ms in its lane; one queue (baseline) p50 %.1f ms p99 %.1f ms; p99 %.2fx faster\n",
					r.LaneP50ms, r.LaneP99ms, r.BaseP50ms, r.BaseP99ms, r.P99Speedup)
			}
			return a.print(out, strings.TrimSpace(b.String()))
		},
	}
	cmd.Flags().BoolVar(&quick, "quick", false, "skip the 64 MiB size and the 200-client secure-aggregation round")
	cmd.Flags().IntVar(&reps, "reps", 0, "import: measured runs per configuration, interleaved ABBA (default 3, 2 with --quick)")
	return cmd
}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}

// Package visiontest holds what the vision packages' tests share: loading
// the pinned runtime and models, the annotated sample photos, and golden
// files that record what the original runtime (TF.js in node, run by
// tools/golden) outputs for the same input tensor.
//
// A golden file stores the SHA-256 of the input tensor it was made from,
// the output shapes, and a deterministic sample of output values (every
// k-th element plus the largest ones). When preprocessing changes, the
// input hash no longer matches and the test says so; `make goldens`
// regenerates the files (it needs node and tools/golden's npm packages;
// make test does not).
package visiontest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/obscuraproject/obscura/internal/models"
	"github.com/obscuraproject/obscura/internal/vision/ort"
)

var update = flag.Bool("update-golden", false, "regenerate golden files by running the reference runtime (node tools/golden)")

// Dir is the installed models directory, with the runtime initialised.
func Dir(t testing.TB) string {
	t.Helper()
	d := models.DefaultDir(os.Getenv)
	if err := ort.Init(models.Pinned(), d); err != nil {
		t.Fatalf("ONNX Runtime (run make setup-test): %v", err)
	}
	return d
}

// Load returns a pinned file's verified bytes.
func Load(t testing.TB, name string) []byte {
	t.Helper()
	b, err := models.Pinned().Load(models.DefaultDir(os.Getenv), name)
	if err != nil {
		t.Fatalf("%s (run make setup-test): %v", name, err)
	}
	return b
}

// Path is a pinned file's path in the models dir (verified first).
func Path(t testing.TB, name string) string {
	t.Helper()
	Load(t, name)
	return filepath.Join(models.DefaultDir(os.Getenv), name)
}

// Reference says how tools/golden runs the original model: its arguments
// before the input tensor (kind and model files) and after the output dir.
type Reference struct {
	Args  []string // e.g. {"graph", "/models/blazeface-back.json"}
	Nodes []string // graph models: the TF.js node per output, in output order
}

type sample struct {
	Shape  []int64      `json:"shape"`
	Values [][2]float64 `json:"values"` // [index, value]
}

type golden struct {
	Input   string            `json:"input_sha256"`
	Shape   []int64           `json:"input_shape"`
	Outputs map[string]sample `json:"outputs"`
}

func tensorHash(in []float32) string {
	h := sha256.New()
	var b [4]byte
	for _, v := range in {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// Compare checks outputs (in the order names gives) against the golden file
// at path, within tolerance tol: |got − want| ≤ tol × max(1, |want|)
// (absolute for small values, relative for large logits). With -update-golden it first
// regenerates the file from the reference runtime.
func Compare(t *testing.T, path string, input []float32, shape []int64, names []string, got []ort.Tensor, ref Reference, tol float64) {
	t.Helper()
	if *update {
		regenerate(t, path, input, shape, names, ref)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file (regenerate with make goldens): %v", err)
	}
	var g golden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatalf("golden %s: %v", path, err)
	}
	if g.Input != tensorHash(input) {
		t.Fatalf("%s was made from another input tensor: preprocessing changed; regenerate with make goldens", path)
	}
	worst := 0.0
	for i, name := range names {
		want, ok := g.Outputs[name]
		if !ok {
			t.Fatalf("%s: no output %q", path, name)
		}
		if fmt.Sprint(want.Shape) != fmt.Sprint(got[i].Shape) {
			t.Errorf("%s: shape %v, reference %v", name, got[i].Shape, want.Shape)
			continue
		}
		for _, iv := range want.Values {
			idx := int(iv[0])
			d := math.Abs(float64(got[i].Data[idx])-iv[1]) / math.Max(1, math.Abs(iv[1]))
			worst = max(worst, d)
			if d > tol {
				t.Errorf("%s[%d] = %g, reference %g (|Δ| %.3g > %g)", name, idx, got[i].Data[idx], iv[1], d, tol)
				break
			}
		}
	}
	t.Logf("%s: max scaled |Δ| vs reference runtime %.3g (tolerance %g)", filepath.Base(path), worst, tol)
}

func regenerate(t *testing.T, path string, input []float32, shape []int64, names []string, ref Reference) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.f32")
	b := make([]byte, 4*len(input))
	for i, v := range input {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(in, b, 0o600); err != nil {
		t.Fatal(err)
	}
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.FormatInt(d, 10)
	}
	out := filepath.Join(dir, "out")
	args := append([]string{filepath.Join(repoRoot(), "tools", "golden", "golden.mjs")}, ref.Args...)
	args = append(args, in, strings.Join(dims, ","), out)
	files := []string{"output"}
	if len(ref.Nodes) > 0 {
		args = append(args, strings.Join(ref.Nodes, ","))
		files = nil
		for _, n := range ref.Nodes {
			files = append(files, strings.ReplaceAll(n, "/", "_"))
		}
	}
	cmd := exec.Command("node", args...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("reference runtime: %v\n%s", err, msg)
	}
	g := golden{Input: tensorHash(input), Shape: shape, Outputs: map[string]sample{}}
	for i, name := range names {
		raw, err := os.ReadFile(filepath.Join(out, files[i]+".f32"))
		if err != nil {
			t.Fatal(err)
		}
		sh, _ := os.ReadFile(filepath.Join(out, files[i]+".shape"))
		var s sample
		for _, f := range strings.Split(strings.TrimSpace(string(sh)), ",") {
			d, _ := strconv.ParseInt(f, 10, 64)
			s.Shape = append(s.Shape, d)
		}
		vals := make([]float32, len(raw)/4)
		for j := range vals {
			vals[j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:]))
		}
		s.Values = pick(vals)
		g.Outputs[name] = s
	}
	enc, _ := json.MarshalIndent(g, "", " ")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(enc, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// pick samples up to 1024 evenly spaced values plus the 64 largest.
func pick(v []float32) [][2]float64 {
	idx := map[int]bool{}
	step := max(1, len(v)/1024)
	for i := 0; i < len(v); i += step {
		idx[i] = true
	}
	order := make([]int, len(v))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return v[order[a]] > v[order[b]] })
	for _, i := range order[:min(64, len(order))] {
		idx[i] = true
	}
	keys := make([]int, 0, len(idx))
	for i := range idx {
		keys = append(keys, i)
	}
	sort.Ints(keys)
	out := make([][2]float64, len(keys))
	for j, i := range keys {
		out[j] = [2]float64{float64(i), float64(v[i])}
	}
	return out
}

// Open loads the pinned model file (after Dir) into a model of its
// package with two threads, closed when the test ends.
func Open[T interface{ Close() error }](t testing.TB, file string, open func(model []byte, threads int) (T, error)) T {
	t.Helper()
	Dir(t)
	m, err := open(Load(t, file), 2)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

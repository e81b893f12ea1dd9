package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/obscuraproject/obscura/internal/plugin/plugintest"

	"github.com/obscuraproject/obscura/internal/models"
	"github.com/obscuraproject/obscura/internal/vision/picture"
	"github.com/obscuraproject/obscura/internal/vision/visiontest"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"obscura": func() { os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv)) },
	})
}

func TestScripts(t *testing.T) {
	// Plugin modules for plugin.txtar, built (or taken from the cache) once.
	wasm := plugintest.Build(t, "plugins/sticker", "internal/plugin/testdata/hostile/socket")
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(e *testscript.Env) error {
			e.Setenv("OBSCURA_DATA", e.WorkDir+"/data")
			// The real installed models (scripts/setup.sh) for the supply-chain script.
			e.Setenv("OBSCURA_MODELS", models.DefaultDir(os.Getenv))
			// A signed golden JPEG and its CA (internal/c2pa/testdata) for provenance.txtar.
			golden, err := filepath.Abs("../../internal/c2pa/testdata")
			e.Setenv("C2PA_GOLDEN", golden)
			return err
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// grepdata PATTERN succeeds if any file under $OBSCURA_DATA contains PATTERN.
			"grepdata": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: grepdata PATTERN")
				}
				found := ""
				filepath.WalkDir(ts.Getenv("OBSCURA_DATA"), func(p string, d fs.DirEntry, err error) error {
					if err == nil && d.Type().IsRegular() {
						if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(args[0])) {
							found = p
						}
					}
					return nil
				})
				if (found != "") == neg {
					ts.Fatalf("grepdata %q: found in %q (negated: %v)", args[0], found, neg)
				}
			},
			// mkimage jpeg|png FILE W H [truncate] writes a test image.
			"mkimage": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) < 4 {
					ts.Fatalf("usage: mkimage jpeg|png FILE W H [truncate]")
				}
				w, _ := strconv.Atoi(args[2])
				h, _ := strconv.Atoi(args[3])
				img := image.NewRGBA(image.Rect(0, 0, w, h))
				for i := range img.Pix {
					img.Pix[i] = byte(i * 7)
				}
				var buf bytes.Buffer
				if args[0] == "png" {
					png.Encode(&buf, img)
				} else {
					jpeg.Encode(&buf, img, nil)
				}
				b := buf.Bytes()
				if len(args) > 4 && args[4] == "truncate" {
					b = b[:len(b)/2]
				}
				if err := os.WriteFile(ts.MkAbs(args[1]), b, 0o600); err != nil {
					ts.Fatalf("mkimage: %v", err)
				}
			},
			// mktext STYLE FILE LINE... renders English lines as a JPEG
			// (document, meme or sign style over a sample photo).
			"mktext": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) < 3 {
					ts.Fatalf("usage: mktext document|meme|sign FILE LINE...")
				}
				st := map[string]visiontest.Style{"document": visiontest.Document, "meme": visiontest.Meme, "sign": visiontest.Sign}[args[0]]
				raw, err := models.Pinned().Load(ts.Getenv("OBSCURA_MODELS"), "sample6.jpg")
				ts.Check(err)
				bg, err := picture.Decode(raw, picture.DefaultOptions)
				ts.Check(err)
				p, _, err := visiontest.Render(bg, args[2:], st, 40)
				ts.Check(err)
				var buf bytes.Buffer
				ts.Check(jpeg.Encode(&buf, p.RGB, &jpeg.Options{Quality: 92}))
				ts.Check(os.WriteFile(ts.MkAbs(args[1]), buf.Bytes(), 0o600))
			},
			// linkmodels DIR ALTERED makes DIR a models dir linking every installed
			// file except ALTERED, which is copied with its middle byte flipped.
			"linkmodels": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: linkmodels DIR ALTERED")
				}
				src := ts.Getenv("OBSCURA_MODELS")
				dst := ts.MkAbs(args[0])
				ts.Check(os.MkdirAll(dst, 0o755))
				ents, err := os.ReadDir(src)
				ts.Check(err)
				for _, e := range ents {
					if e.IsDir() {
						continue
					}
					if e.Name() == args[1] {
						b, err := os.ReadFile(filepath.Join(src, e.Name()))
						ts.Check(err)
						b[len(b)/2] ^= 1
						ts.Check(os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644))
						continue
					}
					ts.Check(os.Symlink(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())))
				}
			},
			// wasm PKG FILE copies the built module of PKG (plugins/sticker or
			// internal/plugin/testdata/hostile/socket) to FILE.
			"wasm": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 || wasm[args[0]] == "" {
					ts.Fatalf("usage: wasm PKG FILE")
				}
				b, err := os.ReadFile(wasm[args[0]])
				ts.Check(err)
				ts.Check(os.WriteFile(ts.MkAbs(args[1]), b, 0o644))
			},
			// sqlexec DB STATEMENT runs SQL on a database file, as an attacker with disk access would.
			"sqlexec": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: sqlexec DB STATEMENT")
				}
				db, err := sql.Open("sqlite", "file:"+ts.MkAbs(args[0]))
				if err != nil {
					ts.Fatalf("sqlexec: %v", err)
				}
				defer db.Close()
				if _, err := db.Exec(args[1]); err != nil {
					ts.Fatalf("sqlexec: %v", err)
				}
			},
			// extract FILE FIELD VAR sets $VAR to a top-level string field of a JSON file.
			"extract": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 3 {
					ts.Fatalf("usage: extract FILE FIELD VAR")
				}
				var m map[string]any
				if err := json.Unmarshal([]byte(ts.ReadFile(args[0])), &m); err != nil {
					ts.Fatalf("extract: %v", err)
				}
				v, ok := m[args[1]]
				if !ok {
					ts.Fatalf("extract: no field %q", args[1])
				}
				ts.Setenv(args[2], fmt.Sprint(v))
			},
		},
	})
}

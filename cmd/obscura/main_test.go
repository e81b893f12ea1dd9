package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"obscura": func() { os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv)) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(e *testscript.Env) error {
			e.Setenv("OBSCURA_DATA", e.WorkDir+"/data")
			return nil
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

package testkit

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/config"
	"github.com/obscuraproject/obscura/internal/wire/core"
)

// A fresh data directory costs a kit most of its set-up: the SQLite
// store applies every migration (goose parses each file; under -race the
// pure-Go SQLite engine runs instrumented, about 5 s per kit on a loaded
// 2-core machine against 0.5 s without). So the first kit of a test
// process initialises one directory through core.Open — migrated
// database, master key, system keys — and closes it; its files are kept
// in memory, and every kit starts from a copy of them. core.Open then
// finds the schema current and the keys in place, exactly as when the
// server restarts on its own directory. Kits of one process share the
// master key and the system keys; every tenant key is still the kit's own.

// dataFile is one file of the template data directory.
type dataFile struct {
	rel  string
	mode fs.FileMode
	data []byte
}

// template is the initialised data directory's files (dirs have nil data).
var template = sync.OnceValues(func() ([]dataFile, error) {
	dir, err := os.MkdirTemp("", "obscura-testkit-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cfg := config.Default()
	cfg.Data = dir
	g, err := core.Open(context.Background(), core.Options{Config: cfg, Clock: clock.NewFake(start), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	if err := g.Close(); err != nil {
		return nil, err
	}
	var files []dataFile
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		info, err := d.Info()
		if err != nil {
			return err
		}
		f := dataFile{rel: rel, mode: info.Mode()}
		if !d.IsDir() {
			if f.data, err = os.ReadFile(path); err != nil {
				return err
			}
		}
		files = append(files, f)
		return nil
	})
	return files, err
})

// start is every kit's fake clock's starting time.
var start = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// seed writes the template data directory into dir.
func seed(dir string) error {
	files, err := template()
	if err != nil {
		return err
	}
	for _, f := range files { // WalkDir lists a directory before its files
		path := filepath.Join(dir, f.rel)
		if f.mode.IsDir() {
			err = os.Mkdir(path, f.mode.Perm())
		} else {
			err = os.WriteFile(path, f.data, f.mode.Perm())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

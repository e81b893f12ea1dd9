package main

import (
	"fmt"
	"io"
	"os"

	"github.com/obscuraproject/obscura/internal/fault"
)

// readFileMax reads a local file of at most limit bytes (a directory
// fails with "is a directory"); every command that reads a file the
// operator names goes through it.
func readFileMax(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fault.New(fault.TooLarge, fmt.Sprintf("%s is over %d MiB", path, limit>>20))
	}
	return b, nil
}

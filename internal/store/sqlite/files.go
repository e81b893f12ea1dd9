package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// FileMode is the permission of the database and its -wal and -shm files:
// they hold wrapped keys, hashed ids and the audit log, readable by the
// service's user only.
const FileMode = 0o600

// privateFiles creates the database file 0600 if it does not exist (SQLite
// gives -wal and -shm the main file's permissions) and narrows existing
// files to 0600 (they were created 0644 before).
func privateFiles(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, FileMode)
	if err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if err := os.Chmod(p, FileMode); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("chmod %s: %w", p, err)
		}
	}
	return nil
}

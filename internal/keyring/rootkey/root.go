// Package rootkey opens the root of the key hierarchy (docs/spec/keys-v1.md)
// as a tink.AEAD for package keyring: a local 32-byte master key
// (OBSCURA_MASTER_KEY, a key file, or <data>/master.key generated 0600 into
// an empty data dir), or a KMS key through Tink (Vault Transit, AWS KMS,
// GCP KMS). It never hands out the key bytes of a KMS root.
package rootkey

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/tink-crypto/tink-go/v2/aead/subtle"
	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/obscuraproject/obscura/internal/fault"
)

// MasterKeyFile is the name of the local master key file in the data dir.
const MasterKeyFile = "master.key"

// ErrMasterKeyMissing: the data directory already holds data but has no
// master key file (and OBSCURA_MASTER_KEY is not set). A new key could not
// decrypt anything stored there, so none is generated: the operator must
// restore the key from a backup or point at the right data directory.
var ErrMasterKeyMissing = fault.New(fault.Unavailable, "master key missing")

// LocalRoot returns the root AEAD of the local key service: AES-256-GCM
// under a 32-byte master key. The key comes from envKey (base64, e.g. the
// OBSCURA_MASTER_KEY variable) if set, else from <dataDir>/master.key, which
// must be mode 0600.
//
// A new key is generated into the file (with a loud warning, because losing
// that file loses all data) only when the data directory is empty or does
// not exist. A data directory that holds anything else but no key file is
// refused with ErrMasterKeyMissing naming the file: replacing a lost key
// would only make every stored object undecryptable for good.
func LocalRoot(dataDir, envKey string, log *slog.Logger) (tink.AEAD, error) {
	var key []byte
	var err error
	switch {
	case envKey != "":
		if key, err = decodeKey(envKey); err != nil {
			return nil, fault.Wrap(fault.Invalid, "OBSCURA_MASTER_KEY is not a base64 32-byte key", err)
		}
	default:
		path := filepath.Join(dataDir, MasterKeyFile)
		key, err = readKeyFile(path)
		if os.IsNotExist(err) {
			var empty bool
			if empty, err = emptyDir(dataDir); err == nil && !empty {
				return nil, fmt.Errorf("%s does not exist but %s holds data: restore the master key from your backup "+
					"(or set OBSCURA_MASTER_KEY); a new key could not decrypt what is stored: %w", path, dataDir, ErrMasterKeyMissing)
			}
			if err == nil {
				key, err = generateKeyFile(path)
			}
			if err == nil {
				log.Warn("GENERATED A NEW MASTER KEY: back it up now; without it every stored object is unrecoverable",
					"component", "keyring", "file", path)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	a, err := subtle.NewAESGCM(key)
	clear(key)
	return a, err
}

// emptyDir reports whether dir is missing or holds nothing but leftovers of
// an interrupted key generation, a filesystem's lost+found, and the
// compiled-plugin cache (WebAssembly compiled from public plugins: nothing
// in it is encrypted or needs the key).
func emptyDir(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("read data dir: %w", err)
	}
	for _, e := range entries {
		if e.Name() == "lost+found" || e.Name() == "plugin-cache" || strings.HasPrefix(e.Name(), ".master.key-") {
			continue
		}
		return false, nil
	}
	return true, nil
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != 32 {
				return nil, fmt.Errorf("key is %d bytes, want 32", len(k))
			}
			return k, nil
		}
	}
	return nil, fmt.Errorf("not base64")
}

func readKeyFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fault.New(fault.Permission, fmt.Sprintf("master key file %s is readable by others (mode %o); chmod 600 it", path, fi.Mode().Perm()))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := decodeKey(string(b))
	if err != nil {
		return nil, fault.Wrap(fault.Invalid, fmt.Sprintf("master key file %s is malformed", path), err)
	}
	return k, nil
}

// GenerateMasterKey returns a new random master key, base64-encoded.
func GenerateMasterKey() string {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}

func generateKeyFile(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	enc := GenerateMasterKey()
	tmp, err := os.CreateTemp(filepath.Dir(path), ".master.key-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, err
	}
	if _, err := tmp.WriteString(enc + "\n"); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	// Link, not rename: if another process created the key meanwhile, keep theirs.
	if err := os.Link(tmp.Name(), path); err != nil {
		if os.IsExist(err) {
			return readKeyFile(path)
		}
		return nil, err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return decodeKey(enc)
}

// LocalRootFile returns the local root AEAD under the master key in the
// file at path (base64, mode 0600): a key shared by several nodes, or one
// kept outside the data directory. Unlike LocalRoot it never generates a
// key: a missing file is ErrMasterKeyMissing.
func LocalRootFile(path string) (tink.AEAD, error) {
	key, err := readKeyFile(path)
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("master key file %s does not exist: %w", path, ErrMasterKeyMissing)
	}
	if err != nil {
		return nil, err
	}
	a, err := subtle.NewAESGCM(key)
	clear(key)
	return a, err
}

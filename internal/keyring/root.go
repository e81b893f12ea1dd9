package keyring

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

// LocalRoot returns the root AEAD of the local key service: AES-256-GCM
// under a 32-byte master key. The key comes from envKey (base64, e.g. the
// OBSCURA_MASTER_KEY variable) if set, else from <dataDir>/master.key, which
// must be mode 0600; if neither exists, a new key is generated into the file
// and a loud warning is logged, because losing that file loses all data.
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
			key, err = generateKeyFile(path)
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

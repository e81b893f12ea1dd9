package wire

import (
	"errors"
	"testing"

	"github.com/obscuraproject/obscura/internal/config"
	"github.com/obscuraproject/obscura/internal/fault"
)

// TestCheckRole: api and jobs need a shared database; SQLite serves all.
func TestCheckRole(t *testing.T) {
	tests := []struct {
		role, url string
		ok        bool
	}{
		{"all", "", true},
		{"", "", true},
		{"api", "", false},
		{"jobs", "", false},
		{"api", "postgres://db/obscura", true},
		{"jobs", "postgres://db/obscura", true},
		{"all", "postgres://db/obscura", true},
		{"worker", "postgres://db/obscura", false},
	}
	for _, tc := range tests {
		cfg := config.Default()
		cfg.Role, cfg.DatabaseURL = tc.role, tc.url
		err := CheckRole(cfg)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, fault.Invalid)) {
			t.Errorf("role %q, database %q: %v, want ok=%v", tc.role, tc.url, err, tc.ok)
		}
	}
}

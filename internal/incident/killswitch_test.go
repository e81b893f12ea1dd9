package incident

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store/sqlite"
	"github.com/obscuraproject/obscura/internal/testkit/sqlitetest"
)

func TestKillSwitchScopes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "obscura.db")
	st, err := sqlitetest.Open(t, "migrated", path, sqlite.Open)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := NewSwitches(st, clock.System{}, log)
	if err := s.Check("ten_a", "uploads"); !errors.Is(err, ErrKilled) {
		t.Errorf("before the first load: %v, want fail closed", err)
	}
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	type call struct{ tenant, feature string }
	cases := []struct {
		name    string
		set     call
		blocked []call
		open    []call
	}{
		{"global", call{}, []call{{"ten_a", "uploads"}, {"ten_b", "analyze"}}, nil},
		{"tenant", call{"ten_a", ""}, []call{{"ten_a", "uploads"}, {"ten_a", "analyze"}}, []call{{"ten_b", "uploads"}}},
		{"feature", call{"", "uploads"}, []call{{"ten_a", "uploads"}, {"ten_b", "uploads"}}, []call{{"ten_a", "analyze"}}},
		{"tenant feature", call{"ten_a", "uploads"}, []call{{"ten_a", "uploads"}}, []call{{"ten_a", "analyze"}, {"ten_b", "uploads"}}},
		{"one plugin", call{"ten_a", "plugin:face-blur"}, []call{{"ten_a", "plugin:face-blur"}}, []call{{"ten_a", "plugin:sticker"}, {"ten_b", "plugin:face-blur"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Set(ctx, tc.set.tenant, tc.set.feature, true); err != nil {
				t.Fatal(err)
			}
			for _, c := range tc.blocked {
				if err := s.Check(c.tenant, c.feature); !errors.Is(err, ErrKilled) || !errors.Is(err, fault.Unavailable) {
					t.Errorf("%v not blocked: %v", c, err)
				}
			}
			for _, c := range tc.open {
				if err := s.Check(c.tenant, c.feature); err != nil {
					t.Errorf("%v blocked: %v", c, err)
				}
			}
			if _, err := s.Set(ctx, tc.set.tenant, tc.set.feature, false); err != nil {
				t.Fatal(err)
			}
			if err := s.Check("ten_a", "uploads"); err != nil {
				t.Errorf("after switching off: %v", err)
			}
		})
	}
	// Another process (the CLI) flips a switch: a refresh picks it up.
	other := NewSwitches(st, clock.System{}, log)
	if _, err := other.Set(ctx, "", "", true); err != nil {
		t.Fatal(err)
	}
	s.Refresh(ctx)
	if err := s.Check("ten_a", "analyze"); !errors.Is(err, ErrKilled) {
		t.Errorf("switch from another process not seen: %v", err)
	}
	if _, err := s.Set(ctx, "", "teleport", true); !errors.Is(err, fault.Invalid) {
		t.Errorf("unknown feature: %v", err)
	}
}

func TestPluginFeatureScope(t *testing.T) {
	if sc, err := Scope("ten_a", "plugin:face-blur"); err != nil || sc != "tenant:ten_a/feature:plugin:face-blur" {
		t.Errorf("Scope = %q, %v", sc, err)
	}
	for _, bad := range []string{"plugin:", "plugin:../x", "plugin:Face", "plugins:x"} {
		if _, err := Scope("", bad); err == nil {
			t.Errorf("feature %q accepted", bad)
		}
	}
}

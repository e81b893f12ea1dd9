package blob

import (
	"errors"
	"strings"
	"testing"
)

func TestValidKey(t *testing.T) {
	tests := []struct {
		key string
		ok  bool
	}{
		{"t/ten_a/s/abc/photo/ast_1", true},
		{"a", true},
		{"a.b-c_d", true},
		{"", false},
		{"/abs", false},
		{"trail/", false},
		{"a//b", false},
		{"a/../b", false},
		{"a/./b", false},
		{"Upper", false},
		{"sp ace", false},
		{"nul\x00", false},
		{"back\\slash", false},
		{strings.Repeat("a", 513), false},
	}
	for _, tt := range tests {
		err := ValidKey(tt.key)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrBadKey)) {
			t.Errorf("ValidKey(%q) = %v, want ok=%v", tt.key, err, tt.ok)
		}
	}
}

func FuzzValidKey(f *testing.F) {
	f.Add("t/ten_a/s/abc")
	f.Add("../x")
	f.Fuzz(func(t *testing.T, key string) {
		if ValidKey(key) != nil {
			return
		}
		if strings.Contains(key, "..") && (strings.HasPrefix(key, "../") || strings.Contains(key, "/../") || strings.HasSuffix(key, "/..") || key == "..") {
			t.Fatalf("accepted traversal %q", key)
		}
		if strings.HasPrefix(key, "/") || strings.ContainsAny(key, "\x00\\ ") {
			t.Fatalf("accepted %q", key)
		}
	})
}

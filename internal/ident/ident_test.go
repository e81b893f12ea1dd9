package ident

import (
	"regexp"
	"testing"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"New", New("res_"), `^res_[a-z2-7]{24}$`},
		{"tenant size", Sized("ten_", 12), `^ten_[a-z2-7]{20}$`},
		{"scope key size", Sized("sk_", 16), `^sk_[a-z2-7]{26}$`},
		{"alert size", Sized("alt_", 10), `^alt_[a-z2-7]{16}$`},
	}
	for _, tt := range tests {
		if !regexp.MustCompile(tt.want).MatchString(tt.got) {
			t.Errorf("%s: %q does not match %s", tt.name, tt.got, tt.want)
		}
	}
	seen := map[string]bool{}
	for range 1000 {
		id := New("x_")
		if seen[id] {
			t.Fatalf("repeated id %s", id)
		}
		seen[id] = true
	}
}

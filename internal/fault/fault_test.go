package fault

import (
	"errors"
	"fmt"
	"testing"
)

func TestKindMatching(t *testing.T) {
	cause := errors.New("disk on fire")
	sentinel := New(Conflict, "token already used")
	tests := []struct {
		name     string
		err      error
		kind     Kind
		wantKind Kind
		wantIs   bool
		wantMsg  string
	}{
		{"plain", New(NotFound, "no such asset"), NotFound, NotFound, true, "no such asset"},
		{"wrapped by fmt", fmt.Errorf("load: %w", New(Expired, "token expired")), Expired, Expired, true, "token expired"},
		{"other kind", New(Invalid, "bad"), NotFound, Invalid, false, "bad"},
		{"with cause", Wrap(Unavailable, "key service unavailable", cause), Unavailable, Unavailable, true, "key service unavailable"},
		{"sentinel wrapped", fmt.Errorf("put: %w", sentinel), Conflict, Conflict, true, "token already used"},
		{"foreign error", cause, NotFound, Other, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, tt.kind); got != tt.wantIs {
				t.Errorf("errors.Is(%v, %v) = %v, want %v", tt.err, tt.kind, got, tt.wantIs)
			}
			if got := KindOf(tt.err); got != tt.wantKind {
				t.Errorf("KindOf = %v, want %v", got, tt.wantKind)
			}
			if got := PublicMessage(tt.err); got != tt.wantMsg {
				t.Errorf("PublicMessage = %q, want %q", got, tt.wantMsg)
			}
		})
	}
	if !errors.Is(Wrap(Unavailable, "x", cause), cause) {
		t.Error("Wrap lost its cause")
	}
	if Wrap(Invalid, "x", nil) != nil {
		t.Error("Wrap(nil) must be nil")
	}
}

func TestKindNamesComplete(t *testing.T) {
	for k := Other; k <= KeyRevoked; k++ {
		if k.String() == "" || k.String() == fmt.Sprintf("kind(%d)", uint8(k)) {
			t.Errorf("kind %d has no name", k)
		}
	}
}

package incident

import (
	"errors"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/fault"
)

func TestPurgeScopeValidate(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		sc   PurgeScope
		ok   bool
		word string
	}{
		{"whole tenant", PurgeScope{Tenant: "ten_a"}, true, "tenant"},
		{"one subject", PurgeScope{Tenant: "ten_a", SubjectHash: "h"}, true, "subject"},
		{"a range", PurgeScope{Tenant: "ten_a", From: t0, To: t0.Add(time.Hour)}, true, "range"},
		{"no tenant", PurgeScope{SubjectHash: "h"}, false, ""},
		{"half a range", PurgeScope{Tenant: "ten_a", From: t0}, false, ""},
		{"empty range", PurgeScope{Tenant: "ten_a", From: t0, To: t0}, false, ""},
		{"backwards range", PurgeScope{Tenant: "ten_a", From: t0.Add(time.Hour), To: t0}, false, ""},
		{"subject and range", PurgeScope{Tenant: "ten_a", SubjectHash: "h", From: t0, To: t0.Add(time.Hour)}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.sc.Validate()
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, fault.Invalid)) {
				t.Fatalf("Validate = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && tt.sc.Describe() != tt.word {
				t.Errorf("Describe = %q, want %q", tt.sc.Describe(), tt.word)
			}
		})
	}
}

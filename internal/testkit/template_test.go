package testkit

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/sealed"
)

// TestKitsFromTemplateAreIndependent: kits started from the template data
// directory work as a fresh one (tenant keys, sealed objects, the audit
// log) and share nothing but the template: what one kit stores, another
// does not see.
func TestKitsFromTemplateAreIndependent(t *testing.T) {
	ctx := context.Background()
	a, b := New(t, nil), New(t, nil)
	if a.Dir == b.Dir {
		t.Fatal("two kits share a data directory")
	}
	a.Tenant(t, "ten_a")
	if _, err := b.Store.Tenant(ctx, "ten_a"); !errors.Is(err, fault.NotFound) {
		t.Fatalf("a tenant of one kit is visible in another: %v", err)
	}
	b.Tenant(t, "ten_a") // the same id is free in b
	ref := sealed.Ref{Tenant: "ten_a", Subject: a.Keys.SubjectHash("s"), Object: "obj_1"}
	if _, err := a.Objects.Put(ctx, ref, strings.NewReader("photo")); err != nil {
		t.Fatal(err)
	}
	got, err := a.Objects.ReadAll(ctx, ref, 100)
	if err != nil || string(got) != "photo" {
		t.Fatalf("read back %q, %v", got, err)
	}
	// a's object is not in b's blob store (nor would its key open it).
	if _, err := b.Objects.ReadAll(ctx, ref, 100); err == nil {
		t.Fatal("one kit's sealed object opened in another")
	}
}

package operator

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/obscuraproject/obscura/internal/fault"
)

// fakeProvenance records calls (a test double for the provenance service).
type fakeProvenance struct{ calls []string }

func (f *fakeProvenance) RotateCA(context.Context) (int, error) {
	f.calls = append(f.calls, "ca")
	return 2, nil
}
func (f *fakeProvenance) RotateTenant(_ context.Context, t string) (int, error) {
	f.calls = append(f.calls, "tenant:"+t)
	return 3, nil
}
func (f *fakeProvenance) Revoke(_ context.Context, t string, v int) error {
	if v == 9 {
		return fault.New(fault.NotFound, "no such provenance certificate")
	}
	f.calls = append(f.calls, "revoke:"+t)
	return nil
}

func TestProvenanceActionsAreAudited(t *testing.T) {
	ctx := context.Background()
	s, rec, _ := newService(t)
	p := &fakeProvenance{}
	s.WithProvenance(p)
	if v, err := s.RotateProvenance(ctx, cli, "ten_a"); err != nil || v != 3 {
		t.Fatalf("rotate tenant: %d %v", v, err)
	}
	if v, err := s.RotateProvenance(ctx, cli, ""); err != nil || v != 2 {
		t.Fatalf("rotate CA: %d %v", v, err)
	}
	if err := s.RevokeProvenance(ctx, cli, "ten_a", 1); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeProvenance(ctx, cli, "ten_a", 9); !errors.Is(err, fault.NotFound) {
		t.Fatalf("revoke unknown: %v", err)
	}
	want := []string{
		"cli.provenance.rotate.intent/ok", "cli.provenance.rotate/ok",
		"cli.provenance.rotate.intent/ok", "cli.provenance.rotate/ok",
		"cli.provenance.revoke.intent/ok", "cli.provenance.revoke/ok",
		"cli.provenance.revoke.intent/ok", "cli.provenance.revoke/denied",
	}
	if got := rec.actions(); !slices.Equal(got, want) {
		t.Errorf("entries %v, want %v", got, want)
	}
	if !slices.Equal(p.calls, []string{"tenant:ten_a", "ca", "revoke:ten_a"}) {
		t.Errorf("calls %v", p.calls)
	}
	// Audit down: refused, nothing changes.
	rec.down = true
	if _, err := s.RotateProvenance(ctx, cli, "ten_a"); !errors.Is(err, ErrAuditUnavailable) || len(p.calls) != 3 {
		t.Fatalf("audit down: %v, calls %v", err, p.calls)
	}
}

package operator

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/incident"
	"github.com/obscuraproject/obscura/internal/testkit"
)

// recorder is an audit log that keeps entries, or refuses them all.
type recorder struct {
	entries []audit.Entry
	down    bool
}

func (r *recorder) Append(_ context.Context, e audit.Entry) error {
	if r.down {
		return errors.New("disk full")
	}
	r.entries = append(r.entries, e)
	return nil
}

func (r *recorder) actions() []string {
	var out []string
	for _, e := range r.entries {
		out = append(out, e.Action+"/"+e.Result)
	}
	return out
}

func newService(t *testing.T) (*Service, *recorder, *testkit.Kit) {
	t.Helper()
	k := testkit.New(t, nil)
	k.Tenant(t, "ten_a")
	rec := &recorder{}
	kill := incident.NewSwitches(k.Store, k.Clock, k.Log)
	return New(k.Store, k.Keys, kill, rec, k.Clock, k.Log), rec, k
}

var cli = By{Channel: ChannelCLI, Actor: "cli"}

func TestEveryActionAuditsIntentThenOutcome(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		action string
		run    func(s *Service) error
	}{
		{"create key", ActionKeyCreate, func(s *Service) error {
			_, _, err := s.CreateKey(ctx, cli, "ten_a", []auth.Scope{auth.ScopeAnalyze})
			return err
		}},
		{"revoke all", ActionKeysRevokeAll, func(s *Service) error { _, err := s.RevokeAllKeys(ctx, cli, "ten_a"); return err }},
		{"rotate", ActionKEKRotate, func(s *Service) error { _, err := s.RotateKEK(ctx, cli, "ten_a"); return err }},
		{"rewrap", ActionKEKRewrap, func(s *Service) error { _, err := s.Rewrap(ctx, cli, "ten_a", nil); return err }},
		{"min version", ActionKEKMinVersion, func(s *Service) error { return s.SetMinVersion(ctx, cli, "ten_a", 1) }},
		{"kill on", ActionKillSwitchOn, func(s *Service) error {
			_, err := s.SetKillSwitch(ctx, cli, "ten_a", "", true)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, rec, _ := newService(t)
			if err := tt.run(s); err != nil {
				t.Fatal(err)
			}
			want := []string{"cli." + tt.action + ".intent/ok", "cli." + tt.action + "/ok"}
			if got := rec.actions(); !slices.Equal(got, want) {
				t.Errorf("entries %v, want %v", got, want)
			}
			for _, e := range rec.entries {
				if e.Tenant != "ten_a" || e.Actor != "cli" {
					t.Errorf("entry %+v lacks tenant or actor", e)
				}
			}
		})
	}
}

// Negative: when the audit log cannot take the intent, nothing changes.
func TestAuditDownRefusesAndChangesNothing(t *testing.T) {
	ctx := context.Background()
	s, rec, k := newService(t)
	rec.down = true
	before, _ := k.Store.APIKeys(ctx, "ten_a")
	if _, _, err := s.CreateKey(ctx, cli, "ten_a", []auth.Scope{auth.ScopeAdmin}); !errors.Is(err, ErrAuditUnavailable) || !errors.Is(err, fault.Unavailable) {
		t.Fatalf("create key with audit down: %v, want ErrAuditUnavailable", err)
	}
	if n, err := s.RevokeAllKeys(ctx, cli, "ten_a"); !errors.Is(err, ErrAuditUnavailable) || n != 0 {
		t.Fatalf("revoke all with audit down: %d, %v", n, err)
	}
	if _, err := s.RotateKEK(ctx, cli, "ten_a"); !errors.Is(err, ErrAuditUnavailable) {
		t.Fatalf("rotate with audit down: %v", err)
	}
	after, _ := k.Store.APIKeys(ctx, "ten_a")
	if len(after) != len(before) || after[0].Revoked() {
		t.Errorf("keys changed with the audit log down: %d → %d", len(before), len(after))
	}
	vs, err := k.Keys.Versions(ctx, "ten_a")
	if err != nil || len(vs) != 1 {
		t.Errorf("KEK versions with the audit log down: %v %v", vs, err)
	}
}

func TestCreateKeyDropsRepeatedScopes(t *testing.T) {
	s, _, _ := newService(t)
	_, rec, err := s.CreateKey(context.Background(), By{Channel: ChannelAPI, Actor: "key_x"}, "ten_a",
		[]auth.Scope{auth.ScopeAnalyze, auth.ScopeIngest, auth.ScopeAnalyze})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"analyze", "ingest"}; !slices.Equal(rec.Scopes, want) {
		t.Errorf("scopes %v, want %v", rec.Scopes, want)
	}
	if _, _, err := s.CreateKey(context.Background(), cli, "ten_a", nil); !errors.Is(err, fault.Invalid) {
		t.Errorf("no scopes: %v, want Invalid", err)
	}
}

func TestScopes(t *testing.T) {
	tests := []struct {
		in      []string
		want    []auth.Scope
		wantErr bool
	}{
		{[]string{"admin", "admin", " ingest"}, []auth.Scope{auth.ScopeAdmin, auth.ScopeIngest}, false},
		{[]string{"root"}, nil, true},
		{nil, nil, true},
	}
	for _, tt := range tests {
		got, err := Scopes(tt.in)
		if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
			t.Errorf("Scopes(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestRevokeAllAndFailedOutcome(t *testing.T) {
	ctx := context.Background()
	s, rec, k := newService(t)
	k.Key(t, "ten_a", auth.ScopeIngest)
	n, err := s.RevokeAllKeys(ctx, cli, "ten_a")
	if err != nil || n != 2 {
		t.Fatalf("revoke all: %d %v, want 2", n, err)
	}
	if n, _ := s.RevokeAllKeys(ctx, cli, "ten_a"); n != 0 {
		t.Errorf("second revoke all revoked %d", n)
	}
	rec.entries = nil
	if _, err := s.RevokeKey(ctx, cli, "ten_a", "key_missing"); !errors.Is(err, fault.NotFound) {
		t.Fatalf("revoke missing key: %v", err)
	}
	if got, want := rec.actions(), []string{"cli.key.revoke.intent/ok", "cli.key.revoke/denied"}; !slices.Equal(got, want) {
		t.Errorf("entries %v, want %v", got, want)
	}
}

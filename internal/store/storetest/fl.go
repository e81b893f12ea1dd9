package storetest

import (
	"testing"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/store"
)

// testFL: devices are unique per tenant and deleted per subject; a round
// record adds its ρ to the task and publishes its version atomically; the
// current version moves on rollback; everything is tenant-scoped.
func testFL(t *testing.T, st store.Store) {
	s := implements[store.FL](t, st)
	ctx := withTenants(t, st, "ta", "tb")
	d := store.FLDevice{Tenant: "ta", ID: "dev1", SubjectHash: "s1", PublicKey: []byte("pk"), EnrolledAt: t0}
	if err := s.EnrollFLDevice(ctx, d); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "enrol twice", s.EnrollFLDevice(ctx, d), fault.Conflict)
	if got, err := s.FLDevice(ctx, "ta", "dev1"); err != nil || got.SubjectHash != "s1" || string(got.PublicKey) != "pk" || !got.EnrolledAt.Equal(t0) {
		t.Fatalf("FLDevice = %+v, %v", got, err)
	}
	_, err := s.FLDevice(ctx, "tb", "dev1")
	wantKind(t, "other tenant's device", err, fault.NotFound)

	task := store.FLTask{Tenant: "ta", ID: "scene", Config: []byte(`{}`), Canary: []byte("c"), CreatedAt: t0}
	if err := s.CreateFLTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "task twice", s.CreateFLTask(ctx, task), fault.Conflict)
	_, err = s.FLTask(ctx, "tb", "scene")
	wantKind(t, "other tenant's task", err, fault.NotFound)
	v1 := &store.FLVersion{Tenant: "ta", Task: "scene", Number: 1, SHA256: "h1", Artefact: []byte("a1"), CreatedAt: t0}
	if err := s.RecordFLRound(ctx, store.FLRound{Tenant: "ta", Task: "scene", Number: 0, Outcome: "published", Version: 1, At: t0}, v1); err != nil {
		t.Fatal(err)
	}
	r1 := store.FLRound{Tenant: "ta", Task: "scene", Number: 1, Participants: []string{"h-a", "h-b"}, Survivors: 2, Rho: 0.25, Outcome: "published", CanaryBefore: 0.5, CanaryAfter: 0.75, Version: 2, At: t0}
	if err := s.RecordFLRound(ctx, r1, &store.FLVersion{Tenant: "ta", Task: "scene", Number: 2, SHA256: "h2", Artefact: []byte("a2"), CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	// A duplicate round number rolls back entirely: no ρ is added.
	wantKind(t, "round twice", s.RecordFLRound(ctx, r1, nil), fault.Conflict)
	got, err := s.FLTask(ctx, "ta", "scene")
	if err != nil || got.Rounds != 2 || got.RhoSpent != 0.25 {
		t.Fatalf("task after rounds = %+v, %v; want 2 rounds, ρ 0.25", got, err)
	}
	wantKind(t, "round of a missing task", s.RecordFLRound(ctx, store.FLRound{Tenant: "tb", Task: "scene", Number: 9}, nil), fault.NotFound)
	rounds, err := s.FLRounds(ctx, "ta", "scene")
	if err != nil || len(rounds) != 2 || rounds[1].Participants[1] != "h-b" || rounds[1].CanaryAfter != 0.75 {
		t.Fatalf("rounds = %+v, %v", rounds, err)
	}
	current := func() int {
		vs, err := s.FLVersions(ctx, "ta", "scene")
		if err != nil {
			t.Fatal(err)
		}
		c := 0
		for _, v := range vs {
			if v.Current {
				if c != 0 {
					t.Fatal("two current versions")
				}
				c = v.Number
			}
		}
		return c
	}
	if c := current(); c != 2 {
		t.Fatalf("current = %d, want 2", c)
	}
	if err := s.SetFLCurrent(ctx, "ta", "scene", 1); err != nil {
		t.Fatal(err)
	}
	if c := current(); c != 1 {
		t.Fatalf("current after rollback = %d, want 1", c)
	}
	wantKind(t, "missing version", s.SetFLCurrent(ctx, "ta", "scene", 7), fault.NotFound)
	wantKind(t, "other tenant's version", s.SetFLCurrent(ctx, "tb", "scene", 1), fault.NotFound)
	if n, err := s.DeleteFLDevices(ctx, "ta", "s1"); err != nil || n != 1 {
		t.Fatalf("DeleteFLDevices = %d, %v", n, err)
	}
	if l, _ := s.FLDevicesOf(ctx, "ta", "s1"); len(l) != 0 {
		t.Fatal("device left after delete")
	}
}

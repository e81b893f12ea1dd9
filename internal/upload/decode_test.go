package upload_test

import (
	"context"
	"errors"
	"testing"

	"github.com/obscuraproject/obscura/internal/guard"
	"github.com/obscuraproject/obscura/internal/sanitize/sanitizetest"
	"github.com/obscuraproject/obscura/internal/testkit"
	"github.com/obscuraproject/obscura/internal/upload"
)

// recordingGate is a unit-test double of guard.Gate that records weights.
type recordingGate struct {
	weights []int64
	err     error
}

func (g *recordingGate) Admit(_ context.Context, n int64) (func(), error) {
	g.weights = append(g.weights, n)
	return func() {}, g.err
}

// Finding 16.2: decodes of uploads pass the decode gate weighted by
// megapixels; lossless ones do not wait; a full queue refuses the upload
// before anything is stored.
func TestIngestDecodesPassTheGate(t *testing.T) {
	ctx := context.Background()
	k := testkit.New(t, nil)
	g := &recordingGate{}
	up := upload.New(upload.DefaultConfig(), k.Store, k.Objects, k.Keys, upload.NewCodec(k.Keys.TokenAEAD()), k.Clock).WithDecodeGate(g)
	k.Tenant(t, "ten_a")
	if _, err := up.Ingest(ctx, "ten_a", "s", sanitizetest.JPEG(4000, 3000, 6)); err != nil {
		t.Fatal(err)
	}
	if _, err := up.Ingest(ctx, "ten_a", "s", sanitizetest.JPEG(4000, 3000, 1)); err != nil {
		t.Fatal(err)
	}
	if len(g.weights) != 1 || g.weights[0] != 12 {
		t.Errorf("gate weights %v, want [12] (12 MP rotated; the upright one not decoded)", g.weights)
	}
	g.err = &guard.OverloadedError{Gate: "decode"}
	if _, err := up.Ingest(ctx, "ten_a", "s", sanitizetest.JPEG(64, 64, 6)); !errors.Is(err, guard.ErrOverloaded) {
		t.Errorf("full decode queue: %v, want overloaded", err)
	}
}

package upload_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"io"
	"io/fs"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/blob"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/sealed"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/testkit"
	"github.com/obscuraproject/obscura/internal/upload"
)

// fullDisk is a blob store whose Puts fail with ENOSPC while full is set,
// the way fsblob fails on a full filesystem.
type fullDisk struct {
	blob.Store
	full atomic.Bool
}

func (d *fullDisk) Put(ctx context.Context, key string, r io.Reader) error {
	if d.full.Load() {
		io.Copy(io.Discard, r)
		return fault.Wrap(fault.Unavailable, "blob store unavailable", &fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC})
	}
	return d.Store.Put(ctx, key, r)
}

type env struct {
	kit   *testkit.Kit
	svc   *upload.Service
	disk  *fullDisk
	objs  *sealed.Store
	codec *upload.Codec
}

func newEnv(t *testing.T) *env {
	k := testkit.New(t, nil)
	k.Tenant(t, "ten_a")
	disk := &fullDisk{Store: k.Blobs}
	objs := sealed.New(disk, k.Keys)
	codec := upload.NewCodec(k.Keys.TokenAEAD())
	return &env{kit: k, svc: upload.New(upload.DefaultConfig(), k.Store, objs, k.Keys, codec, k.Clock), disk: disk, objs: objs, codec: codec}
}

func jpegBytes(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 32, 24))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 13)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// blobCount counts the ciphertext files in the kit's blob directory.
func blobCount(t *testing.T, e *env) int {
	n := 0
	if err := e.kit.Blobs.List(context.Background(), "", func(string) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// Issue 17.3: a PUT that fails on a fault does not spend its single-use
// URL; the retry succeeds, and then the URL is spent.
func TestFailedPutKeepsToken(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	g, err := e.svc.Create(ctx, "ten_a", upload.Request{Subject: "alice", ContentType: "image/jpeg"})
	if err != nil {
		t.Fatal(err)
	}
	pic := jpegBytes(t)
	e.disk.full.Store(true)
	if _, err := e.svc.Accept(ctx, g.Token, int64(len(pic)), bytes.NewReader(pic)); !errors.Is(err, syscall.ENOSPC) || !errors.Is(err, fault.Unavailable) {
		t.Fatalf("PUT on a full disk: %v, want Unavailable wrapping ENOSPC", err)
	}
	// A body that is not an image fails too, and must not spend the URL either.
	if _, err := e.svc.Accept(ctx, g.Token, 4, bytes.NewReader([]byte("nope"))); err == nil || errors.Is(err, upload.ErrTokenUsed) {
		t.Fatalf("PUT of garbage: %v", err)
	}
	e.disk.full.Store(false)
	a, err := e.svc.Accept(ctx, g.Token, int64(len(pic)), bytes.NewReader(pic))
	if err != nil {
		t.Fatalf("retry after the disk has room: %v (the failed PUT spent the URL)", err)
	}
	if _, err := e.svc.Accept(ctx, g.Token, int64(len(pic)), bytes.NewReader(pic)); !errors.Is(err, upload.ErrTokenUsed) {
		t.Errorf("replay after success: %v, want ErrTokenUsed", err)
	}
	if n := blobCount(t, e); n != 1 {
		t.Errorf("%d blobs, want 1 (only %s)", n, a.ID)
	}
	if left, _ := e.kit.Store.StalePendingAssets(ctx, e.kit.Clock.Now().Add(time.Hour), 10); len(left) != 0 {
		t.Errorf("%d pending marks left after failures that cleaned up", len(left))
	}
}

// Two concurrent PUTs of one URL: exactly one asset, the other is
// token_used, and the loser's ciphertext is gone.
func TestConcurrentPutsOneWinner(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for round := range 5 {
		g, err := e.svc.Create(ctx, "ten_a", upload.Request{Subject: "alice", ContentType: "image/jpeg"})
		if err != nil {
			t.Fatal(err)
		}
		pic := jpegBytes(t)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		start := make(chan struct{})
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = e.svc.Accept(ctx, g.Token, int64(len(pic)), bytes.NewReader(pic))
			}()
		}
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, upload.ErrTokenUsed):
				t.Errorf("round %d: concurrent PUT: %v", round, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d of 2 concurrent PUTs succeeded, want exactly 1", round, wins)
		}
		if n := blobCount(t, e); n != round+1 {
			t.Errorf("round %d: %d blobs, want %d (a losing PUT left its ciphertext)", round, n, round+1)
		}
	}
}

// Issue 17.4: a blob written without its record (a crash between the two)
// is deleted by Sweep once its mark is older than the grace period, never
// before; committed photos are untouched.
func TestSweepRemovesOrphans(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	kept, err := e.svc.Ingest(ctx, "ten_a", "alice", jpegBytes(t))
	if err != nil {
		t.Fatal(err)
	}
	// What a crash after the blob write leaves: a mark and a blob, no record.
	h := e.kit.Keys.SubjectHash("alice")
	if err := e.kit.Store.BeginAsset(ctx, store.PendingAsset{ID: "ast_orphan", TenantID: "ten_a", SubjectHash: h, CreatedAt: e.kit.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.objs.Put(ctx, sealed.Ref{Tenant: "ten_a", Subject: h, Object: "ast_orphan"}, bytes.NewReader([]byte("x"))); err != nil {
		t.Fatal(err)
	}
	if n := blobCount(t, e); n != 2 {
		t.Fatalf("%d blobs before the sweep, want 2", n)
	}
	grace := upload.DefaultConfig().OrphanGrace
	e.kit.Clock.Advance(grace - time.Second)
	if n, err := e.svc.Sweep(ctx, 100); n != 0 || err != nil || blobCount(t, e) != 2 {
		t.Fatalf("sweep within the grace period removed %d (%v)", n, err)
	}
	e.kit.Clock.Advance(2 * time.Second)
	if n, err := e.svc.Sweep(ctx, 100); n != 1 || err != nil {
		t.Fatalf("sweep after the grace period removed %d (%v), want 1", n, err)
	}
	var keys []string
	e.kit.Blobs.List(ctx, "", func(k string) error { keys = append(keys, k); return nil })
	if len(keys) != 1 || filepath.Base(keys[0]) != kept.ID {
		t.Errorf("blobs after the sweep: %v, want only %s", keys, kept.ID)
	}
	if n, _ := e.svc.Sweep(ctx, 100); n != 0 {
		t.Errorf("second sweep removed %d, want 0", n)
	}
	if _, err := e.svc.Photo(ctx, kept); err != nil {
		t.Errorf("committed photo after the sweep: %v", err)
	}
}

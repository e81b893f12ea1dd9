package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/obscuraproject/obscura/internal/store"
)

func openWriterStore(t *testing.T) *Store {
	t.Helper()
	s, err := openCopy(t, filepath.Join(t.TempDir(), "obscura.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// waiters is how many users wait in each lane of w.
func (w *writer) waiters() (interactive, background int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.lanes[laneInteractive]), len(w.lanes[laneBackground])
}

// queueInOrder starts one transaction per name while the writer is held,
// each entering its lane only after the previous one did, and returns the
// order in which they got the writer once the holder lets go. Names
// starting with "i" are interactive.
func queueInOrder(t *testing.T, s *Store, names []string) []string {
	t.Helper()
	ctx := context.Background()
	holder, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	for n, name := range names {
		c := ctx
		if name[0] == 'i' {
			c = store.Interactive(ctx)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			tx, err := s.w.BeginTx(c, nil)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			if _, err := tx.ExecContext(c, `SELECT 1`); err != nil {
				t.Error(err)
			}
			if err := tx.Commit(); err != nil {
				t.Error(err)
			}
		}()
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) { // only a lost waiter hits it
			if hi, lo := s.w.waiters(); hi+lo == n+1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never queued", name)
			}
		}
	}
	if err := holder.Rollback(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	return order
}

// The writer goes to interactive writes (uploads, audit entries) before
// queued background ones, first come first served within a lane.
func TestWriterInteractiveLaneGoesFirst(t *testing.T) {
	s := openWriterStore(t)
	got := queueInOrder(t, s, []string{"b1", "b2", "i1", "b3", "i2"})
	if want := []string{"i1", "i2", "b1", "b2", "b3"}; !slices.Equal(got, want) {
		t.Errorf("writer order %v, want %v", got, want)
	}
}

// A stream of interactive writes cannot starve background ones: one goes
// after every maxInteractiveRun interactive grants.
func TestWriterBackgroundNotStarved(t *testing.T) {
	s := openWriterStore(t)
	names := []string{"b1", "b2"}
	for i := range 2*maxInteractiveRun + 2 {
		names = append(names, fmt.Sprintf("i%02d", i))
	}
	got := queueInOrder(t, s, names)
	if i := slices.Index(got, "b1"); i != maxInteractiveRun {
		t.Errorf("first background write went %d-th (order %v), want after %d interactive ones", i+1, got, maxInteractiveRun)
	}
	if i := slices.Index(got, "b2"); i != 2*maxInteractiveRun+1 {
		t.Errorf("second background write went %d-th (order %v), want after %d more interactive ones", i+1, got, maxInteractiveRun)
	}
	if len(got) != len(names) {
		t.Errorf("%d of %d writes ran", len(got), len(names))
	}
}

// A write whose context ends while it waits leaves its lane and reports
// the context's error; the writer carries on for the others, including
// when the context ends just as the writer is handed over.
func TestWriterCancelledWaiter(t *testing.T) {
	s := openWriterStore(t)
	ctx := context.Background()
	holder, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(store.Interactive(ctx))
	errc := make(chan error, 1)
	go func() {
		_, err := s.w.ExecContext(cctx, `SELECT 1`)
		errc <- err
	}()
	for hi, _ := s.w.waiters(); hi == 0; hi, _ = s.w.waiters() {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v, want context.Canceled", err)
	}
	if hi, lo := s.w.waiters(); hi+lo != 0 {
		t.Fatalf("%d+%d waiters left after the cancel", hi, lo)
	}
	holder.Rollback()

	// Cancels racing the hand-over: every write either runs or reports its
	// context's end, and the writer is free afterwards.
	var wg sync.WaitGroup
	for i := range 64 {
		c, cancel := context.WithTimeout(ctx, time.Duration(i%8)*100*time.Microsecond)
		defer cancel()
		if i%2 == 0 {
			c = store.Interactive(c)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.w.ExecContext(c, `SELECT 1`); err != nil && c.Err() == nil {
				t.Errorf("write: %v", err)
			}
		}()
	}
	wg.Wait()
	done := make(chan error, 1)
	go func() {
		_, err := s.w.ExecContext(ctx, `SELECT 1`)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute): // only a stuck writer hits it
		t.Fatal("writer stuck after cancelled waiters")
	}
}

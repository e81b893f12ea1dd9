// Package blobtest is the conformance suite every blob.Store backend passes.
package blobtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/obscuraproject/obscura/internal/blob"
	"github.com/obscuraproject/obscura/internal/fault"
)

// Run runs the suite. open returns an empty store; keys are prefixed so
// backends that share a bucket across subtests stay independent.
func Run(t *testing.T, open func(t *testing.T) blob.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s blob.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"Overwrite", testOverwrite},
		{"Missing", testMissing},
		{"Delete", testDelete},
		{"List", testList},
		{"BadKeys", testBadKeys},
		{"Large", testLarge},
		{"FailedPutLeavesOldObject", testFailedPut},
		{"ConcurrentPuts", testConcurrentPuts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

func put(t *testing.T, s blob.Store, key string, data []byte) {
	t.Helper()
	if err := s.Put(context.Background(), key, bytes.NewReader(data)); err != nil {
		t.Fatalf("Put(%s): %v", key, err)
	}
}

func get(t *testing.T, s blob.Store, key string) ([]byte, error) {
	t.Helper()
	rc, err := s.Get(context.Background(), key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func testRoundTrip(t *testing.T, s blob.Store) {
	for _, data := range [][]byte{{}, []byte("x"), []byte("hello blob")} {
		put(t, s, "rt/obj", data)
		got, err := get(t, s, "rt/obj")
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("Get = %q, %v; want %q", got, err, data)
		}
	}
}

func testOverwrite(t *testing.T, s blob.Store) {
	put(t, s, "ow/obj", []byte("first version, longer"))
	put(t, s, "ow/obj", []byte("second"))
	if got, _ := get(t, s, "ow/obj"); string(got) != "second" {
		t.Errorf("after overwrite: %q", got)
	}
}

func testMissing(t *testing.T, s blob.Store) {
	if _, err := get(t, s, "missing/obj"); !errors.Is(err, fault.NotFound) {
		t.Errorf("Get missing: %v, want NotFound", err)
	}
	put(t, s, "missing/dir/obj", []byte("x"))
	if _, err := get(t, s, "missing/dir"); !errors.Is(err, fault.NotFound) {
		t.Errorf("Get of a key prefix: %v, want NotFound", err)
	}
}

func testDelete(t *testing.T, s blob.Store) {
	ctx := context.Background()
	put(t, s, "del/obj", []byte("x"))
	if err := s.Delete(ctx, "del/obj"); err != nil {
		t.Fatal(err)
	}
	if _, err := get(t, s, "del/obj"); !errors.Is(err, fault.NotFound) {
		t.Errorf("after delete: %v", err)
	}
	if err := s.Delete(ctx, "del/obj"); err != nil {
		t.Errorf("second delete: %v", err)
	}
}

func testList(t *testing.T, s blob.Store) {
	ctx := context.Background()
	for _, k := range []string{"ls/b/2", "ls/a/1", "ls/a/2", "ls/ab/1", "lsx/1"} {
		put(t, s, k, []byte(k))
	}
	list := func(prefix string) string {
		var keys []string
		if err := s.List(ctx, prefix, func(k string) error { keys = append(keys, k); return nil }); err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		return strings.Join(keys, ",")
	}
	for _, tt := range []struct{ prefix, want string }{
		{"ls/", "ls/a/1,ls/a/2,ls/ab/1,ls/b/2"},
		{"ls/a/", "ls/a/1,ls/a/2"},
		{"ls/a", "ls/a/1,ls/a/2,ls/ab/1"},
		{"ls/none/", ""},
	} {
		if got := list(tt.prefix); got != tt.want {
			t.Errorf("List(%q) = %s, want %s", tt.prefix, got, tt.want)
		}
	}
	stop := errors.New("stop")
	n := 0
	err := s.List(ctx, "ls/", func(string) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("List did not stop on callback error: %v after %d", err, n)
	}
}

func testBadKeys(t *testing.T, s blob.Store) {
	ctx := context.Background()
	for _, k := range []string{"", "../escape", "a/../../b", "/abs", "A", "a//b"} {
		if err := s.Put(ctx, k, strings.NewReader("x")); !errors.Is(err, blob.ErrBadKey) {
			t.Errorf("Put(%q) = %v, want ErrBadKey", k, err)
		}
		if _, err := s.Get(ctx, k); !errors.Is(err, blob.ErrBadKey) {
			t.Errorf("Get(%q) = %v, want ErrBadKey", k, err)
		}
		if err := s.Delete(ctx, k); !errors.Is(err, blob.ErrBadKey) {
			t.Errorf("Delete(%q) = %v, want ErrBadKey", k, err)
		}
	}
}

func testLarge(t *testing.T, s blob.Store) {
	data := make([]byte, 9<<20+123)
	rand.Read(data)
	put(t, s, "large/obj", data)
	got, err := get(t, s, "large/obj")
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("large round trip: %d bytes, %v", len(got), err)
	}
}

// failingReader yields n bytes, then an error.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("client went away")
	}
	k := min(len(p), f.n)
	f.n -= k
	return k, nil
}

func testFailedPut(t *testing.T, s blob.Store) {
	ctx := context.Background()
	put(t, s, "fail/obj", []byte("old complete object"))
	if err := s.Put(ctx, "fail/obj", &failingReader{n: 1 << 20}); err == nil {
		t.Fatal("Put with a failing reader succeeded")
	}
	if got, _ := get(t, s, "fail/obj"); string(got) != "old complete object" {
		t.Errorf("failed overwrite changed the object: %d bytes", len(got))
	}
	if err := s.Put(ctx, "fail/new", &failingReader{n: 100}); err == nil {
		t.Fatal("Put with a failing reader succeeded")
	}
	if _, err := get(t, s, "fail/new"); !errors.Is(err, fault.NotFound) {
		t.Errorf("failed new put left an object: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Put(cctx, "fail/cancelled", strings.NewReader("x")); err == nil {
		t.Error("Put with a cancelled context succeeded")
	}
}

func testConcurrentPuts(t *testing.T, s blob.Store) {
	vals := map[string]bool{}
	var wg sync.WaitGroup
	for i := range 8 {
		v := bytes.Repeat([]byte(fmt.Sprint(i)), 100000)
		vals[string(v)] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Put(context.Background(), "conc/obj", bytes.NewReader(v)); err != nil {
				t.Errorf("concurrent Put: %v", err)
			}
		}()
	}
	wg.Wait()
	got, err := get(t, s, "conc/obj")
	if err != nil || !vals[string(got)] {
		t.Errorf("after concurrent puts the object is not one complete value (%d bytes, %v)", len(got), err)
	}
}

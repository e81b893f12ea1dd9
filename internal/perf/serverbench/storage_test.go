package serverbench

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkStorage: compare put/sealed with put/raw-file and put/raw-aes-gcm
// (and get/… likewise) for each size; `obscura bench` prints the ratios.
func BenchmarkStorage(b *testing.B) {
	ctx := context.Background()
	e, err := NewStorageEnv(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	for _, size := range Sizes {
		for _, c := range e.StorageCases(ctx, size) {
			b.Run(fmt.Sprintf("%dKiB/%s", size>>10, c.Name), c.Op)
		}
	}
}

// TestStorageCasesRun checks every case runs once and does real work, so a
// broken benchmark is caught by `make test` rather than at bench time.
func TestStorageCasesRun(t *testing.T) {
	ctx := context.Background()
	e, err := NewStorageEnv(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	cases := e.StorageCases(ctx, 100<<10)
	if len(cases) != 6 {
		t.Fatalf("%d cases, want 6", len(cases))
	}
	for _, c := range cases {
		if c.Setup != nil {
			if err := c.Setup(); err != nil {
				t.Fatalf("%s setup: %v", c.Name, err)
			}
		}
		if err := c.Run(2); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
	}
}

// BenchmarkAPI: GET /v1/tenant through the whole stack (auth, rate limit,
// durable audit append, metrics, logging) beside a bare net/http handler.
func BenchmarkAPI(b *testing.B) {
	e, err := NewAPIEnv(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	for name, h := range e.Handlers() {
		b.Run(name, e.Parallel(h))
	}
}

func TestAPICasesRun(t *testing.T) {
	e, err := NewAPIEnv(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for name, h := range e.Handlers() {
		if _, err := e.P99(h, 5); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/blob"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/sealed"
	"github.com/obscuraproject/obscura/internal/testkit"
	"github.com/obscuraproject/obscura/internal/upload"
)

// fullDisk is a blob store that fails with ENOSPC, the way a full
// filesystem does, while full is set.
type fullDisk struct {
	blob.Store
	full atomic.Bool
}

func (d *fullDisk) err() error {
	return fault.Wrap(fault.Unavailable, "blob store unavailable", &fs.PathError{Op: "write", Path: "blob", Err: syscall.ENOSPC})
}

func (d *fullDisk) Put(ctx context.Context, key string, r io.Reader) error {
	if d.full.Load() {
		io.Copy(io.Discard, r)
		return d.err()
	}
	return d.Store.Put(ctx, key, r)
}

func (d *fullDisk) Probe(context.Context) error {
	if d.full.Load() {
		return d.err()
	}
	return nil
}

// Issue 17.2: a full disk answers 503 storage_full with Retry-After (not
// 500), /readyz is 503 while it lasts, and both recover without a restart;
// issue 17.3: the failed PUT's URL still works afterwards.
func TestStorageFull(t *testing.T) {
	t.Parallel()
	k := testkit.New(t, nil)
	disk := &fullDisk{Store: k.Blobs}
	up := upload.New(upload.DefaultConfig(), k.Store, sealed.New(disk, k.Keys), k.Keys, upload.NewCodec(k.Keys.TokenAEAD()), k.Clock)
	a := New(Deps{Store: k.Store, Keys: k.Keys, Auth: auth.New(k.Store, k.Keys, k.Clock), Clock: k.Clock, Log: k.Log,
		Registry: prometheus.NewRegistry(), Version: "t", Uploads: up, Ready: []func(context.Context) error{disk.Probe}})
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	a.d.PublicURL = srv.URL
	key, _ := k.Tenant(t, "ten_a")
	do := func(method, url, key, ctype string, body []byte) (int, http.Header, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, url, bytes.NewReader(body))
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, b
	}
	code, _, b := do("POST", srv.URL+"/v1/uploads", key, "application/json", []byte(`{"subject":"user-1","content_type":"image/jpeg"}`))
	var grant struct {
		UploadURL string `json:"upload_url"`
	}
	if json.Unmarshal(b, &grant); code != 201 || grant.UploadURL == "" {
		t.Fatalf("create upload: %d %s", code, b)
	}
	pic := photo(t, 40, 30)

	disk.full.Store(true)
	code, h, b := do("PUT", grant.UploadURL, "", "image/jpeg", pic)
	if code != 503 || codeOf(t, b) != "storage_full" || h.Get("Retry-After") != "30" || h.Get("Content-Type") != "application/problem+json" {
		t.Errorf("PUT on a full disk: %d Retry-After=%q %s", code, h.Get("Retry-After"), b)
	}
	if code, _, b := do("GET", srv.URL+"/readyz", "", "", nil); code != 503 || codeOf(t, b) != "storage_full" {
		t.Errorf("readyz on a full disk: %d %s", code, b)
	}

	disk.full.Store(false)
	if code, _, b := do("GET", srv.URL+"/readyz", "", "", nil); code != 200 {
		t.Errorf("readyz after space was made: %d %s", code, b)
	}
	if code, _, b := do("PUT", grant.UploadURL, "", "image/jpeg", pic); code != 201 {
		t.Errorf("retry of the same URL after space was made: %d %s", code, b)
	}
}

// The error table maps storage-full errors from either backend to 503
// storage_full with Retry-After, whatever else wraps them.
func TestProblemForStorageFull(t *testing.T) {
	t.Parallel()
	for name, err := range map[string]error{
		"ENOSPC from the blob store": fault.Wrap(fault.Unavailable, "blob store unavailable", &fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}),
		"SQLITE_FULL from the store": fault.Wrap(fault.Unavailable, "storage is full", fault.ErrStorageFull),
		"plain ENOSPC":               &fs.PathError{Op: "sync", Path: "x", Err: syscall.ENOSPC},
	} {
		p := ProblemFor(err)
		if p.Status != 503 || p.Code != "storage_full" || p.GetHeaders().Get("Retry-After") == "" {
			t.Errorf("%s: %d %s Retry-After=%q", name, p.Status, p.Code, p.GetHeaders().Get("Retry-After"))
		}
	}
	if p := ProblemFor(fault.Wrap(fault.Unavailable, "blob store unavailable", syscall.EIO)); p.Code != "unavailable" {
		t.Errorf("EIO: %s, want unavailable", p.Code)
	}
}

// notice_version has no default: a grant without it is refused with
// invalid_request naming the field (issue 17.11), and nothing is recorded.
func TestGrantWithoutNoticeVersion(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	url := e.srv.URL + "/v1/subjects/alice/consents"
	code, _, b := e.req(t, "POST", url, e.keys["a"], "application/json", []byte(`{"purpose":"tagging"}`))
	var p Problem
	json.Unmarshal(b, &p)
	if code != 422 || p.Code != "invalid_request" || len(p.Errors) != 1 || !strings.Contains(p.Errors[0].Message, "notice_version") {
		t.Errorf("grant without notice_version: %d %s", code, b)
	}
	if code, _, b := e.req(t, "GET", url, e.keys["a"], "", nil); code != 200 || strings.Contains(string(b), `"tagging"`) {
		t.Errorf("consents after the refused grant: %d %s", code, b)
	}
}

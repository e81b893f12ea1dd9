package api

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/obscuraproject/obscura/internal/api/generated"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/draft"
	"github.com/obscuraproject/obscura/internal/provenance"
	"github.com/obscuraproject/obscura/internal/testkit"
)

func TestVerifyProvenance(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := testkit.New(t, nil)
	prov := provenance.New(k.Keys, k.Store, k.Clock, k.Log, provenance.Options{Version: "t"})
	if err := prov.Init(ctx); err != nil {
		t.Fatal(err)
	}
	a := New(Deps{Store: k.Store, Keys: k.Keys, Auth: auth.New(k.Store, k.Keys, k.Clock), Clock: k.Clock, Log: k.Log,
		Registry: prometheus.NewRegistry(), Version: "t", Provenance: prov})
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	keyA, _ := k.Tenant(t, "ten_a")
	keyB, _ := k.Tenant(t, "ten_b")
	ingestA, _ := k.Key(t, "ten_a", auth.ScopeIngest)

	img := image.NewRGBA(image.Rect(0, 0, 200, 150))
	for y := range 150 {
		for x := range 200 {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x + y), 255})
		}
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	out, err := prov.Stamp(ctx, draft.StampInput{Tenant: "ten_a", Subject: "h", SourceAsset: "ast_1",
		Generator: draft.Generator{Feature: "meme", Name: "template:t", Version: "1"}, JPEG: buf.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	post := func(key string, body []byte) (int, []byte) {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/provenance/verify", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/octet-stream")
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	code, b := post(keyA, out.JPEG)
	var v provenance.Verification
	if json.Unmarshal(b, &v); code != 200 || !v.C2PA.Valid || !v.Watermark.Found || len(v.C2PA.Actions) != 2 {
		t.Fatalf("own tenant: %d %s", code, b)
	}
	code, b = post(keyB, out.JPEG)
	v = provenance.Verification{}
	if json.Unmarshal(b, &v); code != 200 || !v.C2PA.Valid || v.Watermark.Found {
		t.Fatalf("other tenant: %d %s", code, b)
	}
	problem := func(name, key string, body []byte, status int, code string) {
		t.Run(name, func(t *testing.T) {
			got, b := post(key, body)
			var p Problem
			json.Unmarshal(b, &p)
			if got != status || p.Code != code {
				t.Fatalf("%d %s, want %d %s", got, b, status, code)
			}
		})
	}
	problem("no key", "", out.JPEG, 401, "unauthenticated")
	problem("ingest scope", ingestA, out.JPEG, 403, "forbidden")
	problem("not an image", keyA, []byte("definitely not an image"), 422, "image_invalid")
	problem("too large", keyA, make([]byte, generated.MaxVerifyBytes+1), 413, "too_large")
}

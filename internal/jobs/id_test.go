package jobs

import (
	"strings"
	"testing"
)

// TestJobIDsOpaque is the regression for job ids being River's one
// sequence across tenants (a tenant could infer the installation's
// volume): public ids are opaque, unordered, tenant-bound and stable for a
// key.
func TestJobIDsOpaque(t *testing.T) {
	c := newIDCodec([]byte("installation key"))
	seen := map[string]bool{}
	for id := int64(1); id <= 200; id++ {
		p := c.encode("ten_a", id)
		if !strings.HasPrefix(p, "job_") || len(p) != 30 || seen[p] {
			t.Fatalf("id %d encodes as %q", id, p)
		}
		seen[p] = true
		if got, ok := c.decode("ten_a", p); !ok || got != id {
			t.Fatalf("decode(%q) = %d, %v", p, got, ok)
		}
		if _, ok := c.decode("ten_b", p); ok {
			t.Fatalf("tenant b decodes tenant a's job %d", id)
		}
	}
	if a, b := c.encode("ten_a", 7), c.encode("ten_b", 7); a == b {
		t.Error("the same job number encodes alike for two tenants")
	}
	if newIDCodec([]byte("installation key")).encode("ten_a", 7) != c.encode("ten_a", 7) {
		t.Error("ids not stable across codecs with the same key")
	}
	if newIDCodec([]byte("other key")).encode("ten_a", 7) == c.encode("ten_a", 7) {
		t.Error("ids do not depend on the key")
	}
	for _, bad := range []string{"", "7", "job_", "job_" + strings.Repeat("a", 26), "job_" + strings.Repeat("!", 26), c.encode("ten_a", 7) + "a"} {
		if _, ok := c.decode("ten_a", bad); ok {
			t.Errorf("decode(%q) accepted", bad)
		}
	}
}

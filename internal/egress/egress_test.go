package egress

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestPublic(t *testing.T) {
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"93.184.216.34", true},
		{"2606:2800:220:1:248:1893:25c8:1946", true},
		{"8.8.8.8", true},
		{"127.0.0.1", false},
		{"127.255.1.2", false},
		{"::1", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"192.168.1.1", false},
		{"fd00::1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"fe80::1", false},
		{"224.0.0.1", false},
		{"ff02::1", false},
		{"0.0.0.0", false},
		{"::", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:169.254.169.254", false},
		{"::ffff:10.0.0.1", false},
		{"::127.0.0.1", false}, // IPv4-compatible
		{"64:ff9b::7f00:1", false},
		{"2002:7f00:1::", false},
		{"100.64.0.1", false},
		{"255.255.255.255", false},
		{"198.18.0.1", false},
	} {
		if got := Public(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("Public(%s) = %v, want %v", tc.ip, got, tc.want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	def, _ := NewPolicy(nil)
	dev, err := NewPolicy([]string{"127.0.0.1", "10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p    *Policy
		url  string
		want bool
	}{
		{def, "https://hooks.example.com/x?sig=1", true},
		{def, "https://93.184.216.34/x", true},
		{def, "http://hooks.example.com/x", false},
		{def, "http://127.0.0.1:8080/x", false},
		{def, "http://localhost:8080/x", false},
		{def, "https://127.0.0.1/x", false},
		{def, "https://[::1]/x", false},
		{def, "https://[::ffff:127.0.0.1]/x", false},
		{def, "https://169.254.169.254/latest/meta-data", false},
		{def, "https://10.0.0.5/x", false},
		{def, "https://[fe80::1%25eth0]/x", false},
		{def, "https://user:pw@hooks.example.com/x", false},
		{def, "ftp://hooks.example.com/x", false},
		{def, "https:///x", false},
		{def, "https://h.example/" + strings.Repeat("a", MaxURLBytes), false},
		{dev, "http://127.0.0.1:8080/x", true},
		{dev, "http://localhost:8080/x", true},
		{dev, "https://10.2.3.4/x", true},
		{dev, "http://192.168.1.1/x", false},
	} {
		err := tc.p.CheckURL(tc.url)
		if (err == nil) != tc.want {
			t.Errorf("CheckURL(%.60s) = %v, want ok=%v", tc.url, err, tc.want)
		}
		if err != nil && !errors.Is(err, ErrURL) {
			t.Errorf("CheckURL(%.60s): %v is not ErrURL", tc.url, err)
		}
	}
	if _, err := NewPolicy([]string{"not-an-ip"}); err == nil {
		t.Error("bad allow-list entry accepted")
	}
}

// TestClientChecksDialledAddress: the check is on the address connected
// to, after resolution, so a name (localhost here; a rebinding name in an
// attack) that resolves to loopback is refused although the URL check
// cannot see its address.
func TestClientChecksDialledAddress(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	def, _ := NewPolicy(nil)
	for _, u := range []string{srv.URL, "http://localhost" + port} {
		_, err := def.Client(2 * time.Second).Get(u)
		if !errors.Is(err, ErrAddress) || !Refused(err) {
			t.Errorf("GET %s with the default policy: err = %v, want ErrAddress", u, err)
		}
	}
	if hits != 0 {
		t.Fatalf("server reached %d times", hits)
	}
	dev, _ := NewPolicy([]string{"127.0.0.0/8", "::1"})
	resp, err := dev.Client(2 * time.Second).Get(srv.URL)
	if err != nil {
		t.Fatalf("allow-listed loopback: %v", err)
	}
	resp.Body.Close()
	if hits != 1 {
		t.Errorf("hits = %d, want 1", hits)
	}
}

// TestClientDoesNotFollowRedirects: a public endpoint could redirect to an
// internal one; the 3xx is returned instead.
func TestClientDoesNotFollowRedirects(t *testing.T) {
	inner := 0
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { inner++ }))
	defer target.Close()
	redir := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	defer redir.Close()
	dev, _ := NewPolicy([]string{"127.0.0.1"})
	resp, err := dev.Client(2*time.Second).Post(redir.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || inner != 0 {
		t.Errorf("status %d, redirect target reached %d times", resp.StatusCode, inner)
	}
}

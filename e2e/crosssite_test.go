package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestLinksOpenedFromAnotherSite: an app hands its user the privacy link
// on the app's own site, so the browser opens it cross-site — where a
// SameSite=Strict cookie is not sent along a redirect. The page must
// still open signed in.
func TestLinksOpenedFromAnotherSite(t *testing.T) {
	t.Parallel()
	s, data := sharedServer(t)
	tn := createTenant(t, data, "Cross Site App")
	code, b := do(t, "POST", s.base+"/v1/subjects/someone/privacy-link", tn.APIKey, nil)
	if code != 201 {
		t.Fatalf("privacy link: %d %s", code, b)
	}
	link := strings.Split(strings.Split(string(b), `"url":"`)[1], `"`)[0]
	var console struct {
		URL string `json:"url"`
	}
	json.Unmarshal(obscura(t, data, "console", "link", "--json", "--addr", strings.TrimPrefix(s.base, "http://")), &console)
	// The app's page, on another site (localhost is not 127.0.0.1's site);
	// a mail or chat client opening the console link is the same.
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<!doctype html><a id="go" href="` + link + `">Your privacy</a> <a id="ops" href="` + console.URL + `">Console</a>`))
	}))
	defer app.Close()
	appURL := strings.Replace(app.URL, "127.0.0.1", "localhost", 1)
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(appURL), chromedp.Click(chromedp.CSS("#go")), chromedp.WaitVisible(chromedp.CSS("#purposes-h, .error"))); err != nil {
		t.Fatal(err)
	}
	if page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main"))); err != nil || !strings.Contains(page, "What Obscura may do") {
		t.Fatalf("privacy center opened from another site shows %q (%v)", page, err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(appURL), chromedp.Click(chromedp.CSS("#ops")), chromedp.WaitVisible(chromedp.CSS("#tenants, .error, #login"))); err != nil {
		t.Fatal(err)
	}
	if page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main"))); err != nil || !strings.Contains(page, "installation operator") {
		t.Fatalf("console opened from another site shows %q (%v)", page, err)
	}
}

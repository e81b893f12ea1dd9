package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// privacySession opens a privacy-center session for subject and returns
// a client holding its cookies and the page's CSRF token.
func privacySession(t *testing.T, e *uploadEnv, subject string) (*http.Client, string) {
	t.Helper()
	code, _, b := e.req(t, "POST", e.srv.URL+"/v1/subjects/"+subject+"/privacy-link", e.keys["a"], "", nil)
	var out struct {
		URL string `json:"url"`
	}
	if json.Unmarshal(b, &out); code != 201 {
		t.Fatalf("mint: %d %s", code, b)
	}
	jar := &cookieJar{cookies: map[string]*http.Cookie{}}
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if code, _ := getPage(t, c, out.URL); code != http.StatusOK {
		t.Fatalf("open link: %d", code)
	}
	code, page := getPage(t, c, e.srv.URL+"/privacy")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if code != http.StatusOK || m == nil {
		t.Fatalf("privacy page: %d", code)
	}
	return c, m[1]
}

// cookieJar keeps every cookie for every path (one test server).
type cookieJar struct{ cookies map[string]*http.Cookie }

func (j *cookieJar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	for _, c := range cs {
		j.cookies[c.Name] = c
	}
}

func (j *cookieJar) Cookies(*url.URL) []*http.Cookie {
	var out []*http.Cookie
	for _, c := range j.cookies {
		out = append(out, c)
	}
	return out
}

func getPage(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func postForm(t *testing.T, c *http.Client, u string, form url.Values) int {
	t.Helper()
	res, err := c.Post(u, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestPrivacySessionEndsOnErasure is issue 16 finding 8: a privacy-center
// session must end when its subject is erased — before the fix it
// survived and could re-create consent for the erased subject.
func TestPrivacySessionEndsOnErasure(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	c, csrf := privacySession(t, e, "jo")
	if code := postForm(t, c, e.srv.URL+"/privacy/consent", url.Values{"csrf": {csrf}, "purpose": {"tagging"}, "action": {"grant"}}); code != http.StatusOK {
		t.Fatalf("grant in session: %d", code)
	}
	if code, _, b := e.req(t, "DELETE", e.srv.URL+"/v1/subjects/jo", e.keys["a"], "", nil); code != 200 {
		t.Fatalf("erase: %d %s", code, b)
	}
	if code, _ := getPage(t, c, e.srv.URL+"/privacy"); code != http.StatusUnauthorized {
		t.Errorf("page after erasure: %d, want 401", code)
	}
	if code := postForm(t, c, e.srv.URL+"/privacy/consent", url.Values{"csrf": {csrf}, "purpose": {"tagging"}, "action": {"grant"}}); code != http.StatusUnauthorized {
		t.Errorf("grant after erasure: %d, want 401", code)
	}
	if cs, _ := e.st.Consents(t.Context(), "ten_a", e.api.d.Keys.HashID("subject", "jo")); len(cs) != 0 {
		t.Errorf("the ended session re-created consent: %+v", cs)
	}
}

// TestPrivacySessionEndsOnLinkRevocation: the app revokes the subject's
// links (DELETE /v1/subjects/{subject}/privacy-link) and the session they
// opened ends; an unused link no longer opens; another subject's session
// goes on.
func TestPrivacySessionEndsOnLinkRevocation(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	c, _ := privacySession(t, e, "jo")
	other, _ := privacySession(t, e, "kim")
	code, _, b := e.req(t, "POST", e.srv.URL+"/v1/subjects/jo/privacy-link", e.keys["a"], "", nil)
	var unused struct {
		URL string `json:"url"`
	}
	if json.Unmarshal(b, &unused); code != 201 {
		t.Fatalf("mint: %d", code)
	}
	if code, _, b := e.req(t, "DELETE", e.srv.URL+"/v1/subjects/jo/privacy-link", e.keys["b"], "", nil); code != 200 || !strings.Contains(string(b), `"revoked":0`) {
		t.Errorf("another tenant revoked: %d %s", code, b)
	}
	if code, _, b := e.req(t, "DELETE", e.srv.URL+"/v1/subjects/jo/privacy-link", e.keys["a"], "", nil); code != 200 || !strings.Contains(string(b), `"revoked":2`) {
		t.Fatalf("revoke: %d %s", code, b)
	}
	if code, _ := getPage(t, c, e.srv.URL+"/privacy"); code != http.StatusUnauthorized {
		t.Errorf("page after revocation: %d, want 401", code)
	}
	if code, _ := getPage(t, &http.Client{}, unused.URL); code != http.StatusForbidden {
		t.Errorf("revoked unused link opened: %d", code)
	}
	if code, _ := getPage(t, other, e.srv.URL+"/privacy"); code != http.StatusOK {
		t.Errorf("another subject's session ended: %d", code)
	}
}

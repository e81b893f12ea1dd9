package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/obscuraproject/obscura/internal/models"
)

var updateScreens = flag.Bool("update-screens", false, "write the page screenshots into docs/img")

// browser starts Debian's chromium, headless, with the flags STACK.md
// lists for running as root in a container, and a fresh profile.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium not installed (make test installs Debian's chromium): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 900),
	)
	// Chromium in a container now and then dies while starting (seen
	// once here in about ten runs, with crashpad reporting no stack mapping): start it up
	// to three times, each with a fresh profile, before giving up.
	var lastErr error
	for attempt := range 3 {
		actx, cancel := chromedp.NewExecAllocator(context.Background(), append(opts, chromedp.UserDataDir(t.TempDir()))...)
		ctx, cancel2 := chromedp.NewContext(actx)
		if lastErr = chromedp.Do(ctx); lastErr == nil {
			t.Cleanup(cancel)
			t.Cleanup(cancel2)
			// Bounds a hung browser or server only: the privacy-center
			// walk alone drives dozens of page loads, which on a loaded
			// machine (load 15-20) have taken well over a minute.
			ctx, cancel3 := context.WithTimeout(ctx, 5*time.Minute)
			t.Cleanup(cancel3)
			return ctx
		}
		cancel2()
		cancel()
		t.Logf("chromium start %d failed: %v", attempt+1, lastErr)
		time.Sleep(time.Second)
	}
	t.Fatalf("chromium did not start: %v", lastErr)
	return nil
}

// accessible checks the page now in the browser: every visible control is
// labelled (buttons by their text) and every visible text has a contrast
// of at least 4.5:1 against its background (WCAG AA).
func accessible(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	unlabelled, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`[...document.querySelectorAll('input:not([type=hidden]),select,textarea')].filter(e => !(e.labels && e.labels.length)).length +
		[...document.querySelectorAll('button')].filter(b => !b.textContent.trim()).length`))
	if err != nil || unlabelled != 0 {
		t.Errorf("%s: %v controls without a label (%v)", page, unlabelled, err)
	}
	// Contrast of every visible element that holds text, against the
	// first opaque background behind it.
	worst, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const rgb = c => c.match(/[\d.]+/g).map(Number);
		const lum = c => { const v = rgb(c).slice(0,3).map(x => { x = x/255; return x <= 0.03928 ? x/12.92 : Math.pow((x+0.055)/1.055, 2.4) }); return 0.2126*v[0]+0.7152*v[1]+0.0722*v[2] };
		const bg = e => { for (; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor; const a = rgb(c); if (a.length < 4 || a[3] > 0) return c } return "rgb(255,255,255)" };
		let worst = 99, what = "";
		for (const e of document.querySelectorAll("body *")) {
			if (![...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
			const r = e.getBoundingClientRect(); if (!r.width || !r.height) continue;
			const a = lum(getComputedStyle(e).color), b = lum(bg(e));
			const ratio = (Math.max(a,b)+0.05)/(Math.min(a,b)+0.05);
			if (ratio < worst) { worst = ratio; what = e.tagName + " " + e.textContent.trim().slice(0, 30) }
		}
		return worst.toFixed(2) + " " + what })()`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: lowest text contrast %s", page, worst)
	if ratio, _ := strconv.ParseFloat(strings.Fields(worst)[0], 64); ratio < 4.5 {
		t.Errorf("%s: text contrast %s, want every text ≥ 4.5:1 (WCAG AA)", page, worst)
	}
}

// keyboard checks that tabbing from the top of the page reaches each of
// the controls with the given ids, in that order, and that focus always
// lands on something visible.
func keyboard(t *testing.T, ctx context.Context, page string, ids ...string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.activeElement && document.activeElement.blur(), window.scrollTo(0, 0), true`)); err != nil {
		t.Fatal(err)
	}
	next := 0
	for range 400 {
		if next == len(ids) {
			return
		}
		if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
			t.Fatal(err)
		}
		state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const e = document.activeElement; const r = e.getBoundingClientRect();
			return (r.width > 0 && r.height > 0 ? "" : "hidden:") + (e.id || e.tagName) })()`))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(state, "hidden:") {
			t.Errorf("%s: keyboard focus on an invisible element %s", page, state)
		}
		if state == ids[next] {
			next++
		}
	}
	t.Errorf("%s: tabbing reached %v of %v in order", page, ids[:next], ids)
}

// submit clicks sel, which posts a form, and waits for the answer's
// notice; the notice of an earlier answer is removed first, so it cannot
// be mistaken for this one.
func submit(t *testing.T, ctx context.Context, sel string, before ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelectorAll('.notice,.error').forEach(e => e.remove()), true`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, append(before, chromedp.Click(chromedp.CSS(sel)), chromedp.WaitVisible(chromedp.CSS(".notice")))...); err != nil {
		t.Fatalf("%s: %v", sel, err)
	}
}

// screenshot saves a full-page PNG in the test output dir
// ($OBSCURA_TEST_OUT, else a temp dir) and, with -update-screens, in
// docs/img.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("OBSCURA_TEST_OUT")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	if *updateScreens {
		if err := os.WriteFile(filepath.Join("..", "docs", "img", name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDemoPageInBrowser: on a real `obscura serve`, the demo page in
// chromium — every control labelled, readable contrast, reachable by
// keyboard — uploads a sample photo through the form and shows its three
// faces boxed and its tags.
func TestDemoPageInBrowser(t *testing.T) {
	t.Parallel()
	s, _ := sharedServer(t)
	ctx := browser(t)
	photo := filepath.Join(models.DefaultDir(os.Getenv), "sample1.jpg")

	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.base+"/demo"),
		chromedp.WaitVisible(chromedp.CSS("#photo")),
	); err != nil {
		t.Fatalf("demo page: %v (server log: %s)", err, s.logs.String())
	}
	accessible(t, ctx, "demo page")
	// Keyboard: tabbing from the top reaches the file input, the sample
	// photo picker, the four checkboxes, the meme-drafts checkbox and the
	// submit button, in that order.
	var order []string
	for range 8 {
		if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
			t.Fatal(err)
		}
		id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id || document.activeElement.type || document.activeElement.tagName`))
		if err != nil {
			t.Fatal(err)
		}
		order = append(order, id)
	}
	if order[0] != "photo" || order[1] != "sample" || order[2] != "checkbox" || order[5] != "checkbox" || order[6] != "memes" || order[7] != "submit" {
		t.Errorf("keyboard order %v, want photo, sample, four checkboxes, memes, submit", order)
	}
	screenshot(t, ctx, "demo-form")

	if err := chromedp.Do(ctx,
		chromedp.SetUploadFiles(chromedp.CSS("#photo"), []string{photo}),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#faces-count")),
	); err != nil {
		t.Fatalf("upload: %v (server log: %s)", err, s.logs.String())
	}
	count, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#faces-count")))
	if err != nil {
		t.Fatal(err)
	}
	faces, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelectorAll('svg rect.face').length`))
	if err != nil || faces != 3 || count != "3 faces found." {
		t.Errorf("%v boxes, %q (%v); want the three faces of sample1", faces, count, err)
	}
	tags, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("ul.tags")))
	if err != nil || !strings.Contains(tags, "person") {
		t.Errorf("tags %q: %v", tags, err)
	}
	screenshot(t, ctx, "demo-result")
}

// TestPrivacyCenterInBrowser: the app asks for a privacy link; the
// subject opens it in chromium, sees their photos, the person tagged
// through the app and the pending face suggestions, rejects one, allows
// tagging and sees the receipt, revokes face recognition and sees the
// gallery empty, must confirm before allowing it again, and erases
// everything — after which a new link shows no photos; a link works once.
func TestPrivacyCenterInBrowser(t *testing.T) {
	t.Parallel()
	s, data := sharedServer(t)
	tn := createTenant(t, data, "Privacy App")
	const subj = "subject-privacy-01"
	photo, err := os.ReadFile(filepath.Join(models.DefaultDir(os.Getenv), "sample2.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	single := uploadPhotoAs(t, s, tn.APIKey, subj, photo)
	strangers := uploadPhotoAs(t, s, tn.APIKey, "someone-else", photo)
	// Through the app: face detection and recognition allowed, a group
	// photo's faces found and suggested, one tagged "Nora".
	for _, purpose := range []string{"face_detection", "face_recognition"} {
		if code, b := do(t, "POST", s.base+"/v1/subjects/"+subj+"/consents", tn.APIKey, []byte(`{"purpose":"`+purpose+`","notice_version":"1"}`)); code != 201 {
			t.Fatalf("grant: %d %s", code, b)
		}
	}
	group, err := os.ReadFile(filepath.Join(models.DefaultDir(os.Getenv), "sample1.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	groupID := uploadPhotoAs(t, s, tn.APIKey, subj, group)
	if code, b := do(t, "POST", s.base+"/v1/assets/"+groupID+"/analyze", tn.APIKey, []byte(`{"features":["faces"]}`)); code != 200 {
		t.Fatalf("analyze: %d %s", code, b)
	}
	_, b := do(t, "POST", s.base+"/v1/assets/"+groupID+"/faces/suggest", tn.APIKey, nil)
	var sg struct {
		Faces []struct {
			SuggestionID string `json:"suggestion_id"`
		} `json:"faces"`
	}
	if json.Unmarshal(b, &sg); len(sg.Faces) != 3 {
		t.Fatalf("suggest: %s", b)
	}
	if code, b := do(t, "POST", s.base+"/v1/suggestions/"+sg.Faces[0].SuggestionID+"/accept", tn.APIKey, []byte(`{"person":"Nora"}`)); code != 200 {
		t.Fatalf("accept: %d %s", code, b)
	}
	link := func() string {
		code, b := do(t, "POST", s.base+"/v1/subjects/"+subj+"/privacy-link", tn.APIKey, nil)
		var out struct {
			URL string `json:"url"`
		}
		if json.Unmarshal(b, &out); code != 201 || !strings.HasPrefix(out.URL, s.base+"/privacy/open/pt1.") {
			t.Fatalf("privacy link: %d %s", code, b)
		}
		return out.URL
	}
	ctx := browser(t)
	text := func(sel string) string {
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("%s: %v (server log: %s)", sel, err, s.logs.String())
		}
		return v
	}
	first := link()
	if err := chromedp.Do(ctx, chromedp.Navigate(first), chromedp.WaitVisible(chromedp.CSS("#purposes-h"))); err != nil {
		t.Fatalf("open link: %v (server log: %s)", err, s.logs.String())
	}
	if got := text("#photo-count"); !strings.HasPrefix(got, "2 photos stored,") {
		t.Errorf("photos: %q", got)
	}
	// Each photo with what was derived from it: the group photo's stored
	// face boxes, its tag and its pending faces; the photo itself shows.
	if got := text("#photo-" + groupID); !strings.Contains(got, "Faces found: 3") || !strings.Contains(got, "People tagged: Nora.") ||
		!strings.Contains(got, "2 faces wait for your answer") || !strings.Contains(got, "Kept until") {
		t.Errorf("group photo: %q", got)
	}
	if got := text("#photo-" + single); !strings.Contains(got, "Nothing derived from it is stored.") {
		t.Errorf("single photo: %q", got)
	}
	// The photos load (lazily: scrolled into view first).
	shown := 0.0
	for deadline := time.Now().Add(60 * time.Second); shown != 1 && time.Now().Before(deadline); {
		if shown, err = chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector('#photos').scrollIntoView(),
			document.querySelectorAll('#photos img').length && [...document.querySelectorAll('#photos img')].every(i => i.complete && i.naturalWidth > 0) ? 1 : 0`)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if shown != 1 {
		t.Error("the photos are not shown")
	}
	// Delete one photo from the center.
	submit(t, ctx, "#delete-"+single)
	if got := text("#photo-count"); !strings.HasPrefix(got, "1 photo stored,") {
		t.Errorf("after deleting one: %q", got)
	}
	if c, _ := do(t, "POST", s.base+"/v1/assets/"+single+"/download", tn.APIKey, nil); c != 404 {
		t.Errorf("photo deleted in the center still downloads: %d", c)
	}
	if got := text("#people"); !strings.Contains(got, "Nora") || !strings.Contains(got, "(1 face)") {
		t.Errorf("gallery: %q", got)
	}
	pending, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelectorAll('#pending li').length`))
	if err != nil || pending != 2 {
		t.Errorf("%v pending suggestions (%v), want 2", pending, err)
	}
	// Each pending face is shown cropped from its photo.
	if crops, _ := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelectorAll('#pending svg.face-crop image[href^="/privacy/photo/"]').length`)); crops != 2 {
		t.Errorf("%v face crops, want 2", crops)
	}
	// Reject one suggestion ("Suggest tag for this face?" → not now).
	submit(t, ctx, `#pending li:first-child button[value=reject]`)
	if pending, _ = chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelectorAll('#pending li').length`)); pending != 1 {
		t.Errorf("%v pending after reject, want 1", pending)
	}
	accessible(t, ctx, "privacy center")
	keyboard(t, ctx, "privacy center", "delete-"+groupID, "export", "confirm-erase", "erase")
	screenshot(t, ctx, "privacy-gallery")
	if got := text("#state-tagging"); got != "not allowed" {
		t.Errorf("tagging before: %q", got)
	}
	// Allow tagging: state flips, a receipt appears.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#grant-tagging")), chromedp.WaitVisible(chromedp.CSS("#revoke-tagging"))); err != nil {
		t.Fatal(err)
	}
	if got := text("#state-tagging"); got != "allowed" {
		t.Errorf("tagging after: %q", got)
	}
	if got := text("#receipts"); !strings.Contains(got, "grant tagging") || !strings.Contains(got, "via privacy-center") {
		t.Errorf("receipts %q", got)
	}
	screenshot(t, ctx, "privacy-center")
	// Revoking the biometric purpose empties the gallery and forgets the
	// pending faces.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#revoke-face_recognition")), chromedp.WaitVisible(chromedp.CSS("#people-empty"))); err != nil {
		t.Fatal(err)
	}
	if got := text("#pending-empty"); got == "" {
		t.Error("pending suggestions survived the revocation")
	}
	// Allowing it again needs the explicit confirmation.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#grant-face_recognition")), chromedp.WaitVisible(chromedp.CSS(".error"))); err != nil {
		t.Fatal(err)
	}
	if got := text("#state-face_recognition"); got != "not allowed" {
		t.Errorf("biometric without confirmation: %q", got)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#confirm-face_recognition")), chromedp.Click(chromedp.CSS("#grant-face_recognition")),
		chromedp.WaitVisible(chromedp.CSS("#revoke-face_recognition"))); err != nil {
		t.Fatal(err)
	}
	// Another subject's photo is not reachable from this session.
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/privacy/photo/"+strangers)); err != nil {
		t.Fatal(err)
	}
	if got := text("body"); !strings.Contains(got, "404") {
		t.Errorf("another subject's photo: %q", got)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/privacy"), chromedp.WaitVisible(chromedp.CSS("#erase"))); err != nil {
		t.Fatal(err)
	}
	// Erase everything.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#confirm-erase")), chromedp.Click(chromedp.CSS("#erase")), chromedp.WaitVisible(chromedp.CSS("#erased"))); err != nil {
		t.Fatal(err)
	}
	// The first link worked once; a fresh link shows nothing left.
	if err := chromedp.Do(ctx, chromedp.Navigate(first), chromedp.WaitVisible(chromedp.CSS(".error"))); err != nil {
		t.Fatal(err)
	}
	// Erasure deleted the subject's links (issue 16.8), so the used link
	// is now unknown rather than "already used".
	if got := text(".error"); !strings.Contains(got, "not valid") {
		t.Errorf("reused link: %q", got)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(link()), chromedp.WaitVisible(chromedp.CSS("#photo-count"))); err != nil {
		t.Fatal(err)
	}
	if got := text("#photo-count"); !strings.HasPrefix(got, "0 photos stored,") {
		t.Errorf("after erase: %q", got)
	}
	if got := text("#people-empty"); got == "" {
		t.Error("gallery not shown empty")
	}
	if strings.Contains(s.logs.String(), subj) {
		t.Error("server log holds the raw subject id")
	}
}

// TestOperatorConsoleInBrowser: an operator signs in with the tenant's
// admin key, flips the analyze kill switch and the running server refuses
// analysis (503 kill_switch) until it is resumed; "verify chain" reports
// an intact audit log; a wrong key is refused.
func TestOperatorConsoleInBrowser(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	tn := createTenant(t, data, "Ops App")
	s := startServer(t, data)
	ctx := browser(t)
	analyze := func() int {
		code, _ := do(t, "POST", s.base+"/v1/assets/ast_nothere/analyze", tn.APIKey, []byte(`{"features":["tags"]}`))
		return code
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/console"), chromedp.WaitVisible(chromedp.CSS("#key")),
		chromedp.SendKeys(chromedp.CSS("#key"), "obs_not_a_key"), chromedp.Click(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS(".error"))); err != nil {
		t.Fatalf("bad login: %v (server log: %s)", err, s.logs.String())
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#key"), tn.APIKey), chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#kill-h"))); err != nil {
		t.Fatalf("login: %v (server log: %s)", err, s.logs.String())
	}
	if code := analyze(); code != 404 {
		t.Fatalf("analyze before the switch: %d", code)
	}
	submit(t, ctx, "#kill-on", chromedp.SetValue(chromedp.CSS("#feature"), "analyze"))
	active, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#kill-active")))
	if err != nil || !strings.Contains(active, "feature:analyze") {
		t.Errorf("active switches %q (%v)", active, err)
	}
	if code := analyze(); code != 503 {
		t.Errorf("analyze with the switch on: %d, want 503", code)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#verify")), chromedp.WaitVisible(chromedp.CSS("#verify-result"))); err != nil {
		t.Fatal(err)
	}
	if got, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#verify-result"))); !strings.HasPrefix(got, "Chain intact") {
		t.Errorf("verify: %q", got)
	}
	// A new key is shown once; a dry run counts without deleting.
	submit(t, ctx, "#create-key", chromedp.Click(chromedp.CSS("#scope-analyze")))
	if key, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#new-key"))); err != nil || !strings.HasPrefix(key, "obs_") {
		t.Errorf("new key %q (%v)", key, err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#purge-scope-tenant")), chromedp.Click(chromedp.CSS("#purge-dry")), chromedp.WaitVisible(chromedp.CSS("#purge-result"))); err != nil {
		t.Fatal(err)
	}
	if got, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#purge-result"))); !strings.HasPrefix(got, "Dry run: a purge would delete 0 subjects") {
		t.Errorf("dry run: %q", got)
	}
	// htmx is live (the CSP lets the embedded script run) and a form post
	// swaps the page in place: a marker set on the window survives it.
	if v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(window.__kept = 1, typeof htmx === "object" ? htmx.version : "none")`)); err != nil || v != "4.0.1" {
		t.Errorf("htmx %q (%v)", v, err)
	}
	submit(t, ctx, "#kek-rotate")
	if kept, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.__kept || 0`)); err != nil || kept != 1 {
		t.Errorf("the form post reloaded the page instead of swapping it (%v)", err)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelectorAll('#versions tbody tr').length`)); n != 2 {
		t.Errorf("%v key versions after rotate, want 2", n)
	}
	accessible(t, ctx, "operator console")
	keyboard(t, ctx, "operator console", "kill-on", "create-key", "kek-rotate", "kek-revoke", "verify", "purge-dry", "forensic-export")
	screenshot(t, ctx, "operator-console")
	submit(t, ctx, "#kill-off", chromedp.SetValue(chromedp.CSS("#feature"), "analyze"))
	if code := analyze(); code != 404 {
		t.Errorf("analyze after resuming: %d", code)
	}
	// The installation operator, through a console link, sees every tenant.
	var link struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal(obscura(t, data, "console", "link", "--json", "--addr", strings.TrimPrefix(s.base, "http://")), &link); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(link.URL), chromedp.WaitVisible(chromedp.CSS("#tenants"))); err != nil {
		t.Fatal(err)
	}
	submit(t, ctx, "#create-tenant", chromedp.SendKeys(chromedp.CSS("#tenant-name-new"), "Second App"))
	if rows, _ := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelectorAll('#tenants tbody tr').length`)); rows != 3 { // Ops App, the loopback demo tenant, Second App
		t.Errorf("%v tenants listed, want 3", rows)
	}
	// The key is not shown again (and the screenshot holds none).
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/console"), chromedp.WaitVisible(chromedp.CSS("#tenants"))); err != nil {
		t.Fatal(err)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelectorAll('#new-key').length`)); n != 0 {
		t.Error("the new tenant's key is shown a second time")
	}
	accessible(t, ctx, "installation console")
	keyboard(t, ctx, "installation console", "create-tenant", "kill-on", "verify", "forensic-export")
	screenshot(t, ctx, "installation-console")
}

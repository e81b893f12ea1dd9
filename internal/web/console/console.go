// Package console is the operator console: an app's operator signs in with an admin API key
// (checked like any API request) and gets a 30-minute session cookie
// naming the tenant and key; each request checks that the key is still
// active, so revoking it ends the session at once. It shows the tenant,
// its kill switches (stop and resume, taking effect at once), API keys
// (create, shown once; revoke), key-encryption-key versions (rotate,
// rewrap, revoke a version), alerts, the audit log with a "verify chain"
// button, purge with a dry run, and a signed forensic export of the
// tenant's audit trail. Every change is a CSRF-checked form post and is
// audited like its API or CLI counterpart.
//
// The installation operator signs in through a single-use link from
// `obscura console link` (their session lives while that link is not
// revoked by `obscura console sign-out`): they see every tenant, create
// tenants, act on one tenant by naming it, and use the kill switches,
// alerts, audit log and forensic export of the whole installation.
package console

import (
	"context"
	"crypto/ed25519"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/obscuraproject/obscura/internal/analytics"
	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/clock"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/incident"
	"github.com/obscuraproject/obscura/internal/keyring"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/tenant"
	"github.com/obscuraproject/obscura/internal/upload"
	"github.com/obscuraproject/obscura/internal/web"
)

//go:embed templates/*.html
var templateFS embed.FS

const operatorCookie = "obscura_operator"

type authenticator interface {
	Authenticate(ctx context.Context, header string) (auth.Principal, error)
}

type consoleStore interface {
	Tenant(ctx context.Context, id string) (store.Tenant, error)
	Tenants(ctx context.Context) ([]store.Tenant, error)
	CreateTenant(ctx context.Context, t store.Tenant, first store.APIKey) error
	CreateConsoleLink(ctx context.Context, id string, expires time.Time) error
	ConsumeConsoleLink(ctx context.Context, id string, at time.Time) (time.Time, error)
	ConsoleLinkLive(ctx context.Context, id string) (bool, error)
	APIKeyForAuth(ctx context.Context, id string) (store.APIKey, error)
	CreateAPIKey(ctx context.Context, k store.APIKey) error
	APIKeys(ctx context.Context, tenantID string) ([]store.APIKey, error)
	RevokeAPIKey(ctx context.Context, tenantID, keyID string, at time.Time) error
	Alerts(ctx context.Context, tenantID string, limit int) ([]store.Alert, error)
	AuditRange(ctx context.Context, tenantID string, after int64, limit int) ([]store.AuditRecord, error)
	AuditTail(ctx context.Context, tenantID string, before int64, limit int) ([]store.AuditRecord, error)
	AuditCheckpoints(ctx context.Context) ([]store.AuditCheckpoint, error)
	AppendAudit(ctx context.Context, build func(tipSeq int64, tipHash string) ([]store.AuditRecord, *store.AuditCheckpoint, error)) error
}

// Console is the operator console.
type Console struct {
	Tokens web.TokenCodec
	Auth   authenticator
	Kill   killSwitches
	Store  consoleStore
	Audit  web.AuditLog
	// Alerts, when set, sees refused sign-ins (failed_auth_burst).
	Alerts interface {
		Observe(ctx context.Context, e audit.Entry)
	}
	AuditKey func(ctx context.Context) (ed25519.PublicKey, error)
	Keys     kekService
	// Operator performs key, KEK and kill-switch changes, audited as
	// every channel audits them.
	Operator operatorActions
	Purge    purger
	// Plugins, when set, lists the installed plugins (each can be disabled
	// with its kill switch feature plugin:<name>).
	Plugins pluginLister
	// Forensic builds the signed forensic bundle of [from, to): the
	// tenant's, or ("") the installation's.
	Forensic func(ctx context.Context, tenant string, from, to time.Time) (incident.Bundle, error)
	Now      func() time.Time
	Log      *slog.Logger
	// Analytics answers the analytics section's queries; nil hides it.
	Analytics analyticsQuerier
	tmpl      *template.Template
}

// Handler serves /console and its forms.
func (c *Console) Handler() http.Handler {
	c.tmpl = web.PageTemplate(templateFS, "templates/console.html", "templates/console_analytics.html")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /console", c.page)
	mux.HandleFunc("POST /console/login", c.login)
	mux.HandleFunc("GET /console/open/{token}", c.open)
	mux.HandleFunc("POST /console/tenants", c.createTenant)
	mux.HandleFunc("POST /console/logout", c.logout)
	mux.HandleFunc("POST /console/kill-switch", c.killSwitch)
	mux.HandleFunc("POST /console/keys/revoke", c.revoke)
	mux.HandleFunc("POST /console/keys/create", c.createKey)
	mux.HandleFunc("POST /console/kek", c.kek)
	mux.HandleFunc("POST /console/verify", c.verify)
	mux.HandleFunc("POST /console/purge", c.purge)
	mux.HandleFunc("POST /console/forensic", c.forensic)
	mux.HandleFunc("POST /console/analytics", c.analytics)
	return web.OriginChecked(web.Headers(mux))
}

type consolePage struct {
	Title, CSRF, Error, Notice, Tenant, Verify string
	Installation                               bool           // an installation operator's session
	Tenants                                    []store.Tenant // the installation overview's
	NewTenant                                  string
	TenantName, TenantCreated                  string
	NewKey, NewKeyID                           string
	Purge                                      string
	Features                                   []string
	Scopes                                     []string
	Active                                     []string
	Keys                                       []store.APIKey
	Versions                                   []keyring.VersionInfo
	Revocable                                  []int
	Alerts                                     []store.Alert
	Audit                                      []audit.Entry
	ExportFrom, ExportTo                       string
	Older                                      int64 // seq to page back from; 0: no older entries
	Plugins                                    []consolePlugin
	Analytics                                  *AnalyticsView
}

// formTime is the layout of datetime-local inputs, read as UTC.
const formTime = "2006-01-02T15:04"

// operator is who a console request acts as: an app's admin key, bound
// to its tenant; or an installation operator (signed in through a link
// from `obscura console link`), who sees every tenant and acts on the one
// a request names.
type operator struct {
	tenant, key  string
	installation bool
}

// installationTenant is the tid of console-link and installation-session
// tokens: no tenant id looks like it (tenant ids are "ten_…").
const installationTenant = "*"

// ConsoleLinkTTL is how long a console link can be opened.
const ConsoleLinkTTL = 5 * time.Minute

// IssueConsoleLink returns a single-use token for /console/open/{token}
// that starts an installation operator's session (CLI: obscura console
// link), and its link id (the session's actor in the audit log).
func IssueConsoleLink(ctx context.Context, codec web.TokenCodec, st interface {
	CreateConsoleLink(ctx context.Context, id string, expires time.Time) error
}, now time.Time) (token, id string, expires time.Time, err error) {
	id = "cl_" + web.NewToken()[:24]
	expires = time.Unix(now.Add(ConsoleLinkTTL).Unix(), 0).UTC()
	token, err = codec.Seal(upload.KindConsoleLink, upload.Claims{Tenant: installationTenant, ID: id, Expires: expires.Unix(), Issued: now.Unix()})
	if err != nil {
		return "", "", time.Time{}, err
	}
	if err := st.CreateConsoleLink(ctx, id, expires); err != nil {
		return "", "", time.Time{}, err
	}
	return token, id, expires, nil
}

func (c *Console) session(r *http.Request) (operator, bool) {
	ck, err := r.Cookie(operatorCookie)
	if err != nil {
		return operator{}, false
	}
	cl, err := c.Tokens.Open(upload.KindOperator, ck.Value, c.Now())
	if err != nil {
		return operator{}, false
	}
	if cl.Tenant == installationTenant {
		// Only a consumed console link makes such a session, and it lives
		// only while that link is not revoked (obscura console sign-out).
		live, err := c.Store.ConsoleLinkLive(r.Context(), cl.ID)
		return operator{key: cl.ID, installation: true}, err == nil && live && strings.HasPrefix(cl.ID, "cl_")
	}
	// The session lives only as long as its key: revoked or gone, the
	// session ends with it.
	k, err := c.Store.APIKeyForAuth(r.Context(), cl.ID)
	if err != nil || k.Revoked() || k.TenantID != cl.Tenant || !slices.Contains(k.Scopes, string(auth.ScopeAdmin)) {
		return operator{}, false
	}
	return operator{tenant: cl.Tenant, key: cl.ID}, true
}

// scoped binds an installation operator's request to the tenant it names
// (query or form field "tenant"); an app's admin stays on its own tenant
// whatever the request says.
func (c *Console) scoped(r *http.Request, op operator) (operator, bool) {
	if !op.installation {
		return op, true
	}
	t := r.FormValue("tenant")
	if t == "" {
		return op, true
	}
	if _, err := c.Store.Tenant(r.Context(), t); err != nil {
		return op, false
	}
	op.tenant = t
	return op, true
}

// open redeems a console link, once, for an installation operator's session.
func (c *Console) open(w http.ResponseWriter, r *http.Request) {
	now := c.Now()
	cl, err := c.Tokens.Open(upload.KindConsoleLink, r.PathValue("token"), now)
	if err == nil && cl.Tenant != installationTenant {
		err = upload.ErrTokenInvalid
	}
	if err == nil {
		_, err = c.Store.ConsumeConsoleLink(r.Context(), cl.ID, now)
	}
	if err != nil {
		msg := "This link is not valid. Run obscura console link for a new one."
		switch {
		case errors.Is(err, fault.Expired):
			msg = "This link has expired. Run obscura console link for a new one."
		case errors.Is(err, fault.Conflict):
			msg = "This link was already used (or revoked). Run obscura console link for a new one."
		}
		c.render(w, r, http.StatusForbidden, consolePage{Error: msg})
		return
	}
	tok, err := c.Tokens.Seal(upload.KindOperator, upload.Claims{Tenant: installationTenant, ID: cl.ID, Expires: now.Add(web.SessionTTL).Unix(), Issued: now.Unix()})
	if err != nil {
		c.render(w, r, http.StatusInternalServerError, consolePage{Error: "Something went wrong."})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: operatorCookie, Value: tok, Path: "/console", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: web.Secure(r), MaxAge: int(web.SessionTTL.Seconds())})
	c.record(r.Context(), operator{key: cl.ID, installation: true}, "console.login", "installation")
	web.SignedIn(w, "Operator console", "/console")
}

// createTenant makes a tenant (installation operators only) and shows its
// first admin key once.
func (c *Console) createTenant(w http.ResponseWriter, r *http.Request) {
	op, ok := c.checked(w, r)
	if !ok {
		return
	}
	if !op.installation {
		c.view(w, r, op, http.StatusForbidden, consolePage{Error: "Only an installation operator creates tenants."})
		return
	}
	t, plain, err := tenant.Create(r.Context(), c.Store, c.Keys, r.PostFormValue("name"), c.Now())
	if errors.Is(err, fault.Invalid) {
		c.view(w, r, op, http.StatusBadRequest, consolePage{Error: "A tenant name is 1 to 100 characters."})
		return
	}
	if err != nil {
		c.Log.Error("create tenant", "component", "web", "err", err)
		c.view(w, r, op, http.StatusInternalServerError, consolePage{Error: "The tenant could not be created; the server log has the details."})
		return
	}
	c.recordEntry(r.Context(), op, audit.Entry{Action: "console.tenant.create", Tenant: t.ID})
	op.tenant = ""
	c.view(w, r, op, http.StatusOK, consolePage{NewTenant: t.ID, NewKey: plain})
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, pg consolePage) {
	pg.Title, pg.CSRF = "Operator console", web.CSRFFor(w, r, "/console")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := c.tmpl.ExecuteTemplate(w, "layout", pg); err != nil {
		c.Log.Error("render console", "component", "web", "err", err)
	}
}

func (c *Console) view(w http.ResponseWriter, r *http.Request, op operator, status int, pg consolePage) {
	pg.Tenant, pg.Features, pg.Scopes = op.tenant, incident.Features, []string{string(auth.ScopeAdmin), string(auth.ScopeAnalyze), string(auth.ScopeIngest)}
	for _, a := range c.Kill.Active() {
		if op.tenant == "" || incident.AppliesTo(a, op.tenant) {
			pg.Active = append(pg.Active, a)
		}
	}
	slices.Sort(pg.Active)
	now := c.Now().UTC()
	pg.ExportFrom, pg.ExportTo = now.Add(-24*time.Hour).Format(formTime), now.Add(time.Minute).Format(formTime)
	pg.Installation = op.installation
	if c.Analytics != nil && op.tenant != "" && pg.Analytics == nil {
		pg.Analytics = &AnalyticsView{Metrics: analytics.Metrics, Metric: analytics.TagCounts}
	}
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	load := c.load
	if op.tenant == "" {
		load = c.loadInstallation
	}
	err := load(r.Context(), op, before, &pg)
	if err == nil {
		err = c.loadPlugins(r.Context(), op.tenant, &pg)
	}
	if err != nil {
		c.Log.Error("console", "component", "web", "err", err)
		pg.Error = "Something went wrong; the server log has the details."
		status = http.StatusInternalServerError
	}
	c.render(w, r, status, pg)
}

// load fills the page with the tenant's records.
func (c *Console) load(ctx context.Context, op operator, before int64, pg *consolePage) error {
	t, err := c.Store.Tenant(ctx, op.tenant)
	if err != nil {
		return err
	}
	pg.TenantName, pg.TenantCreated = t.Name, t.CreatedAt.UTC().Format("2006-01-02 15:04 MST")
	if pg.Versions, err = c.Keys.Versions(ctx, op.tenant); err != nil {
		return err
	}
	for _, v := range pg.Versions {
		if !v.Primary && v.State == store.KEKActive {
			pg.Revocable = append(pg.Revocable, v.Version)
		}
	}
	if pg.Keys, err = c.Store.APIKeys(ctx, op.tenant); err != nil {
		return err
	}
	if pg.Alerts, err = c.Store.Alerts(ctx, op.tenant, 20); err != nil {
		return err
	}
	return c.loadAudit(ctx, op.tenant, before, pg)
}

// loadInstallation fills the installation overview: every tenant, and
// the alerts and audit entries of all of them.
func (c *Console) loadInstallation(ctx context.Context, _ operator, before int64, pg *consolePage) error {
	var err error
	if pg.Tenants, err = c.Store.Tenants(ctx); err != nil {
		return err
	}
	if pg.Alerts, err = c.Store.Alerts(ctx, "", 50); err != nil {
		return err
	}
	return c.loadAudit(ctx, "", before, pg)
}

func (c *Console) page(w http.ResponseWriter, r *http.Request) {
	if op, ok := c.session(r); ok {
		if op, ok = c.scoped(r, op); !ok {
			c.view(w, r, op, http.StatusNotFound, consolePage{Error: "No such tenant."})
			return
		}
		c.view(w, r, op, http.StatusOK, consolePage{})
		return
	}
	c.render(w, r, http.StatusOK, consolePage{})
}

// formOK checks the CSRF double submit of a form post.
func formOK(r *http.Request) bool { return web.CSRFOK(r) }

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if !formOK(r) {
		c.render(w, r, http.StatusForbidden, consolePage{Error: "This form has expired; please try again."})
		return
	}
	p, err := c.Auth.Authenticate(r.Context(), "Bearer "+r.PostFormValue("key"))
	if err != nil || !p.Has(auth.ScopeAdmin) {
		// Audited and counted like a refused API request, so a burst of
		// them raises failed_auth_burst; the key itself is never recorded.
		e := audit.Entry{Action: "console.login", Result: audit.ResultDenied, Code: "unauthenticated"}
		if err == nil {
			e.Tenant, e.Actor, e.Code = p.TenantID, p.KeyID, "forbidden"
		}
		if aerr := c.Audit.Append(r.Context(), e); aerr != nil {
			c.Log.Error("audit console login", "component", "web", "err", aerr)
		}
		if c.Alerts != nil {
			c.Alerts.Observe(r.Context(), e)
		}
		c.render(w, r, http.StatusUnauthorized, consolePage{Error: "That is not a valid admin API key."})
		return
	}
	now := c.Now()
	tok, err := c.Tokens.Seal(upload.KindOperator, upload.Claims{Tenant: p.TenantID, ID: p.KeyID, Expires: now.Add(web.SessionTTL).Unix(), Issued: now.Unix()})
	if err != nil {
		c.render(w, r, http.StatusInternalServerError, consolePage{Error: "Something went wrong."})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: operatorCookie, Value: tok, Path: "/console", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: web.Secure(r), MaxAge: int(web.SessionTTL.Seconds())})
	c.record(r.Context(), operator{tenant: p.TenantID, key: p.KeyID}, "console.login", "")
	http.Redirect(w, r, "/console", http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: operatorCookie, Value: "", Path: "/console", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/console", http.StatusSeeOther)
}

func (c *Console) record(ctx context.Context, op operator, action, detail string) {
	c.recordEntry(ctx, op, audit.Entry{Action: action, Detail: detail})
}

func (c *Console) recordEntry(ctx context.Context, op operator, e audit.Entry) {
	e.Tenant, e.Actor, e.Result = op.tenant, op.key, audit.ResultOK
	if err := c.Audit.Append(ctx, e); err != nil {
		c.Log.Error("audit console action", "component", "web", "err", err)
	}
}

// checked returns the operator of a CSRF-checked form post.
func (c *Console) checked(w http.ResponseWriter, r *http.Request) (operator, bool) {
	op, ok := c.session(r)
	if !ok {
		c.render(w, r, http.StatusUnauthorized, consolePage{Error: "Your session has ended; sign in again."})
		return operator{}, false
	}
	if !formOK(r) {
		c.view(w, r, op, http.StatusForbidden, consolePage{Error: "This form has expired; please try again."})
		return operator{}, false
	}
	if op, ok = c.scoped(r, op); !ok {
		c.view(w, r, op, http.StatusNotFound, consolePage{Error: "No such tenant."})
		return operator{}, false
	}
	// As in the API: the intent is durable in the audit log before
	// anything changes, or nothing changes.
	intent := audit.Entry{Action: "console." + strings.ReplaceAll(strings.TrimPrefix(r.URL.Path, "/console/"), "/", ".") + ".intent",
		Tenant: op.tenant, Actor: op.key, Result: audit.ResultOK}
	if err := c.Audit.Append(r.Context(), intent); err != nil {
		c.Log.Error("audit console intent", "component", "web", "err", err)
		c.view(w, r, op, http.StatusServiceUnavailable, consolePage{Error: "The audit log is unavailable, so nothing was changed. Try again shortly."})
		return operator{}, false
	}
	return op, true
}

// checkedTenant is checked for changes that act on one tenant: it answers
// the installation operator who has not chosen one.
func (c *Console) checkedTenant(w http.ResponseWriter, r *http.Request) (operator, bool) {
	op, ok := c.checked(w, r)
	if ok && op.tenant == "" {
		c.view(w, r, op, http.StatusBadRequest, consolePage{Error: "Choose a tenant first."})
		return operator{}, false
	}
	return op, ok
}

// formRange reads a form's "from" and "to" (datetime-local, read as UTC),
// from before to.
func formRange(r *http.Request) (from, to time.Time, ok bool) {
	from, err1 := time.Parse(formTime, r.PostFormValue("from"))
	to, err2 := time.Parse(formTime, r.PostFormValue("to"))
	return from, to, err1 == nil && err2 == nil && from.Before(to) && clock.InRange(from) && clock.InRange(to)
}

package web

import (
	"context"
	"crypto/ed25519"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/incident"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/upload"
)

// The operator console: an app's operator signs in with an admin API key
// (checked like any API request) and gets a 30-minute session cookie
// naming the tenant and key. It shows the tenant's kill switches (stop and
// resume, taking effect at once), API keys (revoke), alerts, and the audit
// log with a "verify chain" button. Every change is a CSRF-checked form
// post and is audited like its API counterpart.

const operatorCookie = "obscura_operator"

type authenticator interface {
	Authenticate(ctx context.Context, header string) (auth.Principal, error)
}

type killSwitches interface {
	Set(ctx context.Context, tenant, feature string, on bool) (string, error)
	Active() []string
}

type consoleStore interface {
	APIKeys(ctx context.Context, tenantID string) ([]store.APIKey, error)
	RevokeAPIKey(ctx context.Context, tenantID, keyID string, at time.Time) error
	Alerts(ctx context.Context, tenantID string, limit int) ([]store.Alert, error)
	AuditRange(ctx context.Context, tenantID string, after int64, limit int) ([]store.AuditRecord, error)
	AuditCheckpoints(ctx context.Context) ([]store.AuditCheckpoint, error)
	AppendAudit(ctx context.Context, build func(tipSeq int64, tipHash string) ([]store.AuditRecord, *store.AuditCheckpoint, error)) error
}

type auditLog interface {
	Append(ctx context.Context, e audit.Entry) error
}

// Console is the operator console.
type Console struct {
	Tokens   tokenCodec
	Auth     authenticator
	Kill     killSwitches
	Store    consoleStore
	Audit    auditLog
	AuditKey func(ctx context.Context) (ed25519.PublicKey, error)
	Now      func() time.Time
	Log      *slog.Logger
	tmpl     *template.Template
}

// Handler serves /console and its forms.
func (c *Console) Handler() http.Handler {
	c.tmpl = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/console.html"))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /console", c.page)
	mux.HandleFunc("POST /console/login", c.login)
	mux.HandleFunc("POST /console/logout", c.logout)
	mux.HandleFunc("POST /console/kill-switch", c.killSwitch)
	mux.HandleFunc("POST /console/keys/revoke", c.revoke)
	mux.HandleFunc("POST /console/verify", c.verify)
	return headers(mux)
}

type consolePage struct {
	Title, CSRF, Error, Notice, Tenant, Verify string
	Features                                   []string
	Active                                     []string
	Keys                                       []store.APIKey
	Alerts                                     []store.Alert
	Audit                                      []audit.Entry
}

type operator struct{ tenant, key string }

func (c *Console) session(r *http.Request) (operator, bool) {
	ck, err := r.Cookie(operatorCookie)
	if err != nil {
		return operator{}, false
	}
	cl, err := c.Tokens.Open(upload.KindOperator, ck.Value, c.Now())
	if err != nil {
		return operator{}, false
	}
	return operator{cl.Tenant, cl.ID}, true
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, pg consolePage) {
	pg.Title, pg.CSRF = "Operator console", csrfFor(w, r, "/console")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := c.tmpl.ExecuteTemplate(w, "layout", pg); err != nil {
		c.Log.Error("render console", "component", "web", "err", err)
	}
}

func (c *Console) view(w http.ResponseWriter, r *http.Request, op operator, status int, pg consolePage) {
	ctx := r.Context()
	pg.Tenant, pg.Features = op.tenant, incident.Features
	for _, a := range c.Kill.Active() {
		if a == "global" || a == "tenant:"+op.tenant || len(a) > len("tenant:"+op.tenant+"/") && a[:len("tenant:"+op.tenant+"/")] == "tenant:"+op.tenant+"/" {
			pg.Active = append(pg.Active, a)
		}
	}
	slices.Sort(pg.Active)
	var err error
	if pg.Keys, err = c.Store.APIKeys(ctx, op.tenant); err == nil {
		if pg.Alerts, err = c.Store.Alerts(ctx, op.tenant, 20); err == nil {
			var recs []store.AuditRecord
			if recs, err = c.Store.AuditRange(ctx, op.tenant, 0, 1000); err == nil {
				for i := len(recs) - 1; i >= 0 && len(pg.Audit) < 30; i-- {
					var e audit.Entry
					if json.Unmarshal(recs[i].Body, &e) == nil {
						pg.Audit = append(pg.Audit, e)
					}
				}
			}
		}
	}
	if err != nil {
		c.Log.Error("console", "component", "web", "err", err)
		pg.Error = "Something went wrong; the server log has the details."
		status = http.StatusInternalServerError
	}
	c.render(w, r, status, pg)
}

func (c *Console) page(w http.ResponseWriter, r *http.Request) {
	if op, ok := c.session(r); ok {
		c.view(w, r, op, http.StatusOK, consolePage{})
		return
	}
	c.render(w, r, http.StatusOK, consolePage{})
}

// formOK checks the CSRF double submit of a form post.
func formOK(r *http.Request) bool {
	ck, err := r.Cookie(csrfCookie)
	return err == nil && r.ParseForm() == nil && subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(ck.Value)) == 1
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if !formOK(r) {
		c.render(w, r, http.StatusForbidden, consolePage{Error: "This form has expired; please try again."})
		return
	}
	p, err := c.Auth.Authenticate(r.Context(), "Bearer "+r.PostFormValue("key"))
	if err != nil || !p.Has(auth.ScopeAdmin) {
		c.render(w, r, http.StatusUnauthorized, consolePage{Error: "That is not a valid admin API key."})
		return
	}
	now := c.Now()
	tok, err := c.Tokens.Seal(upload.KindOperator, upload.Claims{Tenant: p.TenantID, ID: p.KeyID, Expires: now.Add(SessionTTL).Unix(), Issued: now.Unix()})
	if err != nil {
		c.render(w, r, http.StatusInternalServerError, consolePage{Error: "Something went wrong."})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: operatorCookie, Value: tok, Path: "/console", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, MaxAge: int(SessionTTL.Seconds())})
	c.record(r.Context(), operator{p.TenantID, p.KeyID}, "console.login", "")
	http.Redirect(w, r, "/console", http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: operatorCookie, Value: "", Path: "/console", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/console", http.StatusSeeOther)
}

func (c *Console) record(ctx context.Context, op operator, action, detail string) {
	if err := c.Audit.Append(ctx, audit.Entry{Action: action, Tenant: op.tenant, Actor: op.key, Result: audit.ResultOK, Detail: detail}); err != nil {
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
	return op, true
}

func (c *Console) killSwitch(w http.ResponseWriter, r *http.Request) {
	op, ok := c.checked(w, r)
	if !ok {
		return
	}
	on := r.PostFormValue("on") == "true"
	sc, err := c.Kill.Set(r.Context(), op.tenant, r.PostFormValue("feature"), on)
	if err != nil {
		c.view(w, r, op, http.StatusBadRequest, consolePage{Error: "Unknown feature."})
		return
	}
	verb := "resumed"
	if on {
		verb = "stopped"
	}
	c.record(r.Context(), op, "console.kill_switch", verb)
	c.view(w, r, op, http.StatusOK, consolePage{Notice: fmt.Sprintf("%s: %s.", sc, verb)})
}

func (c *Console) revoke(w http.ResponseWriter, r *http.Request) {
	op, ok := c.checked(w, r)
	if !ok {
		return
	}
	id := r.PostFormValue("id")
	if err := c.Store.RevokeAPIKey(r.Context(), op.tenant, id, c.Now()); err != nil {
		c.view(w, r, op, http.StatusNotFound, consolePage{Error: "No such key."})
		return
	}
	c.record(r.Context(), op, "console.key.revoke", "")
	c.view(w, r, op, http.StatusOK, consolePage{Notice: "Key " + id + " revoked."})
}

func (c *Console) verify(w http.ResponseWriter, r *http.Request) {
	op, ok := c.checked(w, r)
	if !ok {
		return
	}
	pub, err := c.AuditKey(r.Context())
	msg := ""
	if err == nil {
		var rep audit.Report
		rep, err = audit.Verify(r.Context(), c.Store, pub, 0)
		if err == nil {
			msg = fmt.Sprintf("Chain intact: %d entries, %d signed checkpoints, head %d.", rep.Entries, rep.Checkpoints, rep.Head)
		} else if errors.Is(err, audit.ErrTampered) {
			msg, err = "Chain BROKEN: "+err.Error(), nil
		}
	}
	if err != nil {
		c.Log.Error("verify audit chain", "component", "web", "err", err)
		msg = "Verification could not run; the server log has the details."
	}
	c.record(r.Context(), op, "console.audit.verify", "")
	c.view(w, r, op, http.StatusOK, consolePage{Verify: msg})
}

package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/obscuraproject/obscura/internal/api/op"
	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/operator"
	"github.com/obscuraproject/obscura/internal/store"
)

// auditLog is what the API needs from the audit log.
type auditLog interface {
	Append(ctx context.Context, e audit.Entry) error
}

// auditOps is the huma middleware that records every /v1 operation in the
// audit log: the operation id as action, tenant and key id from the
// principal, keyed hashes of the subject and object path parameters (never
// the raw values), the purpose, the result class and latency.
func (a *API) auditOps(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	if a.d.Audit == nil || !strings.HasPrefix(op.Path, "/v1/") {
		next(ctx)
		return
	}
	start := a.d.Clock.Now()
	h := &auditHolder{}
	next(huma.WithValue(ctx, auditHolderKey{}, h))
	e := audit.Entry{Action: op.OperationID, LatencyUS: a.d.Clock.Now().Sub(start).Microseconds(), Tenant: h.tenant, Actor: h.actor, Code: h.code}
	if s := ctx.Param("subject"); s != "" {
		e.Subject = a.d.Keys.HashID("subject", s)
	}
	if id := ctx.Param("id"); id != "" {
		e.Object = a.d.Keys.HashID("audit-object", id)
	}
	e.Purpose = ctx.Param("purpose")
	if e.Purpose == "" {
		e.Purpose = h.purpose
	}
	a.finishEntry(ctx.Context(), &e, ctx.Status())
}

// ErrAuditUnavailable refuses a state-changing request whose intent could
// not be audited: nothing changes without a trace.
// It is the operator service's error, so every channel refuses alike.
var ErrAuditUnavailable = operator.ErrAuditUnavailable

// auditIntent runs after authentication: for state-changing operations it
// durably records the intent before the handler acts, and refuses the
// request if that fails. auditOps records the outcome afterwards.
func (a *API) auditIntent(ctx huma.Context, next func(huma.Context)) {
	o := ctx.Operation()
	if a.d.Audit == nil || o.Method == http.MethodGet || !strings.HasPrefix(o.Path, "/v1/") {
		next(ctx)
		return
	}
	if o.Metadata[op.IntentInHandler] == true {
		next(ctx) // the handler records the intent once it has read the body
		return
	}
	e := a.intentEntry(ctx.Context(), o.OperationID, ctx.Param("subject"), ctx.Param("id"), ctx.Param("purpose"))
	if err := a.intent(ctx.Context(), e); err != nil {
		a.writeErr(ctx, err)
		return
	}
	next(ctx)
}

// intentEntry is the intent entry of operation op by the request's
// principal; subject and id are raw and recorded only as keyed hashes.
func (a *API) intentEntry(ctx context.Context, op, subject, id, purpose string) audit.Entry {
	p := principal(ctx)
	e := audit.Entry{Action: op + ".intent", Tenant: p.TenantID, Actor: p.KeyID, Result: audit.ResultOK, Purpose: purpose}
	if subject != "" {
		e.Subject = a.d.Keys.HashID("subject", subject)
	}
	if id != "" {
		e.Object = a.d.Keys.HashID("audit-object", id)
	}
	return e
}

// intent durably appends an intent entry, or returns ErrAuditUnavailable.
func (a *API) intent(ctx context.Context, e audit.Entry) error {
	if a.d.Audit == nil {
		return nil
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := a.d.Audit.Append(actx, e); err != nil {
		a.log.Error("AUDIT APPEND FAILED; request refused", "action", e.Action, "err", err)
		if fault.IsStorageFull(err) {
			return fmt.Errorf("%w: %w", ErrAuditUnavailable, fault.ErrStorageFull)
		}
		return ErrAuditUnavailable
	}
	return nil
}

// auditHolder collects, during a request, what the audit entry needs from
// inner layers: the authenticated tenant and key, and the problem code.
type auditHolder struct{ tenant, actor, code, purpose string }

type auditHolderKey struct{}

func holderFrom(ctx context.Context) *auditHolder {
	h, _ := ctx.Value(auditHolderKey{}).(*auditHolder)
	return h
}

// finishEntry sets the result class from the status and appends the entry.
func (a *API) finishEntry(ctx context.Context, e *audit.Entry, status int) {
	switch {
	case status == 0 || status < 400:
		e.Result = audit.ResultOK
	case status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusConflict || status == http.StatusGone:
		e.Result = audit.ResultDenied
	default:
		e.Result = audit.ResultError
	}
	a.appendAudit(ctx, *e)
}

func (a *API) appendAudit(ctx context.Context, e audit.Entry) {
	if a.d.Audit == nil {
		return
	}
	// Detach from the request: a client hanging up must not lose the entry.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := a.d.Audit.Append(ctx, e); err != nil {
		a.log.Error("AUDIT APPEND FAILED", "action", e.Action, "err", err)
	}
	if a.d.Alerts != nil {
		a.d.Alerts.Observe(ctx, e)
	}
}

// auditReader reads the audit chain.
type auditReader interface {
	AuditRange(ctx context.Context, tenantID string, after int64, limit int) ([]store.AuditRecord, error)
}

// AuditPageInput pages through the caller's audit entries.
type AuditPageInput struct {
	After int64 `query:"after" minimum:"0" doc:"Return entries after this sequence number"`
	Limit int   `query:"limit" minimum:"1" maximum:"1000" default:"100"`
}

// AuditPageOutput is one page.
type AuditPageOutput struct {
	Body struct {
		Entries []audit.Entry `json:"entries"`
		Next    int64         `json:"next,omitempty" doc:"Pass as after for the next page; absent on the last page"`
	}
}

func (a *API) registerAudit() {
	if a.d.AuditReader == nil {
		return
	}
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-audit", Method: http.MethodGet, Path: "/v1/admin/audit", Tags: []string{"admin"},
		Summary: "Page through this tenant's audit entries (metadata only)", Security: op.Secured(auth.ScopeAdmin),
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden},
	}, func(ctx context.Context, in *AuditPageInput) (*AuditPageOutput, error) {
		es, next, err := audit.Page(ctx, a.d.AuditReader, principal(ctx).TenantID, in.After, in.Limit)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		out := &AuditPageOutput{}
		out.Body.Entries, out.Body.Next = es, next
		return out, nil
	})
}

// alertSink is what the API needs from the alert engine.
type alertSink interface {
	Observe(ctx context.Context, e audit.Entry)
}

// alertReader lists stored alerts.
type alertReader interface {
	Alerts(ctx context.Context, tenantID string, limit int) ([]store.Alert, error)
}

// AlertInfo is one alert.
type AlertInfo struct {
	ID       string    `json:"id"`
	Time     time.Time `json:"time"`
	Rule     string    `json:"rule"`
	Severity string    `json:"severity"`
	Detail   string    `json:"detail"`
}

// AlertsOutput lists alerts, newest first.
type AlertsOutput struct {
	Body struct {
		Alerts []AlertInfo `json:"alerts"`
	}
}

func (a *API) registerAlerts() {
	if a.d.AlertReader == nil {
		return
	}
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-alerts", Method: http.MethodGet, Path: "/v1/admin/alerts", Tags: []string{"admin"},
		Summary: "This tenant's alerts, newest first", Security: op.Secured(auth.ScopeAdmin),
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden},
	}, func(ctx context.Context, _ *struct{}) (*AlertsOutput, error) {
		as, err := a.d.AlertReader.Alerts(ctx, principal(ctx).TenantID, 200)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		out := &AlertsOutput{}
		out.Body.Alerts = make([]AlertInfo, 0, len(as))
		for _, x := range as {
			out.Body.Alerts = append(out.Body.Alerts, AlertInfo{ID: x.ID, Time: x.Time, Rule: x.Rule, Severity: x.Severity, Detail: x.Detail})
		}
		return out, nil
	})
}

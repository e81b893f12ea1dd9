package api

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/obscuraproject/obscura/internal/api/op"
	"github.com/obscuraproject/obscura/internal/audit"
)

// host is the API core as the resource packages see it (op.Host).
type host struct{ a *API }

var _ op.Host = host{}

func (h host) Huma() huma.API { return h.a.huma }

func (h host) HandleFunc(pattern string, f http.HandlerFunc) { h.a.mux.HandleFunc(pattern, f) }

func (h host) Fail(ctx context.Context, err error) error { return h.a.fail(ctx, err) }

func (h host) WriteProblem(w http.ResponseWriter, r *http.Request, err error) {
	writeProblem(w, h.a.problem(r.Context(), err))
}

func (h host) Admit(ctx context.Context) (func(), error) { return h.a.admit(ctx) }

func (h host) IntentEntry(ctx context.Context, name, subject, id, purpose string) audit.Entry {
	return h.a.intentEntry(ctx, name, subject, id, purpose)
}

func (h host) Intent(ctx context.Context, e audit.Entry) error { return h.a.intent(ctx, e) }

func (h host) SetAuditPurpose(ctx context.Context, purpose string) {
	if hd := holderFrom(ctx); hd != nil {
		hd.purpose = purpose
	}
}

// AuditPlain records a request to one of the token (no API key) routes.
func (h host) AuditPlain(ctx context.Context, action string, start time.Time, e audit.Entry, err error) {
	e.Action, e.LatencyUS = action, h.a.d.Clock.Now().Sub(start).Microseconds()
	status := http.StatusOK
	if err != nil {
		p := ProblemFor(err)
		status, e.Code = p.Status, p.Code
	}
	h.a.finishEntry(ctx, &e, status)
}

// LimitAddr applies the per-client-address limit of class to a request
// that carries no API key. The address is the TCP peer: behind a reverse
// proxy every client shares the proxy's address, so limit there too.
func (h host) LimitAddr(r *http.Request, class string) error {
	if h.a.d.Limiter == nil {
		return nil
	}
	addr, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		addr = r.RemoteAddr
	}
	return h.a.d.Limiter.AllowAddr(addr, class)
}

func (h host) HashID(domain, id string) string { return h.a.d.Keys.HashID(domain, id) }

func (h host) Now() time.Time { return h.a.d.Clock.Now() }

func (h host) PublicURL() string { return h.a.d.PublicURL }

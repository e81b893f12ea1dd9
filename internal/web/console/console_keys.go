package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/keyring"
	ops "github.com/obscuraproject/obscura/internal/operator"
	"github.com/obscuraproject/obscura/internal/store"
)

// Console forms that change API keys and key-encryption-key versions,
// through the operator service.

// kekService is the key service's key-encryption-key management.
type kekService interface {
	HashID(domain, id string) string
	InitTenant(ctx context.Context, tenant string) error
	SubjectHash(subject string) string
	Versions(ctx context.Context, tenant string) ([]keyring.VersionInfo, error)
	Rotate(ctx context.Context, tenant string) (int, error)
	Rewrap(ctx context.Context, tenant string, progress func(done, total int)) (int, error)
	RevokeKEK(ctx context.Context, tenant string, version int) error
}

// RewrapBudget bounds one press of "Rewrap": rewrap is resumable, so a
// large tenant is finished by pressing again.
const RewrapBudget = 20 * time.Second

// operatorActions is what the console needs from the operator service.
type operatorActions interface {
	CreateKey(ctx context.Context, by ops.By, tenant string, scopes []auth.Scope) (string, store.APIKey, error)
	RevokeKey(ctx context.Context, by ops.By, tenant, id string) (store.APIKey, error)
	RotateKEK(ctx context.Context, by ops.By, tenant string) (int, error)
	Rewrap(ctx context.Context, by ops.By, tenant string, progress func(done, total int)) (int, error)
	RevokeKEK(ctx context.Context, by ops.By, tenant string, version int) error
	SetKillSwitch(ctx context.Context, by ops.By, tenant, feature string, on bool) (string, error)
}

// by is the operator-service actor of a console session.
func (op operator) by() ops.By {
	return ops.By{Channel: ops.ChannelConsole, Actor: op.key}
}

func (c *Console) revoke(w http.ResponseWriter, r *http.Request) {
	op, ok := c.checkedTenant(w, r)
	if !ok {
		return
	}
	id := r.PostFormValue("id")
	if _, err := c.Operator.RevokeKey(r.Context(), op.by(), op.tenant, id); err != nil {
		c.failed(w, r, op, err, "No such key.")
		return
	}
	c.view(w, r, op, http.StatusOK, consolePage{Notice: "Key " + id + " revoked."})
}

// createKey mints an API key for the operator's tenant and shows it once.
func (c *Console) createKey(w http.ResponseWriter, r *http.Request) {
	op, ok := c.checkedTenant(w, r)
	if !ok {
		return
	}
	if len(r.PostForm["scope"]) == 0 {
		c.view(w, r, op, http.StatusBadRequest, consolePage{Error: "Choose at least one scope for the new key."})
		return
	}
	scopes, err := ops.Scopes(r.PostForm["scope"])
	if err != nil {
		c.view(w, r, op, http.StatusBadRequest, consolePage{Error: "Unknown scope."})
		return
	}
	plain, rec, err := c.Operator.CreateKey(r.Context(), op.by(), op.tenant, scopes)
	if err != nil {
		c.failed(w, r, op, err, "")
		return
	}
	c.view(w, r, op, http.StatusOK, consolePage{NewKey: plain, NewKeyID: rec.ID})
}

// kek rotates the tenant's key-encryption key, rewraps its data keys
// under the newest version (bounded by RewrapBudget), or revokes an older
// version.
func (c *Console) kek(w http.ResponseWriter, r *http.Request) {
	op, ok := c.checkedTenant(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	switch r.PostFormValue("action") {
	case "rotate":
		v, err := c.Operator.RotateKEK(ctx, op.by(), op.tenant)
		if err != nil {
			c.kekFailed(w, r, op, err)
			return
		}
		c.view(w, r, op, http.StatusOK, consolePage{Notice: fmt.Sprintf("New key version %d: new data keys are wrapped under it. Rewrap to move the existing ones.", v)})
	case "rewrap":
		rctx, cancel := context.WithTimeout(ctx, RewrapBudget)
		n, err := c.Operator.Rewrap(rctx, op.by(), op.tenant, nil)
		cancel()
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			c.view(w, r, op, http.StatusOK, consolePage{Notice: fmt.Sprintf("Rewrapped %d data keys; more remain. Press Rewrap again to continue.", n)})
		case err != nil:
			c.kekFailed(w, r, op, err)
		default:
			c.view(w, r, op, http.StatusOK, consolePage{Notice: fmt.Sprintf("Rewrapped %d data keys; every data key is under the newest version.", n)})
		}
	case "revoke":
		v, err := strconv.Atoi(r.PostFormValue("version"))
		if err != nil || v < 1 {
			c.view(w, r, op, http.StatusBadRequest, consolePage{Error: "Choose a key version."})
			return
		}
		if r.PostFormValue("confirm") != "yes" {
			c.view(w, r, op, http.StatusBadRequest, consolePage{Error: "Tick the box to confirm: data keys still wrapped under that version will no longer open."})
			return
		}
		if err := c.Operator.RevokeKEK(ctx, op.by(), op.tenant, v); err != nil {
			c.kekFailed(w, r, op, err)
			return
		}
		c.view(w, r, op, http.StatusOK, consolePage{Notice: fmt.Sprintf("Key version %d revoked.", v)})
	default:
		c.view(w, r, op, http.StatusBadRequest, consolePage{Error: "Unknown action."})
	}
}

func (c *Console) kekFailed(w http.ResponseWriter, r *http.Request, op operator, err error) {
	switch {
	case errors.Is(err, ops.ErrAuditUnavailable):
		c.failed(w, r, op, err, "")
	case errors.Is(err, fault.Conflict):
		c.view(w, r, op, http.StatusConflict, consolePage{Error: "The newest key version cannot be revoked; rotate first."})
	case errors.Is(err, fault.NotFound):
		c.view(w, r, op, http.StatusNotFound, consolePage{Error: "No such key version."})
	default:
		c.Log.Error("key version change", "component", "web", "err", err)
		c.view(w, r, op, http.StatusInternalServerError, consolePage{Error: "The key service refused; the server log has the details."})
	}
}

// failed shows an operator action's error: the audit log refusing the
// intent (503, nothing changed), a missing or invalid target (notFound, when
// the form names one), or a fault whose details go to the server log.
func (c *Console) failed(w http.ResponseWriter, r *http.Request, op operator, err error, notFound string) {
	switch {
	case errors.Is(err, ops.ErrAuditUnavailable):
		c.view(w, r, op, http.StatusServiceUnavailable, consolePage{Error: "The audit log is unavailable, so nothing was changed. Try again shortly."})
	case notFound != "" && (errors.Is(err, fault.NotFound) || errors.Is(err, fault.Invalid)):
		status := http.StatusNotFound
		if errors.Is(err, fault.Invalid) {
			status = http.StatusBadRequest
		}
		c.view(w, r, op, status, consolePage{Error: notFound})
	default:
		c.Log.Error("operator action", "component", "web", "err", err)
		c.view(w, r, op, http.StatusServiceUnavailable, consolePage{Error: "The change could not be made; the server log has the details."})
	}
}

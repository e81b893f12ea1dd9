package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/obscuraproject/obscura/internal/audit"
)

// The console's audit browser and chain verification.

// AuditPage is how many audit entries the console shows at a time.
const AuditPage = 30

// loadAudit fills a page of the audit browser: entries of the tenant
// ("": all) before seq before (0: the newest).
func (c *Console) loadAudit(ctx context.Context, tenant string, before int64, pg *consolePage) error {
	recs, err := c.Store.AuditTail(ctx, tenant, before, AuditPage+1)
	if err != nil {
		return err
	}
	if len(recs) > AuditPage {
		recs, pg.Older = recs[:AuditPage], recs[AuditPage-1].Seq
	}
	for _, rec := range recs {
		var e audit.Entry
		if json.Unmarshal(rec.Body, &e) == nil {
			pg.Audit = append(pg.Audit, e)
		}
	}
	return nil
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

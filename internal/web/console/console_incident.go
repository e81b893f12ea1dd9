package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	ops "github.com/obscuraproject/obscura/internal/operator"

	"github.com/obscuraproject/obscura/internal/audit"
	"github.com/obscuraproject/obscura/internal/incident"
)

// Console forms of the incident kit: kill switches, purges and forensic
// bundles.

type killSwitches interface {
	Set(ctx context.Context, tenant, feature string, on bool) (string, error)
	Active() []string
}

type purger interface {
	DryRun(ctx context.Context, sc incident.PurgeScope) (incident.PurgeReport, error)
	Run(ctx context.Context, sc incident.PurgeScope) (incident.PurgeReport, error)
}

func (c *Console) killSwitch(w http.ResponseWriter, r *http.Request) {
	op, ok := c.checked(w, r)
	if !ok {
		return
	}
	on := r.PostFormValue("on") == "true"
	sc, err := c.Operator.SetKillSwitch(r.Context(), op.by(), op.tenant, r.PostFormValue("feature"), on)
	if errors.Is(err, ops.ErrAuditUnavailable) {
		c.failed(w, r, op, err, "")
		return
	} else if err != nil {
		c.view(w, r, op, http.StatusBadRequest, consolePage{Error: "Unknown feature."})
		return
	}
	verb := "resumed"
	if on {
		verb = "stopped"
	}
	c.view(w, r, op, http.StatusOK, consolePage{Notice: fmt.Sprintf("%s: %s.", sc, verb)})
}

// scope reads a purge form: "subject" with a subject id, "range" with
// from and to (UTC), or "tenant".
func (c *Console) scope(r *http.Request, tenant string) (incident.PurgeScope, string) {
	sc := incident.PurgeScope{Tenant: tenant}
	switch r.PostFormValue("scope") {
	case "subject":
		id := strings.TrimSpace(r.PostFormValue("subject"))
		if id == "" {
			return sc, "Give the subject id to purge."
		}
		sc.SubjectHash = c.Keys.SubjectHash(id)
	case "range":
		from, to, ok := formRange(r)
		if !ok {
			return sc, "Give a time range (UTC), its start before its end."
		}
		sc.From, sc.To = from, to
	case "tenant":
	default:
		return sc, "Choose what to purge."
	}
	return sc, ""
}

// purge runs a dry run, or — with the tenant id typed as confirmation —
// the purge itself.
func (c *Console) purge(w http.ResponseWriter, r *http.Request) {
	op, ok := c.checkedTenant(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	sc, msg := c.scope(r, op.tenant)
	if msg != "" {
		c.view(w, r, op, http.StatusBadRequest, consolePage{Error: msg})
		return
	}
	dry := r.PostFormValue("action") != "purge"
	if !dry && r.PostFormValue("confirm") != op.tenant {
		c.view(w, r, op, http.StatusBadRequest, consolePage{Error: "Type the tenant id to confirm the purge. Nothing was deleted."})
		return
	}
	var rep incident.PurgeReport
	var err error
	if dry {
		rep, err = c.Purge.DryRun(ctx, sc)
	} else {
		rep, err = c.Purge.Run(ctx, sc)
	}
	action := "console.purge"
	if dry {
		action = "console.purge.dry_run"
	}
	c.recordEntry(ctx, op, audit.Entry{Action: action, Subject: sc.SubjectHash, Detail: fmt.Sprintf("%s subjects=%d photos=%d", sc.Describe(), rep.Subjects, rep.Photos)})
	if err != nil {
		c.Log.Error("purge", "component", "web", "err", err)
		c.view(w, r, op, http.StatusInternalServerError, consolePage{Error: fmt.Sprintf("The purge stopped after %d subjects and %d photos; run it again to finish. The server log has the details.", rep.Subjects, rep.Photos)})
		return
	}
	text := fmt.Sprintf("Purged %d subjects (every key, photo, result and consent state) and %d photos.", rep.Subjects, rep.Photos)
	if dry {
		text = fmt.Sprintf("Dry run: a purge would delete %d subjects (every key, photo, result and consent state) and %d photos. Nothing was deleted.", rep.Subjects, rep.Photos)
	}
	c.view(w, r, op, http.StatusOK, consolePage{Purge: text})
}

// forensic sends the tenant's signed forensic bundle as a download.
func (c *Console) forensic(w http.ResponseWriter, r *http.Request) {
	op, ok := c.checked(w, r)
	if !ok {
		return
	}
	from, to, ok := formRange(r)
	if !ok {
		c.view(w, r, op, http.StatusBadRequest, consolePage{Error: "Give a time range (UTC), its start before its end."})
		return
	}
	b, err := c.Forensic(r.Context(), op.tenant, from, to)
	if err != nil {
		c.Log.Error("forensic export", "component", "web", "err", err)
		c.view(w, r, op, http.StatusInternalServerError, consolePage{Error: "The export failed; the server log has the details."})
		return
	}
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		c.view(w, r, op, http.StatusInternalServerError, consolePage{Error: "The export failed."})
		return
	}
	c.record(r.Context(), op, "console.forensic.export", strconv.Itoa(len(b.Entries)))
	w.Header().Set("Content-Type", "application/json")
	name := op.tenant
	if name == "" {
		name = "installation"
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="forensic-%s-%s.json"`, name, c.Now().UTC().Format("20060102T150405Z")))
	w.Write(append(data, '\n'))
}

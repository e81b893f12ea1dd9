package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/fl"
	"github.com/obscuraproject/obscura/internal/guard"
	"github.com/obscuraproject/obscura/internal/incident"
	"github.com/obscuraproject/obscura/internal/keyring"
	"github.com/obscuraproject/obscura/internal/meme"
	"github.com/obscuraproject/obscura/internal/plugin"
	"github.com/obscuraproject/obscura/internal/provenance"
	"github.com/obscuraproject/obscura/internal/sandbox"
	"github.com/obscuraproject/obscura/internal/sanitize"
	"github.com/obscuraproject/obscura/internal/secagg"
	"github.com/obscuraproject/obscura/internal/store"
	"github.com/obscuraproject/obscura/internal/upload"
)

// Problem is an RFC 9457 problem details object with Obscura's stable code.
type Problem struct {
	Type     string          `json:"type" doc:"URI naming the problem type: urn:obscura:problem:<code>"`
	Title    string          `json:"title" doc:"Short summary of the problem type"`
	Status   int             `json:"status" doc:"HTTP status code"`
	Detail   string          `json:"detail,omitempty" doc:"Explanation of this occurrence"`
	Code     string          `json:"code" doc:"Stable machine-readable error code"`
	Purpose  string          `json:"purpose,omitempty" doc:"For consent_required: the (first) purpose that needs consent"`
	Purposes []string        `json:"purposes,omitempty" doc:"For consent_required: every purpose of the request that needs consent"`
	Errors   []ProblemDetail `json:"errors,omitempty" doc:"Validation failures"`
	Instance string          `json:"instance,omitempty"`
	// Categories names what the sensitive-attribute filter found in a
	// refused caption (caption_rejected).
	Categories []string `json:"categories,omitempty" doc:"For caption_rejected: the sensitive categories the caption touches"`

	headers http.Header
}

// GetHeaders implements huma.HeadersError: a rate-limited problem carries
// its Retry-After.
func (p *Problem) GetHeaders() http.Header { return p.headers }

// ProblemDetail locates one validation failure. The offending value is
// deliberately not echoed: it may be a subject id or a secret.
type ProblemDetail struct {
	Message  string `json:"message,omitempty"`
	Location string `json:"location,omitempty"`
}

// Error implements error.
func (p *Problem) Error() string { return p.Code + ": " + p.Detail }

// GetStatus implements huma.StatusError.
func (p *Problem) GetStatus() int { return p.Status }

// ContentType implements huma.ContentTypeFilter.
func (p *Problem) ContentType(string) string { return "application/problem+json" }

// errorRule is one row of the error table.
type errorRule struct {
	status int
	code   string
	title  string
}

// sentinelTable maps package sentinels to public codes; it is consulted
// before kindTable. Codes are stable and append-only (docs/errors.md).
var sentinelTable = []struct {
	err error
	errorRule
}{
	{auth.ErrUnauthenticated, errorRule{http.StatusUnauthorized, "unauthenticated", "Unauthenticated"}},
	{auth.ErrForbidden, errorRule{http.StatusForbidden, "forbidden", "Forbidden"}},
	{keyring.ErrKeyRevoked, errorRule{http.StatusForbidden, "key_revoked", "Key version revoked"}},
	{keyring.ErrKeyDestroyed, errorRule{http.StatusNotFound, "not_found", "Not found"}},
	{keyring.ErrUnavailable, errorRule{http.StatusServiceUnavailable, "unavailable", "Service unavailable"}},
	{incident.ErrKilled, errorRule{http.StatusServiceUnavailable, "kill_switch", "Stopped by kill switch"}},
	{upload.ErrTokenInvalid, errorRule{http.StatusUnauthorized, "token_invalid", "Invalid token"}},
	{upload.ErrTokenExpired, errorRule{http.StatusGone, "token_expired", "Token expired"}},
	{upload.ErrTokenUsed, errorRule{http.StatusConflict, "token_used", "Token already used"}},
	{upload.ErrBodyTooLarge, errorRule{http.StatusRequestEntityTooLarge, "too_large", "Too large"}},
	{sanitize.ErrUnsupported, errorRule{http.StatusUnsupportedMediaType, "unsupported_type", "Unsupported media type"}},
	{sanitize.ErrTooLarge, errorRule{http.StatusUnprocessableEntity, "image_too_large", "Image too large"}},
	{sanitize.ErrInvalid, errorRule{http.StatusUnprocessableEntity, "image_invalid", "Invalid image"}},
	{provenance.ErrUnreadable, errorRule{http.StatusUnprocessableEntity, "image_invalid", "Invalid image"}},
	{provenance.ErrTooLarge, errorRule{http.StatusUnprocessableEntity, "image_too_large", "Image too large"}},
	{meme.ErrNotEligible, errorRule{http.StatusUnprocessableEntity, "meme_unavailable", "No meme drafts for this photo"}},
	{meme.ErrNoCaption, errorRule{http.StatusUnprocessableEntity, "meme_unavailable", "No meme drafts for this photo"}},
	{plugin.ErrFailed, errorRule{http.StatusUnprocessableEntity, "plugin_failed", "Plugin failed"}},
	{plugin.ErrRejected, errorRule{http.StatusUnprocessableEntity, "plugin_rejected", "Plugin rejected"}},
	{fl.ErrBudget, errorRule{http.StatusConflict, "fl_budget_spent", "Privacy budget spent"}},
	{fl.ErrRoundFull, errorRule{http.StatusConflict, "fl_round_full", "Round full"}},
	{fl.ErrQuota, errorRule{http.StatusConflict, "fl_quota", "Federated-learning quota reached"}},
	{fl.ErrNotEnrolled, errorRule{http.StatusForbidden, "fl_device_unknown", "Device not enrolled"}},
	{fl.ErrCheckin, errorRule{http.StatusForbidden, "fl_checkin_invalid", "Check-in does not verify"}},
	{fl.ErrNoRound, errorRule{http.StatusNotFound, "fl_no_round", "No such round"}},
	{fl.ErrArtefact, errorRule{http.StatusServiceUnavailable, "fl_artefact_invalid", "Model artefact does not verify"}},
	{secagg.ErrMalformed, errorRule{http.StatusBadRequest, "secagg_malformed", "Malformed secure-aggregation message"}},
	{secagg.ErrForged, errorRule{http.StatusForbidden, "secagg_forged", "Secure-aggregation message does not verify"}},
	{secagg.ErrReplay, errorRule{http.StatusConflict, "secagg_replay", "Secure-aggregation message replayed"}},
	{secagg.ErrStage, errorRule{http.StatusConflict, "secagg_out_of_order", "Secure-aggregation message out of order"}},
	{secagg.ErrMismatch, errorRule{http.StatusBadRequest, "secagg_mismatch", "Secure-aggregation message inconsistent"}},
	{secagg.ErrTooFew, errorRule{http.StatusServiceUnavailable, "secagg_too_few", "Too few clients left"}},
	{sandbox.ErrUnavailable, errorRule{http.StatusServiceUnavailable, "analysis_unavailable", "Analysis unavailable"}},
	{store.ErrBudgetExhausted, errorRule{http.StatusForbidden, "privacy_budget_exhausted", "Privacy budget exhausted"}},
}

// captionRejected is a user caption the sensitive-attribute filter refused.
var captionRejected = errorRule{http.StatusUnprocessableEntity, "caption_rejected", "Caption rejected"}

// storageFull answers a write refused because the disk or the store is full.
var storageFull = errorRule{http.StatusServiceUnavailable, "storage_full", "Storage full"}

// StorageFullRetryAfter is the Retry-After (seconds) of storage_full.
const StorageFullRetryAfter = 30

// kindTable maps error kinds to public codes when no sentinel matched.
var kindTable = map[fault.Kind]errorRule{
	fault.Invalid:         {http.StatusBadRequest, "invalid_request", "Invalid request"},
	fault.NotFound:        {http.StatusNotFound, "not_found", "Not found"},
	fault.Unauthenticated: {http.StatusUnauthorized, "unauthenticated", "Unauthenticated"},
	fault.Permission:      {http.StatusForbidden, "forbidden", "Forbidden"},
	fault.Expired:         {http.StatusGone, "expired", "Expired"},
	fault.Conflict:        {http.StatusConflict, "conflict", "Conflict"},
	fault.TooLarge:        {http.StatusRequestEntityTooLarge, "too_large", "Too large"},
	fault.Unavailable:     {http.StatusServiceUnavailable, "unavailable", "Service unavailable"},
	fault.RateLimited:     {http.StatusTooManyRequests, "rate_limited", "Rate limited"},
	fault.Unsupported:     {http.StatusUnsupportedMediaType, "unsupported_type", "Unsupported media type"},
	fault.ConsentRequired: {http.StatusForbidden, "consent_required", "Consent required"},
	fault.KeyRevoked:      {http.StatusForbidden, "key_revoked", "Key version revoked"},
	fault.InputRejected:   {http.StatusUnprocessableEntity, "input_rejected", "Input rejected"},
	fault.Blocked:         {http.StatusForbidden, "key_blocked", "API key blocked"},
	fault.Other:           {http.StatusInternalServerError, "internal", "Internal error"},
}

// overloaded is load shedding (guard.OverloadedError): the analysis or
// decode queue is full. Unlike 429 rate_limited it is about the server,
// not the caller's key.
var overloaded = errorRule{http.StatusServiceUnavailable, "overloaded", "Overloaded"}

// statusTable names the problems huma itself raises (validation, routing).
var statusTable = map[int]errorRule{
	http.StatusBadRequest:            kindTable[fault.Invalid],
	http.StatusUnprocessableEntity:   {http.StatusUnprocessableEntity, "invalid_request", "Invalid request"},
	http.StatusNotFound:              kindTable[fault.NotFound],
	http.StatusMethodNotAllowed:      {http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed"},
	http.StatusNotAcceptable:         {http.StatusNotAcceptable, "not_acceptable", "Not acceptable"},
	http.StatusRequestEntityTooLarge: kindTable[fault.TooLarge],
	http.StatusUnsupportedMediaType:  kindTable[fault.Unsupported],
	http.StatusInternalServerError:   kindTable[fault.Other],
	http.StatusServiceUnavailable:    kindTable[fault.Unavailable],
}

func newProblem(r errorRule, detail string) *Problem {
	return &Problem{Type: "urn:obscura:problem:" + r.code, Title: r.title, Status: r.status, Detail: detail, Code: r.code}
}

// ProblemFor maps any error to its problem. Internal errors get a generic
// detail: their text may name internals and is only logged.
func ProblemFor(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var rl *guard.RateLimitedError
	if errors.As(err, &rl) {
		why := rl.Why + " exceeded"
		if strings.HasSuffix(rl.Why, "extraction") {
			why = rl.Why
		}
		p := newProblem(kindTable[fault.RateLimited], why+"; see Retry-After")
		p.headers = http.Header{"Retry-After": {strconv.Itoa(rl.RetryAfterSeconds())}}
		return p
	}
	var ov *guard.OverloadedError
	if errors.As(err, &ov) {
		p := newProblem(overloaded, "the server is at capacity ("+ov.Gate+"); see Retry-After")
		p.headers = http.Header{"Retry-After": {strconv.Itoa(ov.RetryAfterSeconds())}}
		return p
	}
	if fault.IsStorageFull(err) {
		// Before the kinds: a full disk is a fault the client can retry
		// once space is made, not an internal error (issue 17.2).
		p := newProblem(storageFull, "storage is full; retry later")
		p.headers = http.Header{"Retry-After": {strconv.Itoa(StorageFullRetryAfter)}}
		return p
	}
	var rej *meme.CaptionRejectedError
	if errors.As(err, &rej) {
		p := newProblem(captionRejected, "the caption mentions "+strings.Join(rej.Categories, ", "))
		p.Categories = rej.Categories
		return p
	}
	var cr *consent.RequiredError
	if errors.As(err, &cr) {
		missing := cr.Missing()
		p := newProblem(kindTable[fault.ConsentRequired], "the subject has not consented to "+strings.Join(missing, ", "))
		p.Purpose, p.Purposes = cr.Purpose, missing
		return p
	}
	for _, row := range sentinelTable {
		if errors.Is(err, row.err) {
			return newProblem(row.errorRule, fault.PublicMessage(err))
		}
	}
	kind := fault.KindOf(err)
	r, ok := kindTable[kind]
	if !ok || kind == fault.Other {
		return newProblem(kindTable[fault.Other], "internal error")
	}
	return newProblem(r, fault.PublicMessage(err))
}

// hookHumaErrors makes huma's own errors (validation, bad JSON) problems with codes.
func hookHumaErrors() {
	huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
		r, ok := statusTable[status]
		if !ok {
			r = errorRule{status, "error", http.StatusText(status)}
			if status >= 500 {
				r = kindTable[fault.Other]
				msg = "internal error"
			}
		}
		p := newProblem(r, msg)
		for _, e := range errs {
			var d *huma.ErrorDetail
			if errors.As(e, &d) {
				p.Errors = append(p.Errors, ProblemDetail{Message: d.Message, Location: d.Location})
			} else if e != nil && status < 500 {
				p.Errors = append(p.Errors, ProblemDetail{Message: e.Error()})
			}
		}
		return p
	}
}

// writeProblem writes p to a plain net/http response.
func writeProblem(w http.ResponseWriter, p *Problem) {
	for k, v := range p.headers {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

package api

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/danielgtaylor/huma/v2"
)

// PurposesExtension is how a gated operation declares the purposes it needs.
const purposesExtension = "x-obscura-purposes"

// ungated lists every operation that does not process a subject's pixels or
// derived data, with the reason it needs no consent. Any operation not listed
// here must declare its purposes with the x-obscura-purposes extension, and
// is then called without consent and must refuse with 403 consent_required.
// Adding an endpoint without classifying it fails this test.
var ungated = map[string]string{
	"GET /healthz":                         "process health",
	"GET /readyz":                          "dependency health",
	"GET /v1/tenant":                       "tenant metadata",
	"GET /v1/keys":                         "API key metadata",
	"POST /v1/keys":                        "API key management",
	"GET /v1/keys/{id}":                    "API key metadata",
	"DELETE /v1/keys/{id}":                 "API key management",
	"POST /v1/uploads":                     "storing a photo for its owner is not processing for a purpose",
	"PUT /v1/upload/{token}":               "ingest: sanitize and encrypt only; no model sees the pixels",
	"GET /v1/assets/{id}":                  "metadata only",
	"POST /v1/assets/{id}/download":        "returns the owner's own sanitized photo",
	"GET /v1/download/{token}":             "returns the owner's own sanitized photo",
	"DELETE /v1/assets/{id}":               "deletion",
	"GET /v1/purposes":                     "registry",
	"POST /v1/subjects/{subject}/consents": "consent itself",
	"DELETE /v1/subjects/{subject}/consents/{purpose}":  "consent itself",
	"GET /v1/subjects/{subject}/consents":               "consent itself",
	"GET /v1/tenant/consent-key":                        "public key",
	"POST /v1/subjects/{subject}/export":                "subject right of access",
	"GET /v1/exports/{token}":                           "subject right of access",
	"DELETE /v1/subjects/{subject}":                     "subject right to erasure",
	"GET /v1/admin/audit":                               "audit metadata",
	"PUT /v1/admin/kill-switch":                         "incident control",
	"GET /v1/admin/kill-switch":                         "incident control",
	"GET /v1/admin/alerts":                              "alert metadata",
	"POST /v1/subjects/{subject}/privacy-link":          "subject right of access (the privacy center)",
	"DELETE /v1/subjects/{subject}/privacy-link":        "ends the subject's privacy-center access (no processing)",
	"GET /v1/tenant/webhook-secret":                     "tenant credential",
	"GET /v1/jobs/{id}":                                 "job state, and results stored under consent (revocation crypto-shreds them)",
	"GET /v1/assets/{id}/analysis":                      "reads results stored under consent; revoking a purpose crypto-shreds them",
	"POST /v1/suggestions/{id}/reject":                  "deletion of a draft",
	"GET /v1/subjects/{subject}/people":                 "the subject's own gallery, which exists only under face_recognition consent (revocation destroys it)",
	"PATCH /v1/subjects/{subject}/people/{person}":      "the subject's own gallery, which exists only under face_recognition consent",
	"POST /v1/subjects/{subject}/people/{person}/merge": "the subject's own gallery, which exists only under face_recognition consent",
	"DELETE /v1/subjects/{subject}/people/{person}":     "deletion",
	"POST /v1/analytics/query":                          "differentially private aggregates over subjects with analytics consent only (contributions are recorded under it)",
	"GET /v1/analytics/budget":                          "privacy-budget metadata",
	"GET /v1/subjects/{subject}/drafts":                 "the subject's own drafts, which exist only under the consent of the purpose that made them (revocation deletes them)",
	"POST /v1/drafts/{id}/download":                     "the subject's own draft, which exists only under its purpose's consent",
	"POST /v1/drafts/{id}/accept":                       "the subject's approval of a draft that exists only under its purpose's consent (revocation deletes it)",
	"POST /v1/drafts/{id}/reject":                       "deletion of a draft",
	"POST /v1/captions/check":                           "checks text the app sends; reads no subject data",
}

func TestEveryOperationIsClassifiedForConsent(t *testing.T) {
	t.Parallel()
	e := newUploadEnv(t)
	seen := map[string]bool{}
	var gated []string
	for path, item := range e.api.huma.OpenAPI().Paths {
		for method, op := range map[string]*huma.Operation{http.MethodGet: item.Get, http.MethodPost: item.Post,
			http.MethodPut: item.Put, http.MethodDelete: item.Delete, http.MethodPatch: item.Patch} {
			if op == nil {
				continue
			}
			key := method + " " + path
			seen[key] = true
			if _, ok := op.Extensions[purposesExtension]; ok {
				gated = append(gated, key)
				continue
			}
			if _, ok := ungated[key]; !ok {
				t.Errorf("%s is neither gated (%s) nor listed as ungated with a reason", key, purposesExtension)
			}
		}
	}
	for key := range ungated {
		if !seen[key] {
			t.Errorf("the ungated list names %s, which the API does not have", key)
		}
	}
	// Every gated operation, called without consent, refuses.
	refusals := map[string]func() (int, []byte){
		"POST /v1/assets/{id}/analyze": func() (int, []byte) {
			id := e.uploadPhoto(t, "a", "nobody-consented", "sample3.jpg")
			for _, f := range []string{"faces", "tags", "sensitive", "text"} {
				code, _, b := e.req(t, "POST", e.srv.URL+"/v1/assets/"+id+"/analyze", e.keys["a"], "application/json", []byte(`{"features":["`+f+`"]}`))
				if code != http.StatusForbidden {
					return code, b
				}
			}
			return http.StatusForbidden, []byte(`{"code":"consent_required"}`)
		},
		"POST /v1/assets/{id}/memes": func() (int, []byte) {
			id := e.uploadPhoto(t, "a", "no-meme-consent", "sample3.jpg")
			e.grant(t, "a", "no-meme-consent", "tagging", "text_detection") // not meme_generation
			code, _, b := e.req(t, "POST", e.srv.URL+"/v1/assets/"+id+"/memes", e.keys["a"], "application/json", []byte(`{}`))
			return code, b
		},
		"POST /v1/assets/{id}/faces/suggest": func() (int, []byte) {
			id := e.uploadPhoto(t, "a", "no-face-consent", "sample3.jpg")
			e.grant(t, "a", "no-face-consent", "face_detection") // not face_recognition
			code, _, b := e.req(t, "POST", e.srv.URL+"/v1/assets/"+id+"/faces/suggest", e.keys["a"], "", nil)
			return code, b
		},
		// A draft exists only under consent: revoking face_recognition
		// deletes it, so accepting afterwards finds nothing (404), which is
		// stronger than a 403.
		"POST /v1/suggestions/{id}/accept": func() (int, []byte) {
			id := e.uploadPhoto(t, "a", "revoker", "sample3.jpg")
			e.grant(t, "a", "revoker", "face_recognition")
			code, _, b := e.req(t, "POST", e.srv.URL+"/v1/assets/"+id+"/faces/suggest", e.keys["a"], "", nil)
			var out struct {
				Faces []struct {
					SuggestionID string `json:"suggestion_id"`
				} `json:"faces"`
			}
			if json.Unmarshal(b, &out); code != 200 || len(out.Faces) == 0 {
				return code, b
			}
			e.req(t, "DELETE", e.srv.URL+"/v1/subjects/revoker/consents/face_recognition", e.keys["a"], "", nil)
			code, _, b = e.req(t, "POST", e.srv.URL+"/v1/suggestions/"+out.Faces[0].SuggestionID+"/accept", e.keys["a"], "application/json", []byte(`{"person":"Ann"}`))
			if code == http.StatusNotFound {
				return http.StatusForbidden, []byte(`{"code":"consent_required"}`)
			}
			return code, b
		},
	}
	for _, key := range gated {
		call, ok := refusals[key]
		if !ok {
			t.Errorf("gated operation %s has no consent-refusal case in this test yet; add one", key)
			continue
		}
		if code, b := call(); code != http.StatusForbidden || codeOf(t, b) != "consent_required" {
			t.Errorf("%s without consent: %d %s", key, code, b)
		}
	}
}

package api

import (
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
	"DELETE /v1/subjects/{subject}/consents/{purpose}": "consent itself",
	"GET /v1/subjects/{subject}/consents":              "consent itself",
	"GET /v1/tenant/consent-key":                       "public key",
	"POST /v1/subjects/{subject}/export":               "subject right of access",
	"GET /v1/exports/{token}":                          "subject right of access",
	"DELETE /v1/subjects/{subject}":                    "subject right to erasure",
	"GET /v1/admin/audit":                              "audit metadata",
	"PUT /v1/admin/kill-switch":                        "incident control",
	"GET /v1/admin/kill-switch":                        "incident control",
	"GET /v1/admin/alerts":                             "alert metadata",
	"GET /v1/assets/{id}/analysis":                     "reads results stored under consent; revoking a purpose crypto-shreds them",
}

func TestEveryOperationIsClassifiedForConsent(t *testing.T) {
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

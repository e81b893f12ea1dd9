// Package admin registers the tenant, API key and kill-switch operations of
// the /v1 API (tags tenant and incident). Key creation and revocation and
// the kill switch go through the operator service, audited intent first
// like every channel's operator actions.
package admin

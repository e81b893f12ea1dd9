// Package consents registers the subject-facing operations of the /v1 API:
// the purpose registry, consent grants and revocations with their signed
// receipts, subject export and erasure (and the plain, token-authorised
// export download), and privacy-center links.
package consents

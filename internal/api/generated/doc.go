// Package generated registers the /v1 operations for generated images:
// drafts awaiting their subject, meme drafts and caption checks, signed
// plugin runs, and provenance (C2PA) verification.
package generated

package store

import "context"

type interactiveKey struct{}

// Interactive marks ctx's writes as on the path of a request a client is
// waiting for — an upload, the audit entry every request appends — as
// opposed to background work (analysis results, sweeps, purges). A store
// with a single writer (SQLite) runs them ahead of queued background
// writes; a store without one ignores the mark. It changes only the
// order in which writes wait, never what they do.
func Interactive(ctx context.Context) context.Context {
	return context.WithValue(ctx, interactiveKey{}, true)
}

// IsInteractive reports whether ctx was marked by Interactive.
func IsInteractive(ctx context.Context) bool {
	v, _ := ctx.Value(interactiveKey{}).(bool)
	return v
}

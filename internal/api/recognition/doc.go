// Package recognition registers the /v1 analysis operations: synchronous
// and queued analyses and their jobs, the webhook secret, and face-tag
// suggestions and the consented face gallery (people, merges, renames).
package recognition

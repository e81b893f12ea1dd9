package main

// jobIDKey keys the queue's public job ids (internal/jobs id.go): derived
// from the installation's keyring, so ids printed by `obscura import` and
// answered by `obscura serve` agree and survive restarts.
func jobIDKey(k interface {
	HashID(domain, id string) string
}) []byte {
	return []byte(k.HashID("job-id", "installation"))
}

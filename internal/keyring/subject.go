package keyring

// SubjectHash is the keyed hash under which a subject id is stored, logged
// and used in scope keys and blob keys. The raw id is never persisted.
func (k *Keyring) SubjectHash(subject string) string { return k.HashID("subject", subject) }

package subject

import (
	"context"
	"encoding/json"

	"github.com/obscuraproject/obscura/internal/derived"
)

type linkStore interface {
	SubjectPrivacyLinks(ctx context.Context, tenantID, subjectHash string) (int, error)
	DeleteSubjectPrivacyLinks(ctx context.Context, tenantID, subjectHash string) error
}

// Links is the subject's privacy-center links as a kind of the
// derived-data registry. A privacy-center session lives only while its
// link's record does (store.PrivacyLinks.PrivacyLinkLive), so erasing the
// subject ends every session of theirs at once.
type Links struct {
	Store linkStore
}

var _ derived.Kind = Links{}

// Name implements derived.Kind.
func (Links) Name() string { return "privacy_links" }

// ForgetAsset implements derived.Kind: links are not per photo.
func (Links) ForgetAsset(context.Context, string, string) error { return nil }

// ForgetPurpose implements derived.Kind: links are not per purpose.
func (Links) ForgetPurpose(context.Context, string, string, string) error { return nil }

// ForgetSubject implements derived.Kind: every link record (and so every
// session it opened).
func (l Links) ForgetSubject(ctx context.Context, tenant, subjectHash string) error {
	return l.Store.DeleteSubjectPrivacyLinks(ctx, tenant, subjectHash)
}

// Export implements derived.Kind: privacy/links.json, how many privacy
// links were issued for the subject (the links themselves are
// credentials and are not kept in clear).
func (l Links) Export(ctx context.Context, tenant, subjectHash string, b derived.Bundle) error {
	n, err := l.Store.SubjectPrivacyLinks(ctx, tenant, subjectHash)
	if err != nil || n == 0 {
		return err
	}
	doc, err := json.MarshalIndent(map[string]int{"privacy_links": n}, "", "  ")
	if err != nil {
		return err
	}
	return b.Add("privacy/links.json", doc)
}

// Held implements derived.Kind.
func (l Links) Held(ctx context.Context, tenant, subjectHash string) (int, error) {
	return l.Store.SubjectPrivacyLinks(ctx, tenant, subjectHash)
}

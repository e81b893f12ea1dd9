package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/obscuraproject/obscura/internal/derived"
)

// The derived-data registry's kind "analytics": a subject's contribution
// records. They are not sealed objects (the ledger's queries aggregate
// them) but minimal records — labels of a closed vocabulary, feature
// names, counts, the UTC day — under the keyed subject hash.

var (
	_ derived.Kind    = (*Service)(nil)
	_ derived.Sweeper = (*Service)(nil)
)

// Name implements derived.Kind.
func (s *Service) Name() string { return "analytics" }

// ForgetAsset implements derived.Kind: the photo's contribution goes.
func (s *Service) ForgetAsset(ctx context.Context, tenant, assetID string) error {
	_, err := s.st.DeleteAnalyticsAsset(ctx, tenant, assetID)
	return err
}

// ForgetPurpose implements derived.Kind: revoking analytics removes every
// contribution of the subject (they exist only under that purpose).
func (s *Service) ForgetPurpose(ctx context.Context, tenant, subjectHash, purpose string) error {
	if purpose != Purpose {
		return nil
	}
	return s.ForgetSubject(ctx, tenant, subjectHash)
}

// ForgetSubject implements derived.Kind.
func (s *Service) ForgetSubject(ctx context.Context, tenant, subjectHash string) error {
	_, err := s.st.DeleteAnalyticsSubject(ctx, tenant, subjectHash)
	return err
}

// ExportedPhoto is one photo contribution in an export bundle.
type ExportedPhoto struct {
	AssetID string   `json:"asset_id"`
	Day     string   `json:"day"`
	Faces   *int     `json:"faces,omitempty"`
	Tags    []string `json:"tags"`
	Expires string   `json:"expires_at"`
}

// ExportedFeature is one feature-use contribution in an export bundle.
type ExportedFeature struct {
	Feature string `json:"feature"`
	Day     string `json:"day"`
	Expires string `json:"expires_at"`
}

// Exported is analytics/contributions.json of an export bundle.
type Exported struct {
	Purpose  string            `json:"purpose"`
	Photos   []ExportedPhoto   `json:"photos"`
	Features []ExportedFeature `json:"features"`
}

// Export implements derived.Kind: analytics/contributions.json.
func (s *Service) Export(ctx context.Context, tenant, subjectHash string, b derived.Bundle) error {
	ps, fs, err := s.st.SubjectAnalytics(ctx, tenant, subjectHash)
	if err != nil {
		return err
	}
	if len(ps)+len(fs) == 0 {
		return nil
	}
	out := Exported{Purpose: Purpose, Photos: []ExportedPhoto{}, Features: []ExportedFeature{}}
	for _, p := range ps {
		e := ExportedPhoto{AssetID: p.AssetID, Day: p.Day.Format(time.DateOnly), Tags: p.Tags, Expires: p.ExpiresAt.Format(time.RFC3339)}
		if p.Faces >= 0 {
			f := p.Faces
			e.Faces = &f
		}
		if e.Tags == nil {
			e.Tags = []string{}
		}
		out.Photos = append(out.Photos, e)
	}
	for _, f := range fs {
		out.Features = append(out.Features, ExportedFeature{Feature: f.Feature, Day: f.Day.Format(time.DateOnly), Expires: f.ExpiresAt.Format(time.RFC3339)})
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return fmt.Errorf("encode analytics export: %w", err)
	}
	return b.Add("analytics/contributions.json", data)
}

// Held implements derived.Kind.
func (s *Service) Held(ctx context.Context, tenant, subjectHash string) (int, error) {
	ps, fs, err := s.st.SubjectAnalytics(ctx, tenant, subjectHash)
	return len(ps) + len(fs), err
}

// Sweep implements derived.Sweeper: contributions past their retention go.
func (s *Service) Sweep(ctx context.Context, limit int) (int, error) {
	return s.st.ExpireAnalytics(ctx, s.clk.Now(), limit)
}

package generated

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/obscuraproject/obscura/internal/api/op"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/provenance"
)

// MaxVerifyBytes bounds the image POST /v1/provenance/verify accepts.
const MaxVerifyBytes = 8 << 20

// ProvenanceService checks images for Obscura's manifest and watermark.
type ProvenanceService interface {
	Verify(ctx context.Context, tenant string, file []byte) (provenance.Verification, error)
}

// VerifyProvenanceInput is the image to check, as the request body.
type VerifyProvenanceInput struct {
	RawBody []byte `contentType:"application/octet-stream" doc:"The image (JPEG or PNG), at most 8 MiB"`
}

// VerifyProvenanceOutput is what was found.
type VerifyProvenanceOutput struct {
	Body provenance.Verification
}

// RegisterProvenance registers the provenance verification operation.
func RegisterProvenance(h op.Host, d Deps) {
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "verify-provenance", Method: http.MethodPost, Path: "/v1/provenance/verify", Tags: []string{"provenance"},
		Summary: "Check an image for this installation's C2PA manifest and this tenant's watermark",
		Description: "c2pa.valid means the manifest's signature, hashes and hard binding verify and its signer chains to this installation's " +
			"provenance CA (created_at is the signer's own clock: no timestamp authority). watermark.asset_id is set only when the " +
			"watermark is this tenant's and the draft that carried it was accepted as an asset that still exists.",
		Security: op.Secured(auth.ScopeAnalyze), MaxBodyBytes: MaxVerifyBytes,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *VerifyProvenanceInput) (*VerifyProvenanceOutput, error) {
		v, err := d.Provenance.Verify(ctx, op.Principal(ctx).TenantID, in.RawBody)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		return &VerifyProvenanceOutput{Body: v}, nil
	})
}

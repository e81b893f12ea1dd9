package op

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/obscuraproject/obscura/internal/fault"
	"github.com/obscuraproject/obscura/internal/upload"
)

// SubjectInput addresses a subject by the app's id (URL-escaped).
type SubjectInput struct {
	Subject string `path:"subject" minLength:"1" maxLength:"256"`
}

// Resolve implements huma.Resolver: every input naming a subject in its
// path is checked like an upload's subject.
func (in *SubjectInput) Resolve(huma.Context) []error { return SubjectErrors(in.Subject) }

// SubjectErrors validates a subject id from a path: the rules uploads
// apply (1–256 bytes of UTF-8, no control characters — NUL, CR and LF
// were accepted on the consent routes).
func SubjectErrors(s string) []error {
	if err := upload.ValidSubject(s); err != nil {
		return []error{&huma.ErrorDetail{Location: "path.subject", Message: fault.PublicMessage(err)}}
	}
	return nil
}

// AssetIDInput addresses an asset.
type AssetIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

// DownloadOutput is a single-use download URL.
type DownloadOutput struct {
	Body struct {
		DownloadURL string    `json:"download_url"`
		ExpiresAt   time.Time `json:"expires_at"`
	}
}

// Downloads issues single-use download tokens (assets' and drafts').
type Downloads interface {
	NewDownload(ctx context.Context, tenant, id string) (string, time.Time, error)
}

// NewDownload is the caller's tenant's single-use download URL for id.
func NewDownload(ctx context.Context, h Host, d Downloads, id string) (*DownloadOutput, error) {
	tok, exp, err := d.NewDownload(ctx, Principal(ctx).TenantID, id)
	if err != nil {
		return nil, h.Fail(ctx, err)
	}
	out := &DownloadOutput{}
	out.Body.DownloadURL, out.Body.ExpiresAt = h.PublicURL()+"/v1/download/"+tok, exp
	return out, nil
}

// WriteAttachment sends a decrypted file once and wipes the buffer.
func WriteAttachment(w http.ResponseWriter, ctype, disposition string, data []byte) {
	defer clear(data)
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("Content-Disposition", disposition)
	w.Write(data)
}

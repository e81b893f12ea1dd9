package recognition

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/obscuraproject/obscura/internal/api/op"
	"github.com/obscuraproject/obscura/internal/auth"
	"github.com/obscuraproject/obscura/internal/faces"
	"github.com/obscuraproject/obscura/internal/guard"
)

// FaceService runs face-tag suggestions and keeps galleries (package faces).
type FaceService interface {
	SuggestAs(ctx context.Context, tenant, key, assetID string) ([]faces.FaceSuggestion, error)
	Accept(ctx context.Context, tenant, suggestionID, person string) (faces.Accepted, error)
	Reject(ctx context.Context, tenant, suggestionID string) error
	People(ctx context.Context, tenant, subjectHash string) ([]faces.PersonInfo, error)
	Rename(ctx context.Context, tenant, subjectHash, personID, name string) (faces.Person, error)
	Merge(ctx context.Context, tenant, subjectHash, from, into string) (faces.Person, error)
	DeletePerson(ctx context.Context, tenant, subjectHash, personID string) error
}

// SuggestOutput lists the faces of a photo with candidate people.
type SuggestOutput struct {
	Body struct {
		Faces []faces.FaceSuggestion `json:"faces"`
	}
}

// SuggestionInput names a suggestion.
type SuggestionInput struct {
	ID string `path:"id" maxLength:"64"`
}

// AcceptInput accepts a suggestion as a person.
type AcceptInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Person string `json:"person" minLength:"1" maxLength:"200" doc:"A person id of the subject's gallery, or a name (an existing person's, else a new person)"`
	}
}

// AcceptOutput is the persisted tag.
type AcceptOutput struct{ Body faces.Accepted }

// PeopleOutput lists a subject's people.
type PeopleOutput struct {
	Body struct {
		People []faces.PersonInfo `json:"people"`
	}
}

// PersonInput names a person of a subject.
type PersonInput struct {
	Subject string `path:"subject" maxLength:"256"`
	Person  string `path:"person" maxLength:"64"`
}

// RenameInput renames a person.
type RenameInput struct {
	Subject string `path:"subject" maxLength:"256"`
	Person  string `path:"person" maxLength:"64"`
	Body    struct {
		Name string `json:"name" minLength:"1" maxLength:"200"`
	}
}

// MergeInput merges a person into another.
type MergeInput struct {
	Subject string `path:"subject" maxLength:"256"`
	Person  string `path:"person" maxLength:"64"`
	Body    struct {
		Into string `json:"into" minLength:"1" maxLength:"64" doc:"The person id that keeps the merged faces"`
	}
}

// PersonOutput is one person.
type PersonOutput struct{ Body faces.Person }

// Resolve implements huma.Resolver.
func (in *PersonInput) Resolve(huma.Context) []error { return op.SubjectErrors(in.Subject) }

// Resolve implements huma.Resolver.
func (in *RenameInput) Resolve(huma.Context) []error { return op.SubjectErrors(in.Subject) }

// Resolve implements huma.Resolver.
func (in *MergeInput) Resolve(huma.Context) []error { return op.SubjectErrors(in.Subject) }

// RegisterFaces registers the face-tag suggestion and gallery operations.
func RegisterFaces(h op.Host, d Deps) {
	errs := []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity}
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "suggest-faces", Method: http.MethodPost, Path: "/v1/assets/{id}/faces/suggest", Tags: []string{"faces"},
		Summary:     "Suggest who the faces in a photo are, from the subject's own gallery",
		Description: "Needs the subject's face_recognition consent. Up to 3 candidates per face, best first, none for a new person. Each face is a draft (default TTL 1 h) until accepted or rejected.",
		Security:    op.Secured(auth.ScopeAnalyze), Metadata: map[string]any{"feature": "faces", "rate_class": guard.ClassAnalyze},
		Extensions: map[string]any{"x-obscura-purposes": []string{faces.Purpose}}, Errors: append(errs, http.StatusTooManyRequests, http.StatusServiceUnavailable),
	}, func(ctx context.Context, in *op.AssetIDInput) (*SuggestOutput, error) {
		release, err := h.Admit(ctx)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		defer release()
		fs, err := d.Faces.SuggestAs(ctx, op.Principal(ctx).TenantID, op.Principal(ctx).KeyID, in.ID)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		out := &SuggestOutput{}
		out.Body.Faces = fs
		return out, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "accept-suggestion", Method: http.MethodPost, Path: "/v1/suggestions/{id}/accept", Tags: []string{"faces"},
		Summary:  "Accept a suggestion: the tag persists and the face joins that person's gallery",
		Security: op.Secured(auth.ScopeAnalyze), Metadata: map[string]any{"feature": "faces"},
		Extensions: map[string]any{"x-obscura-purposes": []string{faces.Purpose}}, Errors: errs,
	}, func(ctx context.Context, in *AcceptInput) (*AcceptOutput, error) {
		acc, err := d.Faces.Accept(ctx, op.Principal(ctx).TenantID, in.ID, in.Body.Person)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		return &AcceptOutput{Body: acc}, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "reject-suggestion", Method: http.MethodPost, Path: "/v1/suggestions/{id}/reject", Tags: []string{"faces"},
		Summary:  "Reject a suggestion: the face's embedding and everything about it are deleted",
		Security: op.Secured(auth.ScopeAnalyze), DefaultStatus: http.StatusNoContent, Errors: errs,
	}, func(ctx context.Context, in *SuggestionInput) (*struct{}, error) {
		return nil, h.Fail(ctx, d.Faces.Reject(ctx, op.Principal(ctx).TenantID, in.ID))
	})
	subject := func(ctx context.Context, s string) string { return h.HashID("subject", s) }
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "list-people", Method: http.MethodGet, Path: "/v1/subjects/{subject}/people", Tags: []string{"faces"},
		Summary: "The people of a subject's face gallery", Security: op.Secured(auth.ScopeAnalyze), Errors: errs,
	}, func(ctx context.Context, in *op.SubjectInput) (*PeopleOutput, error) {
		ps, err := d.Faces.People(ctx, op.Principal(ctx).TenantID, subject(ctx, in.Subject))
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		out := &PeopleOutput{}
		out.Body.People = ps
		return out, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "rename-person", Method: http.MethodPatch, Path: "/v1/subjects/{subject}/people/{person}", Tags: []string{"faces"},
		Summary: "Rename a person", Security: op.Secured(auth.ScopeAnalyze), Errors: errs,
	}, func(ctx context.Context, in *RenameInput) (*PersonOutput, error) {
		p, err := d.Faces.Rename(ctx, op.Principal(ctx).TenantID, subject(ctx, in.Subject), in.Person, in.Body.Name)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		return &PersonOutput{Body: p}, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "merge-person", Method: http.MethodPost, Path: "/v1/subjects/{subject}/people/{person}/merge", Tags: []string{"faces"},
		Summary: "Merge a person into another (faces and tags move; the person goes)", Security: op.Secured(auth.ScopeAnalyze), Errors: errs,
	}, func(ctx context.Context, in *MergeInput) (*PersonOutput, error) {
		p, err := d.Faces.Merge(ctx, op.Principal(ctx).TenantID, subject(ctx, in.Subject), in.Person, in.Body.Into)
		if err != nil {
			return nil, h.Fail(ctx, err)
		}
		return &PersonOutput{Body: p}, nil
	})
	huma.Register(h.Huma(), huma.Operation{
		OperationID: "delete-person", Method: http.MethodDelete, Path: "/v1/subjects/{subject}/people/{person}", Tags: []string{"faces"},
		Summary: "Delete a person with their face embeddings and tags", Security: op.Secured(auth.ScopeAnalyze), DefaultStatus: http.StatusNoContent, Errors: errs,
	}, func(ctx context.Context, in *PersonInput) (*struct{}, error) {
		return nil, h.Fail(ctx, d.Faces.DeletePerson(ctx, op.Principal(ctx).TenantID, subject(ctx, in.Subject), in.Person))
	})
}

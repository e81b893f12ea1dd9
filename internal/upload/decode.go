package upload

import (
	"context"

	"github.com/obscuraproject/obscura/internal/sanitize"
)

// decodeGate bounds the decodes in flight (guard.Gate): a decode of n
// megapixels waits until the megapixels already decoding leave room, so a
// burst of large uploads queues instead of multiplying memory and CPU.
type decodeGate interface {
	Admit(ctx context.Context, n int64) (func(), error)
}

// WithDecodeGate makes every full decode of an upload (orientation to
// apply, HEIC) pass g, weighted by megapixels. It returns s.
func (s *Service) WithDecodeGate(g decodeGate) *Service {
	s.decodes = g
	return s
}

// limits are the sanitize limits of one ingest, with the decode gate bound
// to its context.
func (s *Service) limits(ctx context.Context) sanitize.Limits {
	lim := s.cfg.Limits
	if s.decodes != nil {
		lim.Admit = func(pixels int64) (func(), error) {
			return s.decodes.Admit(ctx, max(1, (pixels+999_999)/1_000_000))
		}
	}
	return lim
}

// Sanitizer cleans an upload: sanitize.Sanitize in this process, or the
// sandboxed worker pool (internal/sandbox), which applies lim.Admit itself.
type Sanitizer interface {
	Sanitize(ctx context.Context, data []byte, lim sanitize.Limits) (sanitize.Result, error)
}

// WithSanitizer makes ingest sanitize through z. It returns s.
func (s *Service) WithSanitizer(z Sanitizer) *Service {
	s.sanitizer = z
	return s
}

// sanitize cleans data through the configured sanitizer.
func (s *Service) sanitize(ctx context.Context, data []byte) (sanitize.Result, error) {
	if s.sanitizer != nil {
		return s.sanitizer.Sanitize(ctx, data, s.limits(ctx))
	}
	return sanitize.Sanitize(data, s.limits(ctx))
}

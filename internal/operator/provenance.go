package operator

import (
	"context"
	"strconv"
)

// Provenance key actions (audited like every operator action).
const (
	ActionProvenanceRotate = "provenance.rotate"
	ActionProvenanceRevoke = "provenance.revoke"
)

// provenanceKeys is what the operator needs from the provenance service:
// certificate rotation and revocation (tenant "" is the installation CA).
type provenanceKeys interface {
	RotateCA(ctx context.Context) (int, error)
	RotateTenant(ctx context.Context, tenant string) (int, error)
	Revoke(ctx context.Context, tenant string, version int) error
}

// WithProvenance enables the provenance key actions. It returns s.
func (s *Service) WithProvenance(p provenanceKeys) *Service {
	s.prov = p
	return s
}

// RotateProvenance issues a new signing certificate version for tenant
// (tenant "": a new installation CA version) and returns it.
func (s *Service) RotateProvenance(ctx context.Context, by By, tenant string) (int, error) {
	var v int
	err := s.do(ctx, by, tenant, ActionProvenanceRotate, func() (string, error) {
		var err error
		if tenant == "" {
			v, err = s.prov.RotateCA(ctx)
		} else {
			v, err = s.prov.RotateTenant(ctx, tenant)
		}
		return strconv.Itoa(v), err
	})
	return v, err
}

// RevokeProvenance revokes a signing certificate version of tenant
// (tenant "": a CA version).
func (s *Service) RevokeProvenance(ctx context.Context, by By, tenant string, version int) error {
	return s.do(ctx, by, tenant, ActionProvenanceRevoke, func() (string, error) {
		return strconv.Itoa(version), s.prov.Revoke(ctx, tenant, version)
	})
}

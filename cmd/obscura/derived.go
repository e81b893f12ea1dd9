package main

import (
	"github.com/obscuraproject/obscura/internal/analysis"
	"github.com/obscuraproject/obscura/internal/consent"
	"github.com/obscuraproject/obscura/internal/derived"
	"github.com/obscuraproject/obscura/internal/faces"
	"github.com/obscuraproject/obscura/internal/subject"
	"github.com/obscuraproject/obscura/internal/upload"
)

// registerKinds registers every kind of data kept about a subject with the
// derived-data registry, in the order forgets run them: what is derived
// from photos first, the photos last. A new generator's kind goes here.
func registerKinds(reg *derived.Registry, svc *services, an *analysis.Service, fs *faces.Service, cs *consent.Service) *derived.Registry {
	return reg.Register(an, fs, subject.Links{Store: svc.store}, cs, upload.Photos{Records: svc.store, Objects: svc.objects})
}

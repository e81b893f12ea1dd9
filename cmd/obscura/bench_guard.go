package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/obscuraproject/obscura/internal/guard/squeeze"
	"github.com/obscuraproject/obscura/internal/models"
	"github.com/obscuraproject/obscura/internal/vision"
)

// benchGuard is `obscura bench guard`: the adversarial-input guard's
// squeeze check of every face of a sample photo against the identity path
// it sits in front of (detecting the faces and embedding each with
// ArcFace), in the same run.
func (a *app) benchGuard(ctx context.Context, out map[string]any, b *strings.Builder) error {
	fmt.Fprintln(a.stderr, "benchmarking the squeeze guard against the identity embeddings of the same photo …")
	mdir := models.DefaultDir(a.getenv)
	eng, err := vision.Open(models.Pinned(), mdir, vision.Options{Threads: 2})
	if err != nil {
		return err
	}
	defer eng.Close()
	raw, err := models.Pinned().Load(mdir, "sample1.jpg")
	if err != nil {
		return err
	}
	p, err := eng.Decode(raw)
	if err != nil {
		return err
	}
	const rounds = 3
	s := squeeze.New()
	var embed, check time.Duration
	faces := 0
	for range rounds {
		start := time.Now()
		es, err := eng.Embeddings(ctx, p)
		if err != nil {
			return err
		}
		embed += time.Since(start)
		start = time.Now()
		for _, e := range es {
			if _, err := s.Check(ctx, eng.FaceProbe(p, e.Face), nil); err != nil {
				return err
			}
		}
		check += time.Since(start)
		faces = len(es)
	}
	em, cm := float64(embed.Microseconds())/1000/rounds, float64(check.Microseconds())/1000/rounds
	out["guard"] = map[string]any{"faces": faces, "embeddings_ms": em, "squeeze_ms": cm, "ratio": cm / em}
	fmt.Fprintf(b, "\nsqueeze guard (sample1.jpg, %d faces, 2 threads): %.0f ms, detection + ArcFace embeddings %.0f ms, ratio %.2f\n",
		faces, cm, em, cm/em)
	return nil
}

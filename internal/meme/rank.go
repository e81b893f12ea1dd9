package meme

import (
	"cmp"
	"encoding/binary"
	"hash/fnv"
	"slices"
	"strings"
)

// Cues are what a photo offers the ranking: its tags (best first, with
// scores) if tagging is granted, the text read from it (already made
// untrusted and filtered) if text_detection is granted, and whether
// templates must be person-safe.
type Cues struct {
	Tags       []TagCue
	Text       string
	PersonSafe bool
}

// TagCue is one tag and its score.
type TagCue struct {
	Label string
	Score float64
}

// Candidate is a template filled for a photo, with its rank score.
type Candidate struct {
	Template Template
	Top      string
	Bottom   string
	score    float64
	tie      uint64
}

// Specificity weights: a template for the exact object beats one for its
// scene, which beats one for the photo's text, which beats a generic one;
// within a weight, better-scored tags win, then the seeded order.
const (
	weightTag     = 4.0
	weightScene   = 2.5
	weightText    = 2.0
	weightOutdoor = 1.5
	weightGeneric = 1.0
)

// Rank returns the library's templates that fit cues, filled, best first.
// It is deterministic: the same cues and seed give the same order; the
// seed varies the order among equally fitting templates.
func (l *Library) Rank(c Cues, seed uint64) []Candidate {
	tagScore := map[string]float64{}
	sceneScore := map[string]float64{}
	sceneTag := map[string]string{}
	people := false
	for _, t := range c.Tags {
		if _, ok := sceneOf[t.Label]; !ok {
			continue
		}
		if t.Label == "person" {
			people = true
		}
		tagScore[t.Label] = max(tagScore[t.Label], t.Score)
		sc := sceneOf[t.Label]
		if t.Score > sceneScore[sc] {
			sceneScore[sc], sceneTag[sc] = t.Score, t.Label
		}
		if outdoorScenes[sc] && t.Score > sceneScore["outdoor"] {
			sceneScore["outdoor"], sceneTag["outdoor"] = t.Score, t.Label
		}
	}
	personSafe := c.PersonSafe || people
	var out []Candidate
	for _, t := range l.Templates {
		if personSafe && !t.PersonSafe {
			continue
		}
		var score float64
		var tag string
		switch {
		case t.Cue == "generic":
			score = weightGeneric
		case t.Cue == "text":
			if c.Text == "" {
				continue
			}
			score = weightText
		case strings.HasPrefix(t.Cue, "tag:"):
			tag = t.Cue[len("tag:"):]
			s, ok := tagScore[tag]
			if !ok {
				continue
			}
			score = weightTag + s
		default:
			sc := t.Cue[len("scene:"):]
			s, ok := sceneScore[sc]
			if !ok {
				continue
			}
			w := weightScene
			if sc == "outdoor" {
				w = weightOutdoor
			}
			score, tag = w+s, sceneTag[sc]
		}
		if tag == "person" {
			tag = "" // never a slot value: it would describe someone
		}
		if tag == "" && (strings.Contains(t.Top, "{tag}") || strings.Contains(t.Bottom, "{tag}")) {
			continue
		}
		fill := strings.NewReplacer("{tag}", tag, "{text}", c.Text)
		out = append(out, Candidate{Template: t, Top: fill.Replace(t.Top), Bottom: fill.Replace(t.Bottom), score: score, tie: tieBreak(seed, t.ID)})
	}
	slices.SortStableFunc(out, func(a, b Candidate) int {
		if a.score != b.score {
			return cmp.Compare(b.score, a.score)
		}
		return cmp.Compare(a.tie, b.tie)
	})
	return out
}

// tieBreak orders equally fitting templates by a hash of the seed and id.
func tieBreak(seed uint64, id string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	h.Write([]byte(id))
	return h.Sum64()
}

// Pick chooses n captions from ranked candidates: the best, then varied —
// at most one template per cue until every fitting cue had its turn —
// skipping candidates allow refuses.
func Pick(ranked []Candidate, n int, allow func(top, bottom string) bool) []Candidate {
	var out []Candidate
	used := map[string]bool{}
	taken := map[string]bool{}
	for pass := 0; pass < 2 && len(out) < n; pass++ {
		for _, c := range ranked {
			if len(out) == n {
				break
			}
			if taken[c.Template.ID] || pass == 0 && used[c.Template.Cue] {
				continue
			}
			taken[c.Template.ID] = true
			if allow != nil && !allow(c.Top, c.Bottom) {
				continue
			}
			used[c.Template.Cue] = true
			out = append(out, c)
		}
	}
	return out
}

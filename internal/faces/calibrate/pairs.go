package calibrate

import "sort"

// Face is one embedded photo of a labelled person.
type Face struct {
	Person  string
	Photo   string // the original photo's name (variants keep it)
	Variant string // "" for the original
	Vector  []float32
}

// Pairs scores the pairs among faces whose person is in people (nil: all).
// For the originals (variant ""), every unordered pair of different photos.
// For a variant, every variant face against the originals of the other
// photos (a degraded query against an ordinary gallery): the same person
// is a genuine pair, anyone else an impostor pair.
func Pairs(faces []Face, variant string, people map[string]bool) Scores {
	orig, q := split(faces, variant, people)
	return pairs(orig, q, variant, func(a, b Face) (genuine, scored bool) {
		if a.Photo == b.Photo && a.Person == b.Person {
			return false, false
		}
		return a.Person == b.Person, true
	})
}

// pairs scores each query face against each original (each unordered pair
// once when the queries are the originals, variant ""); kind says whether a
// pair is genuine or an impostor pair, or not scored at all.
func pairs(orig, q []Face, variant string, kind func(a, b Face) (genuine, scored bool)) Scores {
	var s Scores
	for i, a := range q {
		for j, b := range orig {
			if variant == "" && j <= i {
				continue
			}
			genuine, scored := kind(a, b)
			if !scored {
				continue
			}
			v := Similarity(a.Vector, b.Vector)
			if genuine {
				s.Genuine = append(s.Genuine, v)
			} else {
				s.Impostor = append(s.Impostor, v)
			}
		}
	}
	return s
}

// split returns the originals and the faces of variant among faces whose
// person is in people (nil: all).
func split(faces []Face, variant string, people map[string]bool) (orig, q []Face) {
	for _, f := range faces {
		if people != nil && !people[f.Person] {
			continue
		}
		if f.Variant == "" {
			orig = append(orig, f)
		}
		if f.Variant == variant {
			q = append(q, f)
		}
	}
	return orig, q
}

// Folds splits the people into k folds (sorted names dealt round-robin), so
// that each person is in exactly one fold.
func Folds(faces []Face, k int) []map[string]bool {
	seen := map[string]bool{}
	var names []string
	for _, f := range faces {
		if !seen[f.Person] {
			seen[f.Person] = true
			names = append(names, f.Person)
		}
	}
	sort.Strings(names)
	out := make([]map[string]bool, k)
	for i := range out {
		out[i] = map[string]bool{}
	}
	for i, n := range names {
		out[i%k][n] = true
	}
	return out
}

// Complement is every person of faces not in fold.
func Complement(faces []Face, fold map[string]bool) map[string]bool {
	out := map[string]bool{}
	for _, f := range faces {
		if !fold[f.Person] {
			out[f.Person] = true
		}
	}
	return out
}

// SelfPairs scores each variant face against originals, for data with one
// photo per person: a variant and the original of its own photo are a
// genuine pair (the same face, degraded), a variant and another person's
// original an impostor pair. variant "" gives the originals' impostor
// pairs only.
func SelfPairs(faces []Face, variant string) Scores {
	orig, q := split(faces, variant, nil)
	return pairs(orig, q, variant, func(a, b Face) (genuine, scored bool) {
		switch {
		case a.Person != b.Person:
			return false, true
		case variant != "" && a.Photo == b.Photo:
			return true, true
		}
		return false, false
	})
}

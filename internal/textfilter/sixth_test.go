package textfilter

import "testing"

// TestSixthRoundRules pins the sixth round's shipped mechanisms (body-part
// comparisons, wide gaps in spelt-out words, animal subjects,
// foods after demonyms, the concept families) with phrasings of the
// engineer's own, not corpus lines, each beside benign look-alikes that
// must stay allowed.
func TestSixthRoundRules(t *testing.T) {
	checkRules(t, newFilter(t), []ruleCase{
		// Body-part comparisons.
		{"his ears are bigger than his ambitions", Appearance},
		{"her chin like a shovel", Appearance},
		{"that forehead has its own postcode", Appearance},
		{"he has the face of a startled owl", Appearance},
		{"her ears are cold", ""},
		{"a burger the size of my face", ""},
		{"the clock face of a tower", ""},
		// Compliments on a person's looks (decision changed this round).
		{"prettiest girl at the party", Appearance},
		{"the prettiest sunset", ""},
		{"hot chocolate for everyone", ""},
		// A person compared to a thing.
		{"she looks like a melted candle", Appearance},
		{"the clouds looked like a dragon", ""},
		// Bare ages.
		{"only 23 and already runs the team", Age},
		{"class of 2004 reunion", Age},
		{"only 3 slices left", ""},
		{"still surfing at seventy-two", Age},
		{"meet at twenty past nine", ""},
		{"at 51.5074, -0.1278", Location},
		// Animals and foods.
		{"the old racehorse is 20 and still fast", ""},
		{"our hamster turned 2", ""},
		{"my nephew turned 13 today", Age},
		{"Mexican avocados are back in season", ""},
		{"that free kick was criminal", ""},
		// Concept families.
		{"the monastery took him in at twenty", Religion},
		{"citizenship ceremony next week, finally", Ethnicity},
		{"patient id 77120-AB at the front desk", Identifier},
		{"we are two months behind on the rent", Finance},
		// Benign look-alikes of the families (a precision pass removed the
		// phrasings that would refuse these).
		{"just off the plane from Rome", Location},
		{"voted for the best pizza in town", ""},
		{"two months behind on my reading list", ""},
		{"our new puppy, she's so cute", ""},
		{"a class of 30 students", ""},
		{"a decades old family recipe", ""},
		{"the app doesn't recognise my face", ""},
		{"being pan fried is the best way", ""},
		{"the crowd looks like a sea of umbrellas", ""},
		{"it is 30 today, send help", ""},
		{"walking like an old man after leg day", ""},
		{"my grandad is an old man now", Age},
		{"patient id please", ""},
	})
}

// TestSituationFrames pins the situation frames, which the shipped filter
// leaves off (frames.go) but TestLeaveOneFileOut measures: a WordNet cue
// with a person near it, and the same cue alone.
func TestSituationFrames(t *testing.T) {
	f := filterWith(t, true, nil)
	checkRules(t, f, []ruleCase{
		{"she signed the petition at the town hall", Politics},
		{"my brother paid the rent late again", Finance},
		{"the petition page failed to load", ""},
		{"lives in my head rent free", ""},
	})
	if v := newFilter(t).Check("she signed the petition at the town hall", Options{}); !v.Allowed {
		t.Errorf("shipped filter: Check(petition) = %s, want allowed (frames are off)", v)
	}
}

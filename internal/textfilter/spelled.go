package textfilter

// spelledNumber reports a number spelt out digit by digit ("one eight
// hundred five five five"): six or more tokens in a row that are digit words
// or hundred/double/triple, at least five of them digit words.
func (l *lexicon) spelledNumber(toks []string) bool {
	run, digits := 0, 0
	for _, t := range toks {
		switch {
		case l.classes["digitword"][t]:
			run++
			digits++
		case t == "hundred" || t == "double" || t == "triple":
			run++
		default:
			run, digits = 0, 0
		}
		if run >= 6 && digits >= 5 {
			return true
		}
	}
	return false
}

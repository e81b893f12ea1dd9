// Package pattern finds the structured personal data in a short text that
// internal/textfilter has cleaned (lower case, homoglyphs mapped): e-mail
// addresses, URLs, handles, phone, account, card (Luhn) and IBAN (mod 97)
// numbers, coordinates, street addresses and postcodes, ages and birthdays,
// money with a period, and stated heights. It knows no vocabulary: the
// lexicon-driven part of the filter stays in internal/textfilter.
package pattern

import (
	"math/big"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Category codes Detect returns: those of internal/textfilter.
const (
	Politics   = "politics"
	Identifier = "identifier"
	Location   = "location"
	Age        = "age"
	Finance    = "finance"
	Appearance = "appearance"
)

// Patterns run on the cleaned text (lower case, homoglyphs mapped, before
// leetspeak decoding). Each names the category it signals. Email, URL,
// Domain and Handle are exported for internal/textfilter's Untrusted, which
// removes links from text read from a photo.
var (
	// Email matches an e-mail address.
	Email = regexp.MustCompile(`[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+`)
	// An e-mail address spelt out to dodge filters: bob at example dot com.
	reEmailWords = regexp.MustCompile(`\b[a-z0-9._-]+\s*(?:\(at\)|\[at\]|\sat\s)\s*[a-z0-9-]+\s*(?:\(dot\)|\[dot\]|\sdot\s)\s*[a-z]{2,}\b`)
	// URL matches a link with a scheme or www.
	URL = regexp.MustCompile(`(?:[a-z][a-z0-9+.-]*://|www\.)\S+`)
	// Domain matches a host name with a common top-level domain.
	Domain = regexp.MustCompile(`\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|co|uk|de|fr|es|it|nl|me|app|dev|info|biz|ly|gg|tv|us|ca|au|in|ru|cn|jp|br|xyz|site|online|link|page|blog|shop|store|club|social|edu|gov)\b`)
	// Handle matches an @handle.
	Handle = regexp.MustCompile(`(?:^|[^a-z0-9_.])@[a-z0-9_][a-z0-9_.]{1,}`)
	// A run of digits, optionally grouped by spaces, dashes, dots, slashes
	// or brackets (phone numbers, account and card numbers, SSNs).
	reDigits = regexp.MustCompile(`\+?\(?[0-9](?:[\s\-.()/]{0,2}[0-9])+`)
	// Dates and year ranges are long digit runs that identify no one.
	reDateLike = regexp.MustCompile(`^(?:[0-9]{1,2}[./-][0-9]{1,2}[./-](?:[0-9]{2}|[0-9]{4})|[0-9]{4}[./-][0-9]{1,2}[./-][0-9]{1,2}|(?:19|20)[0-9]{2}\s?[-/]\s?(?:19|20)[0-9]{2})$`)
	reLatWord  = regexp.MustCompile(`\b(?:lat|latitude|lng|lon|long|longitude)\b\s*[:=]?\s*-?[0-9]{1,3}\.[0-9]{2,}`)
	reSocial   = regexp.MustCompile(`\b(?:ig|insta|instagram|snap|snapchat|tiktok|twitter|venmo|cashapp|paypal|telegram|discord|whatsapp|kik|onlyfans)\s*(?::|=|-|is)\s*@?[a-z0-9_.]{3,}`)
	reUKPlate  = regexp.MustCompile(`\b[a-z]{2}[0-9]{2}\s?[a-z]{3}\b`)
	reIDCode   = regexp.MustCompile(`\b[a-z]{1,2}[0-9]{6,9}\b`)
	reIBAN     = regexp.MustCompile(`\b[a-z]{2}[0-9]{2}(?:\s?[a-z0-9]{4}){2,7}(?:\s?[a-z0-9]{1,3})?\b`)
	reLatLon   = regexp.MustCompile(`-?\b[0-9]{1,3}\.[0-9]{2,}\s*[°]?\s*[nsew]?\s*[,;/ ]\s*-?[0-9]{1,3}\.[0-9]{2,}`)
	reDMS      = regexp.MustCompile(`[0-9]{1,3}\s*°\s*[0-9]{1,2}(?:\.[0-9]+)?\s*['′]?\s*(?:[0-9]{1,2}(?:\.[0-9]+)?\s*(?:"|″|''|′′)?)?\s*[nsew]\b`)
	reStreet   = regexp.MustCompile(`\b[0-9]{1,5}(?:st|nd|rd|th|[a-z])?\s+(?:[a-z]+\s+){0,3}(?:street|st|avenue|ave|road|rd|lane|ln|boulevard|blvd|drive|dr|court|ct|terrace|crescent|square|sq|highway|hwy|parkway|pkwy|alley|mews|gardens|grove|way|place)\b`)
	reOnStreet = regexp.MustCompile(`\b(?:on|at|lives on|live on)\s+(?:[a-z]+\s+){0,2}(?:street|avenue|road|lane|boulevard|drive|terrace|crescent)\b`)
	reNotPlace = regexp.MustCompile(`\b(?:on|at)\s+(?:the|a|an|my|your|his|her|our|their|this|that|same|wrong|right|long|open|empty)\b`)
	// A date of birth written as a date is an identifier, as is a handle
	// given as "her @ is …".
	reDOB  = regexp.MustCompile(`\b(?:dob|d o b|date of birth|born on)\s*[:=]?\s*[0-9]{1,4}[./-][0-9]{1,2}[./-][0-9]{2,4}\b`)
	reAtIs = regexp.MustCompile(`\b(?:my|his|her|their|our|your|the)\s+(?:@|handle|ig|insta|snap|username|user name)\s+is\s+[a-z0-9_.]{3,}`)
	// A US ZIP code after its name ("zip 90210", "zip code: 10001-1234").
	reZip = regexp.MustCompile(`\bzip\s*(?:code)?\s*[:#]?\s*[0-9]{5}(?:-[0-9]{4})?\b`)
	// A link on a short domain with a path (linktr.ee/name, t.co/x): any
	// two-letter country TLD counts when a path follows.
	reShortLink = regexp.MustCompile(`\b[a-z0-9-]+\.[a-z]{2}/[a-z0-9_.~-]+`)
	rePostcode  = regexp.MustCompile(`\b[a-z]{1,2}[0-9][a-z0-9]?\s[0-9][a-z]{2}\b`)
	// Ages written as one token ("12yo", "3yrs old"), ordinal birthdays and
	// "aged 40"; "N years old" with a space is a lexicon phrase, so that
	// benign phrases ("my phone is 2 years old") can hide it.
	reAge = regexp.MustCompile(`\b[0-9]{1,3}(?:yo|y/o)\b|\b[0-9]{1,3}(?:yrs?|years?)\s*-?\s*old\b|\b[0-9]{1,3}(?:st|nd|rd|th)\s+(?:birthday|bday)\b|\bhappy\s+[0-9]{1,3}(?:st|nd|rd|th)\b|\baged?\s*[:=]?\s*[0-9]{1,3}\b`)
	// A possessive before an ordinal ("grandma's 90th", "his 40th") is an
	// age unless a noun that counts something else follows (ageOrdinal).
	reAgeOrdinal = regexp.MustCompile(`(?:'s|\b(?:my|his|her|their|your|our))\s+(?:1[3-9]|[2-9][0-9]|1[0-2][0-9])(?:st|nd|rd|th)\b(?:\s+([a-z]+))?`)
	// An amount with a period after "living on", "earns"…, without a
	// currency ("living on 900 a month").
	reLivingOn = regexp.MustCompile(`\b(?:living on|lives on|live on|surviving on|survive on|gets by on|earns?|makes|making|paid|on)\s+[0-9][0-9,.]*k?\s*(?:a|an|per|/)\s*(?:year|yr|month|mo|week|wk|hour|hr)\b`)
	reMoney    = regexp.MustCompile(`(?:[$£€]\s?[0-9][0-9,.]*\s?(?:k|m|mil|million|grand)?|\b[0-9][0-9,.]*\s?(?:k|grand|bucks|dollars|pounds|euros|quid)\b)\s*(?:a|an|per|/|every)\s*(?:year|yr|month|mo|week|wk|hour|hr|day)\b`)
	// A flat or suite number ("apt 4B", "suite 210"), a room number where
	// someone stays ("at the inn, room 512"; not "room 404 not found") and
	// a numbered road ("Route 9", "I-95", "Hwy 1", "on the A34", "off the M25"),
	// an airport gate ("at Gate 12").
	reFlat  = regexp.MustCompile(`\b(?:apt|apartment|suite|dorm)\s*(?:no\.?|number|#)?\s*[0-9]{1,4}[a-z]?\b`)
	reRoom  = regexp.MustCompile(`\b(?:room|rm)\s*(?:no\.?|number|#)?\s*[0-9]{1,4}[a-z]?\b`)
	reGate  = regexp.MustCompile(`\bat gate\s?[0-9]{1,3}[a-z]?\b`)
	reStay  = regexp.MustCompile(`\b(?:hotel|motel|hostel|inn|resort|dorm|staying|stays|stayed|checked in|floor|hall|hospital|ward)\b`)
	reRoute = regexp.MustCompile(`\b(?:route|rte|highway|hwy|interstate|i-)\s?[0-9]{1,3}\b|\b(?:on|off|along|near|via)\s+the\s+[am][0-9]{1,4}\b`)
	// A person's height: feet and inches with a prime (5'2, 6′4), feet
	// then inches (6 foot 3, 5ft 4), or feet or centimetres after a
	// copula or hedge (he's like 5 foot, she's only 150 cm); heightNotAfter
	// removes distances ("6 feet apart").
	reHeightPrime = regexp.MustCompile(`(?:^|[^0-9.,])[4-7]\s?['′’]\s?(?:1[01]|[0-9])(?:[^0-9]|$)`)
	reHeightFtIn  = regexp.MustCompile(`\b[4-7]\s?(?:ft|foot|feet)\s?(?:1[01]|[0-9])\b`)
	reHeightSaid  = regexp.MustCompile(`\b(?:is|s|im|like|only|barely|just|almost|about|maybe|under|over)\s+(?:[4-7]\s?(?:ft|foot|feet)|1[4-9][0-9]\s?cm)\b(?:\s+([a-z]+))?`)
	reOweEarn     = regexp.MustCompile(`\b(?:owes?|owed|owing|earns?|earned|earning|makes|making|paid|salary|income|debt|loan|rent|mortgage|worth)\b\D{0,15}(?:[$£€]\s?[0-9]|\b[0-9][0-9,.]*\s?(?:k|grand|bucks|dollars|million|thousand)\b)`)
)

// Detect returns the category codes of the structured identifiers,
// locations, ages, amounts and heights in a cleaned, lower-case text (in
// order, possibly repeated). Patterns that need a digit, an @ or a dot are
// skipped on texts without one (most captions).
func Detect(s string) []string {
	out := detect(s)
	if c := compactSpaced(s); c != s {
		out = append(out, detect(c)...)
	}
	return out
}

// compactSpaced removes the spaces inside runs of six or more
// single-character words, so that an address or number spelt out with
// spaces ("s a m . k e l l y @ g m a i l . c o m", "0 7 7 0 0 9 0 0 1 2 3")
// meets the patterns; other text is returned as it is.
func compactSpaced(s string) string {
	f := strings.Fields(s)
	var b strings.Builder
	changed := false
	for i := 0; i < len(f); {
		j := i
		for j < len(f) && utf8.RuneCountInString(f[j]) == 1 {
			j++
		}
		if j-i >= 6 {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strings.Join(f[i:j], ""))
			changed = true
			i = j
			continue
		}
		if j == i {
			j = i + 1
		}
		for _, w := range f[i:j] {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(w)
		}
		i = j
	}
	if !changed {
		return s
	}
	return b.String()
}

// detect runs every pattern once.
func detect(s string) []string {
	var out []string
	add := func(c string, ok bool) {
		if ok {
			out = append(out, c)
		}
	}
	digit := strings.ContainsAny(s, "0123456789")
	at := strings.Contains(s, "@")
	dot := strings.ContainsAny(s, "./")
	social := strings.ContainsAny(s, ":=-") || strings.Contains(s, " is ")
	atWord := strings.Contains(s, "at ") || strings.Contains(s, "(at)") || strings.Contains(s, "[at]")
	street := containsAny(s, "street", "avenue", "road", "lane", "boulevard", "drive", "terrace", "crescent")
	onStreet := street && reOnStreet.MatchString(s) && !reNotPlace.MatchString(reOnStreet.FindString(s))
	add(Identifier, at && (Email.MatchString(s) || Handle.MatchString(s)) || atWord && reEmailWords.MatchString(s) ||
		dot && (URL.MatchString(s) || Domain.MatchString(s) || reShortLink.MatchString(s)) || social && reSocial.MatchString(s) ||
		digit && (reIDCode.MatchString(s) || refCode(s) || reUKPlate.MatchString(s) || longNumber(s) || ibanIn(s) || reDOB.MatchString(s)) || reAtIs.MatchString(s))
	metres := (digit || strings.Contains(s, "met")) && reHeightMetres.MatchString(s)
	if !digit {
		add(Location, onStreet)
		add(Appearance, metres)
		return out
	}
	add(Location, reLatLon.MatchString(s) || reLatWord.MatchString(s) || reDMS.MatchString(s) || streetAddress(s) || reForeignStreet.MatchString(s) || rePostcode.MatchString(s) || reZip.MatchString(s) || onStreet ||
		reFlat.MatchString(s) || reRoom.MatchString(s) && reStay.MatchString(s) || reRoute.MatchString(s) || reGate.MatchString(s))
	add(Age, reAge.MatchString(s) || ageOrdinal(s))
	add(Finance, reMoney.MatchString(s) || reOweEarn.MatchString(s) || reLivingOn.MatchString(s))
	add(Appearance, reHeightPrime.MatchString(s) || reHeightFtIn.MatchString(s) || heightSaid(s) || metres)
	add(Politics, reVotes.MatchString(s))
	return out
}

// reHeightMetres is a person's height in metres ("she's two metres
// tall", "he is 1.9 m"); reVotes a vote count someone got ("got 400
// votes", "won 1,203 votes"); reForeignStreet a house number before a
// street word that comes first in other languages ("12 Rue Cler", "3 Via
// Roma", "14 Calle Mayor").
var (
	reHeightMetres  = regexp.MustCompile(`\b(?:she|he|i|they|you)(?:'s|'m|'re| is| am| are)?\s+(?:like |only |almost |nearly |over |about |just |barely |literally )?(?:[12](?:[.,][0-9]{1,2})?|one|two)\s?(?:m|metres?|meters?)\b`)
	reVotes         = regexp.MustCompile(`\b(?:got|won|received|polled|took)\s+(?:over\s+|almost\s+|nearly\s+)?[0-9][0-9,.]*k?\s+votes\b`)
	reForeignStreet = regexp.MustCompile(`\b[0-9]{1,5},?\s+(?:rue|via|viale|calle|avenida|rua|carrer|strada|plaza|piazza|avenue)\s+(?:d[eiu]s?\s+|de la\s+|del\s+|della\s+)?[a-z]{3,}`)
)

// reRefCode is a booking, order, ticket, membership or similar reference
// given with its code ("booking reference QX7T9L", "order no. 55123",
// "PNR: K2LM8Q", "driving licence no. MORGA753116SM9IJ", "patient ID
// 00492-KL"); refCode wants a digit in the code, which may hold one
// hyphen.
var reRefCode = regexp.MustCompile(`\b(?:booking|confirmation|reservation|reference|ref|pnr|order|tracking|ticket|membership|member|account|acct|policy|customer|passport|licence|license|badge|student|employee|patient|nhs|hospital|visa|permit)\s*(?:number|no\.?|num|code|reference|ref|id|#)?\s*[:#]?\s*([a-z0-9]{5,18}|[a-z0-9]{2,12}-[a-z0-9]{2,8})\b`)

func refCode(s string) bool {
	for _, m := range reRefCode.FindAllStringSubmatch(s, -1) {
		if strings.ContainsAny(m[1], "0123456789") {
			return true
		}
	}
	return false
}

// heightNotAfter are words after "N feet" that make it a distance.
var heightNotAfter = map[string]bool{"apart": true, "away": true, "under": true, "deep": true, "long": true, "wide": true,
	"high": true, "from": true, "of": true, "behind": true, "ahead": true, "off": true, "down": true, "up": true, "into": true}

// heightSaid reports a height stated of someone ("he's like 5 foot",
// "she's only 150 cm"), not a distance ("stay like 6 feet apart").
func heightSaid(s string) bool {
	for _, m := range reHeightSaid.FindAllStringSubmatch(s, -1) {
		if !heightNotAfter[m[1]] {
			return true
		}
	}
	return false
}

func containsAny(s string, words ...string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// notStreet are words after "road", "street", "way"… that make them
// something other than an address ("road trip", "street food").
var notStreet = map[string]bool{"trip": true, "trips": true, "rage": true, "map": true, "sign": true, "signs": true, "test": true,
	"food": true, "art": true, "style": true, "light": true, "lights": true, "works": true, "race": true, "bike": true, "kill": true,
	"runner": true, "smart": true, "cred": true, "party": true, "parties": true, "team": true, "split": true, "tie": true, "street": true}

// streetAddress reports a house number followed by a street name and a
// street word, unless the number belongs to a date (2024-06-01 road trip)
// or the street word starts another phrase (road trip).
func streetAddress(s string) bool {
	for _, loc := range reStreet.FindAllStringIndex(s, -1) {
		if loc[0] > 0 && strings.ContainsRune("-/.:", rune(s[loc[0]-1])) {
			continue
		}
		next := strings.Fields(s[loc[1]:])
		if len(next) > 0 && notStreet[strings.Trim(next[0], ".,!?;:")] {
			continue
		}
		return true
	}
	return false
}

// minIDDigits is the fewest digits a number needs to be taken for a phone,
// account, card or ID number: 7 covers local phone numbers and leaves
// years, prices, times and scores alone.
const minIDDigits = 7

// longNumber reports a run of at least minIDDigits digits (grouped or not)
// that is not a date or a year range; any such run is treated as an
// identifier, and a 13–19 digit run that passes the Luhn check is a card
// number in particular.
func longNumber(s string) bool {
	for _, m := range reDigits.FindAllString(s, -1) {
		if reDateLike.MatchString(strings.TrimSpace(m)) {
			continue
		}
		if d := digitsOf(m); len(d) >= minIDDigits {
			return true
		}
	}
	return false
}

func digitsOf(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// luhn reports whether a string of digits passes the Luhn checksum used by
// payment card numbers (ISO/IEC 7812-1).
func luhn(d string) bool {
	if len(d) < 2 {
		return false
	}
	sum := 0
	for i := 0; i < len(d); i++ {
		n := int(d[len(d)-1-i] - '0')
		if n < 0 || n > 9 {
			return false
		}
		if i%2 == 1 {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return sum%10 == 0
}

// isCardNumber reports a 13–19 digit string that passes the Luhn check.
func isCardNumber(d string) bool { return len(d) >= 13 && len(d) <= 19 && luhn(d) }

// ibanIn reports an IBAN (ISO 13616) whose mod-97 check holds.
func ibanIn(s string) bool {
	for _, m := range reIBAN.FindAllString(s, -1) {
		if validIBAN(m) {
			return true
		}
	}
	return false
}

// validIBAN checks an IBAN's length (15–34) and its ISO 7064 mod-97-10
// check digits.
func validIBAN(s string) bool {
	s = strings.ToUpper(strings.ReplaceAll(s, " ", ""))
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	var b strings.Builder
	for _, r := range s[4:] + s[:4] {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteString(big.NewInt(int64(r - 'A' + 10)).String())
		default:
			return false
		}
	}
	n, ok := new(big.Int).SetString(b.String(), 10)
	return ok && new(big.Int).Mod(n, big.NewInt(97)).Int64() == 1
}

// notAgeOrdinal are nouns after "our 25th", "my 3rd" that count something
// other than years of a life.
var notAgeOrdinal = map[string]bool{"anniversary": true, "wedding": true, "attempt": true, "try": true, "time": true, "times": true,
	"edition": true, "floor": true, "row": true, "place": true, "game": true, "season": true, "episode": true, "visit": true,
	"trip": true, "date": true, "coffee": true, "cup": true, "round": true, "day": true, "week": true, "month": true, "year": true,
	"lap": true, "run": true, "win": true, "goal": true, "album": true, "book": true, "show": true, "concert": true, "annual": true,
	"slice": true, "beer": true, "drink": true, "pizza": true, "time's": true, "draft": true, "version": true, "step": true}

// ageOrdinal reports a possessive ordinal that is an age ("grandma's 90th",
// "her 16th!"), not a count ("our 25th anniversary", "my 3rd coffee").
func ageOrdinal(s string) bool {
	for _, m := range reAgeOrdinal.FindAllStringSubmatch(s, -1) {
		if !notAgeOrdinal[m[1]] {
			return true
		}
	}
	return false
}

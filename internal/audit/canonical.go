package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"unicode/utf8"
)

// Versions of the entry encoding (docs/spec/audit-v1.md, audit-v2.md).
// New entries are written as V2; V1 entries keep verifying as written.
const (
	V1 = 1
	V2 = 2
)

// maxSafeInt is the largest integer every JSON implementation (IEEE 754
// doubles) represents exactly; RFC 8785 numbers beyond it are rejected.
const maxSafeInt = 1<<53 - 1

// Encode is the canonical encoding an entry's hash covers: for V 1, Go's
// encoding/json of the struct (audit-v1, kept so old chains verify); for V
// 2, the RFC 8785 (JCS) canonical JSON of its non-empty fields
// (audit-v2). An entry that cannot be encoded is an error, never an empty
// or partial body.
func (e Entry) Encode() ([]byte, error) {
	switch e.V {
	case V1:
		b, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("encode audit-v1 entry: %w", err)
		}
		return b, nil
	case V2:
		return e.encodeJCS()
	default:
		return nil, fmt.Errorf("encode audit entry: unknown version %d", e.V)
	}
}

// encodeJCS writes the audit-v2 body: an object of the entry's fields under
// their audit-v1 names; v, seq, time, action, result and prev_hash always,
// the others only when non-empty (non-zero); members sorted by name
// (RFC 8785 §3.2.3: all names are ASCII, so byte order is UTF-16 order);
// strings escaped as RFC 8785 §3.2.2.2 prescribes; integers in decimal.
func (e Entry) encodeJCS() ([]byte, error) {
	type member struct {
		name string
		str  string
		num  int64
		isN  bool
	}
	ms := []member{
		{name: "v", num: int64(e.V), isN: true},
		{name: "seq", num: e.Seq, isN: true},
		{name: "time", str: e.Time},
		{name: "action", str: e.Action},
		{name: "result", str: e.Result},
		{name: "prev_hash", str: e.Prev},
	}
	for _, o := range []struct{ name, v string }{{"tenant", e.Tenant}, {"actor", e.Actor}, {"subject_hash", e.Subject},
		{"object_hash", e.Object}, {"purpose", e.Purpose}, {"code", e.Code}, {"model", e.Model}, {"detail", e.Detail}} {
		if o.v != "" {
			ms = append(ms, member{name: o.name, str: o.v})
		}
	}
	for _, o := range []struct {
		name string
		v    int64
	}{{"bytes", e.Bytes}, {"latency_us", e.LatencyUS}} {
		if o.v != 0 {
			ms = append(ms, member{name: o.name, num: o.v, isN: true})
		}
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].name < ms[j].name })
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		appendJCSString(&b, m.name)
		b.WriteByte(':')
		if m.isN {
			if m.num > maxSafeInt || m.num < -maxSafeInt {
				return nil, fmt.Errorf("encode audit-v2 entry: %s=%d is outside the exact JSON integer range", m.name, m.num)
			}
			b.WriteString(strconv.FormatInt(m.num, 10))
			continue
		}
		if !utf8.ValidString(m.str) {
			return nil, fmt.Errorf("encode audit-v2 entry: %s is not valid UTF-8", m.name)
		}
		appendJCSString(&b, m.str)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// appendJCSString writes s as an RFC 8785 string: '"' and '\' escaped with
// a backslash; U+0008, U+0009, U+000A, U+000C, U+000D as \b \t \n \f \r;
// other code points below U+0020 as \u00xx (lowercase hex); everything
// else, including U+007F, U+2028, U+2029 and non-ASCII, as its UTF-8 bytes.
func appendJCSString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\f':
			b.WriteString(`\f`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}

// hashDomain is the domain separator of version v's entry hash.
func hashDomain(v int) string {
	return "obscura-audit-v" + strconv.Itoa(v) + "\n"
}

// Decode parses a stored body of any version and checks that it is the
// canonical encoding of what it says (so unknown members, other member
// names or order, other escapes and whitespace are all rejected).
func Decode(body []byte) (Entry, error) {
	var e Entry
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Entry{}, fmt.Errorf("decode audit entry: %w", err)
	}
	canon, err := e.Encode()
	if err != nil {
		return Entry{}, err
	}
	if !bytes.Equal(canon, body) {
		return Entry{}, fmt.Errorf("decode audit entry: not the canonical audit-v%d encoding", e.V)
	}
	return e, nil
}

// DecodeEmbedded is Decode for a body copied into another JSON document
// by an encoder that escapes <, >, &, U+2028 and U+2029 inside strings
// (Go's encoding/json does, as in forensic bundles): the body must equal
// the canonical encoding up to those escapes. It returns the entry and its
// canonical body, which is what the chain hash covers.
func DecodeEmbedded(body []byte) (Entry, []byte, error) {
	var e Entry
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Entry{}, nil, fmt.Errorf("decode audit entry: %w", err)
	}
	canon, err := e.Encode()
	if err != nil {
		return Entry{}, nil, err
	}
	var a, b bytes.Buffer
	json.HTMLEscape(&a, canon)
	json.HTMLEscape(&b, body)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		return Entry{}, nil, fmt.Errorf("decode audit entry: not the canonical audit-v%d encoding", e.V)
	}
	return e, canon, nil
}

package tfjs

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds the nesting of a JavaScript literal.
const maxDepth = 64

// ModuleJSON extracts the literal that a browserified JavaScript module
// assigns to its exports (`a.exports={…}`, as nsfwjs ships its model.json)
// and returns it as JSON. Only data literals are accepted: objects with
// identifier or string keys, arrays, strings, numbers, true/false (also as
// the minifier's !0/!1), null and undefined. Anything else — a function, an
// expression, an unterminated literal — is ErrFormat; the source is never
// evaluated.
func ModuleJSON(src []byte) ([]byte, error) {
	rest := src
	for {
		i := bytes.Index(rest, []byte(".exports="))
		if i < 0 {
			return nil, fmt.Errorf("%w: no exports literal in module", ErrFormat)
		}
		rest = rest[i+len(".exports="):]
		if len(rest) > 0 && (rest[0] == '{' || rest[0] == '"' || rest[0] == '[') {
			break
		}
	}
	p := &jsParser{src: rest}
	if err := p.value(0); err != nil {
		return nil, err
	}
	return p.out.Bytes(), nil
}

// ModuleBase64 extracts the base64 string a browserified module exports
// (`a.exports="…"`, as nsfwjs ships its weight shards) and decodes it.
func ModuleBase64(src []byte) ([]byte, error) {
	j, err := ModuleJSON(src)
	if err != nil {
		return nil, err
	}
	var s string
	if err := json.Unmarshal(j, &s); err != nil {
		return nil, fmt.Errorf("%w: module exports a %c…, not a string", ErrFormat, j[0])
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: exported string is not base64: %v", ErrFormat, err)
	}
	return b, nil
}

type jsParser struct {
	src []byte
	pos int
	out bytes.Buffer
}

func (p *jsParser) fail(what string) error {
	return fmt.Errorf("%w: JavaScript literal: %s at byte %d", ErrFormat, what, p.pos)
}

func (p *jsParser) space() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsParser) peek() byte {
	p.space()
	if p.pos >= len(p.src) {
		return 0
	}
	return p.src[p.pos]
}

func (p *jsParser) word(w string) bool {
	if bytes.HasPrefix(p.src[p.pos:], []byte(w)) {
		end := p.pos + len(w)
		if end < len(p.src) && isIdent(p.src[end]) {
			return false
		}
		p.pos = end
		return true
	}
	return false
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdent(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

func (p *jsParser) value(depth int) error {
	if depth > maxDepth {
		return p.fail("nesting too deep")
	}
	switch c := p.peek(); {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"' || c == '\'':
		s, err := p.str()
		if err != nil {
			return err
		}
		b, _ := json.Marshal(s)
		p.out.Write(b)
		return nil
	case c == '-' || c == '.' || (c >= '0' && c <= '9'):
		return p.number()
	case c == '!':
		switch {
		case bytes.HasPrefix(p.src[p.pos:], []byte("!0")):
			p.out.WriteString("true")
		case bytes.HasPrefix(p.src[p.pos:], []byte("!1")):
			p.out.WriteString("false")
		default:
			return p.fail("expression")
		}
		p.pos += 2
		return nil
	case p.word("true"):
		p.out.WriteString("true")
	case p.word("false"):
		p.out.WriteString("false")
	case p.word("null"), p.word("undefined"):
		p.out.WriteString("null")
	case p.word("void 0"):
		p.out.WriteString("null")
	case c == 0:
		return p.fail("unexpected end")
	default:
		return p.fail(fmt.Sprintf("unexpected %q", c))
	}
	return nil
}

func (p *jsParser) object(depth int) error {
	p.pos++
	p.out.WriteByte('{')
	for first := true; ; first = false {
		c := p.peek()
		if c == '}' {
			p.pos++
			p.out.WriteByte('}')
			return nil
		}
		if !first {
			if c != ',' {
				return p.fail("expected , or }")
			}
			p.pos++
			p.out.WriteByte(',')
			c = p.peek()
		}
		var key string
		switch {
		case c == '"' || c == '\'':
			s, err := p.str()
			if err != nil {
				return err
			}
			key = s
		case isIdentStart(c) || (c >= '0' && c <= '9'):
			start := p.pos
			for p.pos < len(p.src) && isIdent(p.src[p.pos]) {
				p.pos++
			}
			key = string(p.src[start:p.pos])
		default:
			return p.fail("expected a key")
		}
		b, _ := json.Marshal(key)
		p.out.Write(b)
		if p.peek() != ':' {
			return p.fail("expected :")
		}
		p.pos++
		p.out.WriteByte(':')
		if err := p.value(depth + 1); err != nil {
			return err
		}
	}
}

func (p *jsParser) array(depth int) error {
	p.pos++
	p.out.WriteByte('[')
	for first := true; ; first = false {
		c := p.peek()
		if c == ']' {
			p.pos++
			p.out.WriteByte(']')
			return nil
		}
		if !first {
			if c != ',' {
				return p.fail("expected , or ]")
			}
			p.pos++
			p.out.WriteByte(',')
		}
		if err := p.value(depth + 1); err != nil {
			return err
		}
	}
}

func (p *jsParser) number() error {
	start := p.pos
	if p.src[p.pos] == '-' {
		p.pos++
	}
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' ||
			((c == '+' || c == '-') && (p.src[p.pos-1] == 'e' || p.src[p.pos-1] == 'E')) {
			p.pos++
			continue
		}
		break
	}
	f, err := strconv.ParseFloat(string(p.src[start:p.pos]), 64)
	if err != nil {
		return p.fail("bad number")
	}
	p.out.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	return nil
}

func (p *jsParser) str() (string, error) {
	q := p.src[p.pos]
	p.pos++
	var b []byte
	for {
		if p.pos >= len(p.src) {
			return "", p.fail("unterminated string")
		}
		c := p.src[p.pos]
		switch {
		case c == q:
			p.pos++
			if !utf8.Valid(b) {
				return "", p.fail("string is not UTF-8")
			}
			return string(b), nil
		case c == '\n' || c == '\r':
			return "", p.fail("newline in string")
		case c != '\\':
			b = append(b, c)
			p.pos++
			continue
		}
		p.pos++
		if p.pos >= len(p.src) {
			return "", p.fail("unterminated escape")
		}
		e := p.src[p.pos]
		p.pos++
		switch e {
		case 'n':
			b = append(b, '\n')
		case 't':
			b = append(b, '\t')
		case 'r':
			b = append(b, '\r')
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'v':
			b = append(b, '\v')
		case '0':
			b = append(b, 0)
		case 'x', 'u':
			n := 2
			if e == 'u' {
				n = 4
			}
			r, err := p.hex(n)
			if err != nil {
				return "", err
			}
			if utf16.IsSurrogate(r) && bytes.HasPrefix(p.src[p.pos:], []byte(`\u`)) {
				p.pos += 2
				lo, err := p.hex(4)
				if err != nil {
					return "", err
				}
				r = utf16.DecodeRune(r, lo)
			}
			b = utf8.AppendRune(b, r)
		default:
			b = append(b, e)
		}
	}
}

func (p *jsParser) hex(n int) (rune, error) {
	if p.pos+n > len(p.src) {
		return 0, p.fail("short escape")
	}
	v, err := strconv.ParseUint(string(p.src[p.pos:p.pos+n]), 16, 32)
	if err != nil {
		return 0, p.fail("bad escape")
	}
	p.pos += n
	return rune(v), nil
}

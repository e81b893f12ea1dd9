package api

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/obscuraproject/obscura/internal/fault"
)

// strictJSONFormat is huma's JSON format with CheckJSON run on every
// request body before it is decoded. Bodies the decoder would otherwise
// read with a silent choice are refused (400 invalid_request): a key
// repeated in one object (the last one won, so
// {"scopes":["ingest"],"scopes":["admin"]} made an admin key), invalid
// UTF-8 and unpaired UTF-16 surrogate escapes (both silently became
// U+FFFD, so distinct ids collided). It sits in the decoder, not in a
// middleware that reads the body first: huma sets the body read deadline
// itself, and a body consumed before that starts net/http's background
// connection read, which the deadline would then cancel.
func strictJSONFormat(base huma.Format) huma.Format {
	return huma.Format{
		Marshal: base.Marshal,
		Unmarshal: func(data []byte, v any) error {
			if err := CheckJSON(data); err != nil {
				return err
			}
			return base.Unmarshal(data, v)
		},
	}
}

// Errors of CheckJSON. Their text is the public detail.
var (
	errDuplicateKey = errors.New("JSON object has a duplicate key")
	errJSONUTF8     = errors.New("JSON body is not valid UTF-8")
	errSurrogate    = errors.New("JSON string has an unpaired surrogate escape")
)

// CheckJSON reports duplicate object keys, invalid UTF-8 and unpaired
// surrogate escapes in a JSON document. Malformed JSON is left to the
// decoder that follows (nil here).
func CheckJSON(b []byte) error {
	if !utf8.Valid(b) {
		return errJSONUTF8
	}
	if err := checkSurrogates(b); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		object bool
		keys   map[string]bool
		key    bool // the next string token in this object is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // end of input, or syntax the real decoder reports
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		d, isDelim := tok.(json.Delim)
		switch {
		case isDelim && (d == '{' || d == '['):
			stack = append(stack, &frame{object: d == '{', keys: map[string]bool{}, key: d == '{'})
			continue
		case isDelim: // '}' or ']': the container, a value, ends
			stack = stack[:len(stack)-1]
		case top != nil && top.object && top.key:
			k, _ := tok.(string)
			if top.keys[k] {
				return errDuplicateKey
			}
			top.keys[k] = true
			top.key = false
			continue
		}
		// A value ended: the enclosing object expects a key next.
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].key = true
		}
	}
}

// checkSurrogates scans JSON strings for \u escapes of UTF-16 surrogates
// that do not form a high-low pair.
func checkSurrogates(b []byte) error {
	hex := func(p []byte) (rune, bool) {
		if len(p) < 4 {
			return 0, false
		}
		var v rune
		for _, c := range p[:4] {
			switch {
			case c >= '0' && c <= '9':
				v = v<<4 | rune(c-'0')
			case c >= 'a' && c <= 'f':
				v = v<<4 | rune(c-'a'+10)
			case c >= 'A' && c <= 'F':
				v = v<<4 | rune(c-'A'+10)
			default:
				return 0, false
			}
		}
		return v, true
	}
	in := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case !in:
			in = c == '"'
		case c == '"':
			in = false
		case c == '\\' && i+1 < len(b):
			if b[i+1] != 'u' {
				i++ // skip the escaped character
				continue
			}
			v, ok := hex(b[i+2:])
			if !ok {
				return nil // malformed: the decoder reports it
			}
			i += 5
			switch {
			case v >= 0xD800 && v <= 0xDBFF:
				if i+6 >= len(b) || b[i+1] != '\\' || b[i+2] != 'u' {
					return errSurrogate
				}
				lo, ok := hex(b[i+3:])
				if !ok || lo < 0xDC00 || lo > 0xDFFF {
					return errSurrogate
				}
				i += 6
			case v >= 0xDC00 && v <= 0xDFFF:
				return errSurrogate
			}
		}
	}
	return nil
}

// noRoute answers paths no operation matches: 405 with Allow when the
// path exists under other methods (it was 404), else 404.
func (a *API) noRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := a.mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		sort.Strings(allow)
		if contains(allow, http.MethodGet) {
			allow = append(allow, http.MethodHead)
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeProblem(w, newProblem(statusTable[http.StatusMethodNotAllowed], "method not allowed"))
		return
	}
	writeProblem(w, newProblem(kindTable[fault.NotFound], "no such route"))
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// MetricsHandler serves the Prometheus metrics. With a token (Deps.
// MetricsToken) it requires "Authorization: Bearer <token>".
func (a *API) MetricsHandler() http.Handler { return MetricsHandler(a.d.Registry, a.d.MetricsToken) }

// MetricsHandler serves reg's metrics; with a non-empty token it requires
// "Authorization: Bearer <token>" (401 otherwise).
func MetricsHandler(reg *prometheus.Registry, token string) http.Handler {
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			writeProblem(w, newProblem(kindTable[fault.Unauthenticated], "metrics need the metrics bearer token"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

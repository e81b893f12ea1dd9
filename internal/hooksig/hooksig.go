// Package hooksig is the signature of Obscura's outgoing webhooks (job
// notifications and operator alerts, docs/spec/webhook-v1.md):
//
//	header = "t=" <unix seconds> ",v1=" <lowercase hex HMAC-SHA256(key, t "." body)>
//
// It protects a receiver against forged and replayed deliveries (given a
// tolerance on t); it does not hide the body, which travels over TLS.
package hooksig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Sign returns the signature header value for body at time t.
func Sign(key, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// ErrSignature reports a webhook whose signature does not verify.
var ErrSignature = errors.New("webhook signature invalid or too old")

// Verify checks a signature header over body: a valid HMAC, made within
// tolerance of now (replays of old deliveries fail). Keys other than t
// and v1 are ignored.
func Verify(key, body []byte, header string, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return ErrSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrSignature
	}
	want := Sign(key, body, time.Unix(sec, 0))
	if !hmac.Equal([]byte(want), []byte("t="+ts+",v1="+sig)) {
		return ErrSignature
	}
	return nil
}

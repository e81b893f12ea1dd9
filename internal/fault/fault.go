// Package fault defines the small, append-only set of error kinds that cross
// package boundaries in Obscura, and an error type that carries a kind, a
// public message safe to show to a client, and the internal cause.
//
// Callers classify errors with errors.Is(err, fault.NotFound) and friends.
// The HTTP layer (internal/api) holds the one table that maps kinds and
// package sentinels to status codes and stable public codes; nothing ever
// branches on error text.
//
// The public message must never contain secrets, raw subject ids, pixels or
// captions: it is written to API responses and logs.
package fault

import (
	"errors"
	"fmt"
)

// Kind classifies an error for callers and for the HTTP error table.
// Values are append-only: never renumber or reuse one.
type Kind uint8

// Error kinds. Append new kinds at the end.
const (
	Other           Kind = iota // unclassified; reported as an internal error
	Invalid                     // malformed or semantically invalid input
	NotFound                    // no such object, or not visible to the caller
	Unauthenticated             // missing, invalid or revoked credentials
	Permission                  // authenticated but not allowed
	Expired                     // a token, link or key is past its lifetime
	Conflict                    // state conflict, e.g. a single-use token already used
	TooLarge                    // input exceeds a size limit
	Unavailable                 // a dependency (store, key service) is down; fail closed
	RateLimited                 // the caller is over a rate limit or quota
	Unsupported                 // unsupported media type or format version
	ConsentRequired             // the purpose needs consent the subject has not given
	KeyRevoked                  // the key version needed is revoked, destroyed or below the minimum
	InputRejected               // the input looks adversarial (feature squeezing) and was not analysed
	Blocked                     // the API key is blocked (suspected model extraction)
)

var kindNames = [...]string{
	Other:           "other",
	Invalid:         "invalid",
	NotFound:        "not found",
	Unauthenticated: "unauthenticated",
	Permission:      "permission denied",
	Expired:         "expired",
	Conflict:        "conflict",
	TooLarge:        "too large",
	Unavailable:     "unavailable",
	RateLimited:     "rate limited",
	Unsupported:     "unsupported",
	ConsentRequired: "consent required",
	KeyRevoked:      "key revoked",
	InputRejected:   "input rejected",
	Blocked:         "blocked",
}

// String returns the kind's lowercase name.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Error makes a Kind usable as an errors.Is target: errors.Is(err, fault.NotFound).
func (k Kind) Error() string { return k.String() }

// Error is an error with a kind, a public message and an optional cause.
type Error struct {
	Kind Kind
	// Msg is safe to show to API clients and to log: no secrets, no raw ids.
	Msg string
	// Err is the internal cause; it is logged (never shown to clients).
	Err error
}

// New returns an error of the given kind with a public message.
func New(kind Kind, msg string) error { return &Error{Kind: kind, Msg: msg} }

// Wrap returns an error of the given kind with a public message and an internal cause.
// It returns nil if err is nil.
func Wrap(kind Kind, msg string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: kind, Msg: msg, Err: err}
}

func (e *Error) Error() string {
	switch {
	case e.Err == nil:
		return e.Msg
	case e.Msg == "":
		return e.Err.Error()
	default:
		return e.Msg + ": " + e.Err.Error()
	}
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is this error's Kind, so errors.Is(err, fault.NotFound) works.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.Kind
}

// KindOf returns the kind of the outermost *Error in err's chain, or Other.
func KindOf(err error) Kind {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Kind
	}
	return Other
}

// PublicMessage returns the outermost public message in err's chain, or "".
func PublicMessage(err error) string {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Msg
	}
	return ""
}

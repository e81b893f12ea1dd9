//go:build obscuratestclock

package main

import (
	"os"
	"strings"
	"time"

	"github.com/obscuraproject/obscura/internal/clock"
)

// This file exists only in test builds (go build -tags obscuratestclock):
// e2e tests use it to move a real server's clock past a TTL without
// sleeping for the TTL. It must never be part of a production binary
// (e2e/memes_ttl_test.go checks the production build has none of it).

// testClockEnv names the file whose content (a Go duration such as "2h")
// is added to the system time; a missing or empty file adds nothing.
const testClockEnv = "OBSCURA_TEST_CLOCK_FILE"

func init() {
	clockOverride = func(getenv func(string) string) clock.Clock {
		if p := getenv(testClockEnv); p != "" {
			return fileClock{path: p}
		}
		return nil
	}
}

// fileClock is the system clock shifted by the offset written in a file,
// read again on every call so the test can move time while the server runs.
type fileClock struct{ path string }

// Now returns the system time plus the file's offset. An unreadable or
// malformed file panics: a test clock that silently fell back to real time
// would make a TTL test pass or fail for the wrong reason.
func (c fileClock) Now() time.Time {
	b, err := os.ReadFile(c.path)
	if os.IsNotExist(err) {
		return time.Now()
	}
	if err != nil {
		panic("test clock: " + err.Error())
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return time.Now()
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		panic("test clock: " + err.Error())
	}
	return time.Now().Add(d)
}

package main

import "github.com/obscuraproject/obscura/internal/clock"

// clockOverride, when set, replaces the system clock of every command with
// the clock it returns for the process's environment (nil: keep the system
// clock). Only testclock.go sets it, and that file is compiled only with the
// build tag obscuratestclock, which no production build uses: in a
// production binary this stays nil and time is the system's.
var clockOverride func(getenv func(string) string) clock.Clock

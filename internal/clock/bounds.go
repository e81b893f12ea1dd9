package clock

import "time"

// Bounds of every time Obscura accepts as input (an expiry, a range, a
// flag). The stores keep times as int64 Unix nanoseconds, which only reach
// 1677-09-21 to 2262-04-11: a time outside wraps silently (9999-12-31 was
// stored as 1816). The bounds stay well inside, so a time that passes
// InRange is stored and read back unchanged, and signed documents
// (consent receipts) never disagree with the stored state.
var (
	MinTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// InRange reports whether t lies in [MinTime, MaxTime].
func InRange(t time.Time) bool {
	return !t.Before(MinTime) && !t.After(MaxTime)
}

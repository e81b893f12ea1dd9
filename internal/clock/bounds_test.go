package clock

import (
	"testing"
	"time"
)

func TestInRange(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want bool
	}{
		{time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{MinTime, true},
		{MaxTime, true},
		{time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), false},
		{time.Date(2262, 4, 12, 0, 0, 0, 0, time.UTC), false},
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), false},
	} {
		if got := InRange(tc.t); got != tc.want {
			t.Errorf("InRange(%s) = %v, want %v", tc.t, got, tc.want)
		}
	}
	// Everything InRange survives the stores' int64-nanosecond encoding.
	for _, tt := range []time.Time{MinTime, MaxTime} {
		if back := time.Unix(0, tt.UnixNano()).UTC(); !back.Equal(tt) {
			t.Errorf("%s round-trips as %s", tt, back)
		}
	}
}

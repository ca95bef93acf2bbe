package transport

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxRetryAfter caps the wait a Retry-After header can ask for. Graph asks
// for seconds; anything longer is clamped so one odd header cannot stall a
// refresh for hours.
const MaxRetryAfter = 5 * time.Minute

// ParseRetryAfter reads a Retry-After header value: delay-seconds, which
// Graph sends fractional ("2.128"), or an HTTP-date (IMF-fixdate, RFC 850 or
// asctime). It reports false for an empty or unreadable value, a negative
// or non-finite number; the result is never negative and at most
// MaxRetryAfter. A date in the past means "now" (0).
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if isNumeric(v) {
		secs, err := strconv.ParseFloat(v, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, false
		}
		// ParseFloat returns ±Inf with a range error: huge, so clamped.
		if math.IsNaN(secs) || secs < 0 {
			return 0, false
		}
		if secs >= MaxRetryAfter.Seconds() {
			return MaxRetryAfter, true
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return clampWait(at.Sub(now)), true
}

// isNumeric reports whether v looks like a plain decimal number. It keeps
// ParseFloat from accepting "NaN", "Inf", hex floats and underscores.
func isNumeric(v string) bool {
	digits := 0
	for i, c := range v {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
		case (c == '-' || c == '+') && i == 0:
		default:
			return false
		}
	}
	return digits > 0
}

func clampWait(d time.Duration) time.Duration {
	return min(max(d, 0), MaxRetryAfter)
}

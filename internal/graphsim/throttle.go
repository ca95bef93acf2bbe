package graphsim

import (
	"strconv"
	"sync"
	"time"
)

// Graph's identity reports limit: 5 requests per 10 seconds per app and
// tenant.
const (
	throttleLimit  = 5
	throttleWindow = 10 * time.Second
)

// throttle is a sliding-window limit per tenant. Refused requests do not
// count, so a client that waits for Retry-After gets through.
type throttle struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	seen   map[string][]time.Time // admitted requests in the window, oldest first
}

func newThrottle(limit int, window time.Duration) *throttle {
	return &throttle{limit: limit, window: window, seen: map[string][]time.Time{}}
}

// admit records a request of tenant at now, or returns how long until the
// window has room again.
func (t *throttle) admit(tenant string, now time.Time) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	seen := t.seen[tenant]
	for len(seen) > 0 && !seen[0].After(now.Add(-t.window)) {
		seen = seen[1:]
	}
	if len(seen) >= t.limit {
		t.seen[tenant] = seen
		return seen[0].Add(t.window).Sub(now), false
	}
	t.seen[tenant] = append(seen, now)
	return 0, true
}

// retryAfter formats a wait as fractional seconds, as Graph does ("2.128"),
// rounded up to the millisecond so that a client that honours it is in time.
func retryAfter(d time.Duration) string {
	ms := max((d+time.Millisecond-1)/time.Millisecond, 1)
	return strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)
}

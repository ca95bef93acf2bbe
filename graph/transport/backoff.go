package transport

import "time"

// Backoff without a Retry-After header: exponential with full jitter
// (a uniformly random wait up to base·2^attempt, at most the cap), so many
// tenants throttled together do not retry in lock-step.
const (
	backoffBase = time.Second
	backoffCap  = 30 * time.Second
)

// backoff returns the wait before retry number attempt (0 for the first
// retry); random returns a number in [0, 1).
func backoff(attempt int, random func() float64) time.Duration {
	ceiling := backoffCap
	if attempt < 16 { // 2^16 s is far above the cap; avoids overflow
		ceiling = min(backoffBase<<attempt, backoffCap)
	}
	return time.Duration(random() * float64(ceiling))
}

package transport

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// pause is the wait the transport's latest Retry-After asked for. Graph
// throttles per tenant and application, so every request of the tenant
// waits for it, not only the retry of the refused one: another report sent
// meanwhile would only be refused too, and the next refresh must not start
// before Graph allows it either.
type pause struct {
	mu     sync.Mutex
	until  time.Time
	status int // of the response that asked for the pause
}

// extend makes requests wait until at least until.
func (p *pause) extend(until time.Time, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if until.After(p.until) {
		p.until, p.status = until, status
	}
}

// wait returns when the pause is over. If it would outlast ctx's deadline,
// it fails at once with the error of the response that asked for it, so
// the caller learns why (e.g. throttled) instead of timing out.
func (p *pause) wait(ctx context.Context) *insights.Error {
	p.mu.Lock()
	until, status := p.until, p.status
	p.mu.Unlock()
	d := time.Until(until)
	if d <= 0 {
		return nil
	}
	if !fitsDeadline(ctx, d) {
		//lint:ignore ST1005 the message starts with the proper noun Graph
		return StatusError(status, fmt.Errorf("Graph asked to wait until %s (Retry-After), past the deadline",
			until.UTC().Format(time.RFC3339)))
	}
	if err := sleep(ctx, d); err != nil {
		return &insights.Error{Reason: insights.ReasonTimeout, Hint: HintTimeout, Err: fmt.Errorf("wait for Retry-After: %w", err)}
	}
	return nil
}

package transport

import "net/http"

// Counting returns a RoundTripper for the token service: it only counts
// requests as host_kind="token" and sets the User-Agent. No budget, no host
// check and no retries: azidentity retries token requests itself, and the
// token service lives on another host than Graph.
func Counting(base http.RoundTripper, metrics *TenantMetrics, userAgent string) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &counting{base: base, metrics: metrics, userAgent: userAgent}
}

type counting struct {
	base      http.RoundTripper
	metrics   *TenantMetrics
	userAgent string
}

// RoundTrip implements http.RoundTripper.
func (c *counting) RoundTrip(req *http.Request) (*http.Response, error) {
	if c.userAgent != "" {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", c.userAgent)
	}
	resp, err := c.base.RoundTrip(req)
	if err != nil {
		c.metrics.request(HostToken, 0)
		return nil, err
	}
	c.metrics.request(HostToken, resp.StatusCode)
	return resp, nil
}

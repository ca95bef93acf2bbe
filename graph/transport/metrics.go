package transport

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Host kinds of entra_insights_graph_requests_total.
const (
	HostGraph = "graph"
	HostToken = "token"
)

// Metrics counts the HTTP traffic to Graph and the token service of every
// tenant. Register it once per registry with NewMetrics and hand each
// tenant its view from Tenant.
type Metrics struct {
	requests  *prometheus.CounterVec
	retries   *prometheus.CounterVec
	throttled *prometheus.CounterVec
}

// NewMetrics creates the counters and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "entra_insights_graph_requests_total",
			Help: "HTTP requests sent to Microsoft Graph (host_kind=graph) and the token service (host_kind=token), by status code; code=error is a transport failure.",
		}, []string{"tenant", "code", "host_kind"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "entra_insights_graph_retries_total",
			Help: "Graph requests repeated after a 429, 5xx or network failure.",
		}, []string{"tenant"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "entra_insights_graph_throttled_total",
			Help: "Graph responses with status 429 (Too Many Requests).",
		}, []string{"tenant"}),
	}
	reg.MustRegister(m.requests, m.retries, m.throttled)
	return m
}

// Tenant returns the counters of one tenant (its tenant label value) and
// exposes its retries and throttles at 0 from now on. A nil *Metrics gives a
// nil *TenantMetrics, which counts nothing.
func (m *Metrics) Tenant(tenant string) *TenantMetrics {
	if m == nil {
		return nil
	}
	return &TenantMetrics{
		requests:  m.requests.MustCurryWith(prometheus.Labels{"tenant": tenant}),
		retries:   m.retries.WithLabelValues(tenant),
		throttled: m.throttled.WithLabelValues(tenant),
	}
}

// Forget deletes every series of tenant: a tenant a reload removed must
// not be exported any more. A nil *Metrics does nothing.
func (m *Metrics) Forget(tenant string) {
	if m == nil {
		return
	}
	match := prometheus.Labels{"tenant": tenant}
	m.requests.DeletePartialMatch(match)
	m.retries.DeletePartialMatch(match)
	m.throttled.DeletePartialMatch(match)
}

// TenantMetrics are the counters of one tenant. Its methods do nothing on a
// nil receiver.
type TenantMetrics struct {
	requests  *prometheus.CounterVec // curried with the tenant
	retries   prometheus.Counter
	throttled prometheus.Counter
}

// request counts one request that got the given status, or 0 for a
// transport failure.
func (m *TenantMetrics) request(hostKind string, status int) {
	if m == nil {
		return
	}
	code := "error"
	if status > 0 {
		code = strconv.Itoa(status)
	}
	m.requests.WithLabelValues(code, hostKind).Inc()
	if status == http.StatusTooManyRequests && hostKind == HostGraph {
		m.throttled.Inc()
	}
}

func (m *TenantMetrics) retry() {
	if m != nil {
		m.retries.Inc()
	}
}

package graphsim

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// jsonContentType is what Graph sends with JSON bodies.
const jsonContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// serveReport answers a report collection, its /$count or one of its items.
func (s *Server) serveReport(c call, t target, tenant string, f Fault) {
	rep := *t.report
	q, err := parseQuery(c.r.URL.RawQuery, rep, s.opts.Now())
	if err != nil {
		s.graphError(c, http.StatusBadRequest, "BadRequest", err.Error(), "")
		return
	}
	facts := slices.Clone(s.reportFacts.get(tenant, rep, q.asOf, s.opts.Lag)) // filtered in place below
	switch {
	case f.Kind == FaultEmpty, s.Retirement() == RetiredEmpty:
		facts = nil
	case f.Kind == FaultDateBackwards:
		facts = dropNewestPeriod(facts, rep.Granularity)
	}
	if len(q.filter) > 0 {
		kept := facts[:0]
		for i := range facts {
			if q.filter.match(&facts[i].row) {
				kept = append(kept, facts[i])
			}
		}
		facts = kept
	}
	enc := newEncoder(rep, f.Kind == FaultWrongTypes)
	enc.hideNewEnums = s.opts.EvolvableEnums && !preferUnknownEnums(c.r)
	enc.dateTime = s.opts.FactDateTime
	base := baseURL(c.r)
	switch t.kind {
	case countTarget:
		s.writeBody(c, "text/plain", []byte(strconv.Itoa(len(facts))), f)
	case itemTarget:
		for i := range facts {
			if facts[i].id == t.id {
				context := base + "/beta/$metadata#" + rep.Path()[1:] + "/$entity"
				s.writeBody(c, jsonContentType, enc.appendFact(nil, &facts[i], context), f)
				return
			}
		}
		s.graphError(c, http.StatusNotFound, "ResourceNotFound", "Resource '"+t.id+"' does not exist.", "")
	default:
		s.writeBody(c, jsonContentType, s.page(c, t, enc, q, facts, f), f)
	}
}

// page encodes the page of facts at q.offset with its nextLink.
func (s *Server) page(c call, t target, enc *encoder, q query, facts []fact, f Fault) []byte {
	size := s.opts.PageSize
	if q.top > 0 {
		size = q.top
	}
	start := min(q.offset, len(facts))
	end := min(start+size, len(facts))
	base := baseURL(c.r)
	var next string
	switch {
	case f.Kind == FaultNextLinkLoop:
		next = base + c.r.URL.RequestURI() // this very page, for ever
	case f.Kind == FaultNextLinkForeign:
		foreign := f.ForeignURL
		if foreign == "" {
			foreign = "https://graph.invalid"
		}
		next = nextLink(foreign, t.canonical, q, end)
	case end < len(facts):
		next = nextLink(base, t.canonical, q, end)
	}
	b := make([]byte, 0, 512+320*(end-start))
	b = append(b, `{"@odata.context":`...)
	b = appendString(b, base+"/beta/$metadata#Collection(microsoft.graph."+entityType(*t.report)+")")
	if q.count {
		b = append(b, `,"@odata.count":`...)
		b = strconv.AppendInt(b, int64(len(facts)), 10)
	}
	if next != "" {
		b = append(b, `,"@odata.nextLink":`...)
		b = appendString(b, next)
	}
	b = append(b, `,"value":[`...)
	for i := start; i < end; i++ {
		if i > start {
			b = append(b, ',')
		}
		b = enc.appendFact(b, &facts[i], "")
	}
	return append(b, "]}"...)
}

// dropNewestPeriod removes the rows of the newest day or month, so that the
// report's newest factDate moves back.
func dropNewestPeriod(facts []fact, g insights.Granularity) []fact {
	periodOf := func(f *fact) time.Time {
		if g == insights.Monthly {
			return startOfMonth(f.row.FactDate)
		}
		return f.row.FactDate
	}
	var newest time.Time
	for i := range facts {
		newest = maxTime(newest, periodOf(&facts[i]))
	}
	kept := facts[:0]
	for i := range facts {
		if !periodOf(&facts[i]).Equal(newest) {
			kept = append(kept, facts[i])
		}
	}
	return kept
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// writeBody sends a 200 with body, damaged as the fault says.
func (s *Server) writeBody(c call, contentType string, body []byte, f Fault) {
	switch f.Kind {
	case FaultMalformedJSON:
		body = malform(body)
	case FaultTruncatedJSON:
		body = body[:len(body)/2]
	}
	h := c.w.Header()
	h.Set("Content-Type", contentType)
	h.Set("OData-Version", "4.0")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.w.WriteHeader(http.StatusOK)
	switch f.Kind {
	case FaultStall:
		n := min(len(body), 16) // a few bytes, so the client is inside the body
		_, _ = c.w.Write(body[:n])
		_ = http.NewResponseController(c.w).Flush()
		if !s.stall(c.r, f.Delay) {
			return
		}
		body = body[n:]
	case FaultReset:
		_, _ = c.w.Write(body[:len(body)/2])
		_ = http.NewResponseController(c.w).Flush()
		panic(http.ErrAbortHandler) // closes the connection mid-body
	}
	_, _ = c.w.Write(body)
}

// stall holds a request for d, or until the client or the server gives up
// when d is zero; it reports whether d passed.
func (s *Server) stall(r *http.Request, d time.Duration) bool {
	if d > 0 {
		return s.wait(r.Context(), d)
	}
	select {
	case <-r.Context().Done():
	case <-s.done:
	}
	return false
}

// malform breaks the JSON in the middle, between two rows if it can, so
// that a decoder fails after reading part of the body.
func malform(body []byte) []byte {
	if i := bytes.Index(body[len(body)/2:], []byte("},{")); i >= 0 {
		at := len(body)/2 + i + 2
		return append(append(body[:at:at], ','), body[at:]...)
	}
	if len(body) == 0 {
		return []byte("{")
	}
	return append([]byte("{,"), body[1:]...)
}

// earlyFault answers the faults that replace the whole response, and
// reports whether it did.
func (s *Server) earlyFault(c call, f Fault) bool {
	switch f.Kind {
	case FaultStatus:
		status := f.Status
		if status == 0 {
			status = http.StatusInternalServerError
		}
		code, message := statusError(status)
		s.graphError(c, status, code, message, f.RetryAfter)
		return true
	case FaultOversized:
		s.writeOversized(c, f.Size)
		return true
	}
	return false
}

// DefaultOversize is the body size of FaultOversized when Size is zero.
const DefaultOversize = 64 << 20

// writeOversized streams a valid-looking page of size bytes, chunked and
// without holding it in memory, until done or the client hangs up.
func (s *Server) writeOversized(c call, size int64) {
	if size <= 0 {
		size = DefaultOversize
	}
	prefix := []byte(`{"@odata.context":"` + baseURL(c.r) + `/beta/$metadata#Collection(microsoft.graph.activeUsersMetric)","value":[`)
	row := []byte(`{"id":"1","factDate":"2024-07-01","count":1,"appId":"00000000-0000-0000-0000-000000000000","appName":"padding","country":"US","language":"en-us","os":"Windows"}`)
	suffix := []byte("]}")
	c.w.Header().Set("Content-Type", jsonContentType)
	c.w.WriteHeader(http.StatusOK)
	rest := size - int64(len(prefix)+len(suffix))
	if rest < int64(len(row)) { // too small for a row: pad an empty page
		_, _ = c.w.Write(append(append(prefix, bytes.Repeat([]byte(" "), int(max(rest, 0)))...), suffix...))
		return
	}
	unit := append([]byte(","), row...)
	rest -= int64(len(row))
	units, pad := rest/int64(len(unit)), rest%int64(len(unit))
	if _, err := c.w.Write(append(prefix, row...)); err != nil {
		return
	}
	chunk := bytes.Repeat(unit, 64<<10/len(unit))
	for units > 0 {
		n := min(units, int64(len(chunk)/len(unit)))
		if _, err := c.w.Write(chunk[:n*int64(len(unit))]); err != nil {
			return // the client gave up, as it should
		}
		units -= n
	}
	_, _ = c.w.Write(append(bytes.Repeat([]byte(" "), int(pad)), suffix...))
}

// preferUnknownEnums reports whether the request asks for the enum members
// Graph added after unknownFutureValue.
func preferUnknownEnums(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		for p := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), "include-unknown-enum-members") {
				return true
			}
		}
	}
	return false
}

// factCache keeps the facts of recent (tenant, report, clock) triples: a
// paging run and every refresh under a pinned clock read the same ones,
// and a monthly report sums a year of days.
type factCache struct {
	mu    sync.Mutex
	facts map[factKey][]fact
}

type factKey struct {
	tenant string
	report insights.Report
	asOf   int64
	lag    bool
}

// maxCachedReports bounds the cache: every report of 16 tenants.
const maxCachedReports = 18 * 16

func (c *factCache) get(tenant string, r insights.Report, asOf time.Time, lag bool) []fact {
	k := factKey{tenant, r, asOf.UnixNano(), lag}
	c.mu.Lock()
	f, ok := c.facts[k]
	c.mu.Unlock()
	if ok {
		return f
	}
	f = generate(tenant, r, asOf, lag)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.facts == nil || len(c.facts) >= maxCachedReports {
		c.facts = map[factKey][]fact{}
	}
	c.facts[k] = f
	return f
}

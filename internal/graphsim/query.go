package graphsim

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// query is the parsed query string of a report request.
type query struct {
	filter    filter
	rawFilter string
	top       int // page size asked for, 0 = the server's
	count     bool
	offset    int       // first row of the page
	asOf      time.Time // data clock of the first page; later pages reuse it
}

// parseQuery reads the OData options of a report request's raw query.
// Keys are decoded, so %24filter is $filter. now is the data clock for a
// first page.
func parseQuery(raw string, r insights.Report, now time.Time) (query, error) {
	q := query{asOf: now}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return q, fmt.Errorf("malformed query string: %w", err)
	}
	for key, values := range v {
		value := values[0]
		var err error
		switch key {
		case "$filter":
			q.rawFilter = value
			if q.filter, err = parseFilter(value, r); err != nil {
				return q, fmt.Errorf("invalid filter clause: %w", err)
			}
		case "$top":
			if q.top, err = strconv.Atoi(value); err != nil || q.top < 1 {
				return q, fmt.Errorf("invalid value '%s' for $top", value)
			}
		case "$count":
			if q.count, err = strconv.ParseBool(value); err != nil {
				return q, fmt.Errorf("invalid value '%s' for $count", value)
			}
		case "$skiptoken":
			if q.offset, q.asOf, err = parseSkipToken(value); err != nil {
				return q, err
			}
		case "$select": // accepted and ignored: every property is sent
		default:
			if strings.HasPrefix(key, "$") {
				return q, fmt.Errorf("query option '%s' is not allowed for this resource", key)
			}
		}
	}
	return q, nil
}

// skipToken encodes the next page's offset and the data clock of the first
// page, so that a paging run sees one consistent snapshot even if midnight
// passes between its pages.
func skipToken(offset int, asOf time.Time) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(offset) + "." + strconv.FormatInt(asOf.UnixNano(), 10)))
}

func parseSkipToken(s string) (int, time.Time, error) {
	bad := errors.New("invalid $skiptoken")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, time.Time{}, bad
	}
	off, nanos, ok := strings.Cut(string(raw), ".")
	offset, err1 := strconv.Atoi(off)
	n, err2 := strconv.ParseInt(nanos, 10, 64)
	if !ok || err1 != nil || err2 != nil || offset < 0 {
		return 0, time.Time{}, bad
	}
	return offset, time.Unix(0, n).UTC(), nil
}

// nextLink returns the absolute link to the page at offset, keeping the
// request's options as Graph does.
func nextLink(base, canonical string, q query, offset int) string {
	var b strings.Builder
	b.WriteString(base + "/beta" + canonical + "?")
	if q.rawFilter != "" {
		b.WriteString("$filter=" + escapeValue(q.rawFilter) + "&")
	}
	if q.top > 0 {
		b.WriteString("$top=" + strconv.Itoa(q.top) + "&")
	}
	if q.count {
		b.WriteString("$count=true&")
	}
	b.WriteString("$skiptoken=" + skipToken(offset, q.asOf))
	return b.String()
}

// escapeValue escapes a query value with %20 for spaces, like Graph.
func escapeValue(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

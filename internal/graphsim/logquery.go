package graphsim

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// timeClause is one comparison of a date-time property with an instant.
type timeClause struct {
	op string // ge, gt, le, lt, eq
	at time.Time
}

func (c timeClause) match(t time.Time) bool {
	switch c.op {
	case "ge":
		return !t.Before(c.at)
	case "gt":
		return t.After(c.at)
	case "le":
		return !t.After(c.at)
	case "lt":
		return t.Before(c.at)
	}
	return t.Equal(c.at) // eq
}

// matchAll reports whether t satisfies every clause.
func matchAll(cs []timeClause, t time.Time) bool {
	for _, c := range cs {
		if !c.match(t) {
			return false
		}
	}
	return true
}

// logQuery is the parsed query string of an activity-log request.
type logQuery struct {
	clauses    []timeClause
	rawFilter  string
	selected   []string // canonical property names; nil = all
	rawSelect  string
	top        int // 0 = the server's page size
	asc        bool
	rawOrderBy string
	offset     int
	asOf       time.Time
}

// selects reports whether the property name goes out.
func (q *logQuery) selects(name string) bool {
	return q.selected == nil || slices.Contains(q.selected, name)
}

// parseLogQuery reads the OData options of a log request. field is the
// one date-time property $filter accepts ("" = no $filter), entity the
// OData type for messages, props the properties $select may name.
func parseLogQuery(raw, field, entity string, props []string, now time.Time) (logQuery, error) {
	q := logQuery{asOf: now}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return q, fmt.Errorf("malformed query string: %w", err)
	}
	for key, values := range v {
		value := values[0]
		switch key {
		case "$filter":
			if field == "" {
				return q, fmt.Errorf("query option '$filter' is not supported for '%s'", entity)
			}
			q.rawFilter = value
			if q.clauses, err = parseTimeFilter(value, field, entity); err != nil {
				return q, fmt.Errorf("invalid filter clause: %w", err)
			}
		case "$select":
			q.rawSelect = value
			for name := range strings.SplitSeq(value, ",") {
				name = strings.TrimSpace(name)
				i := slices.IndexFunc(props, func(p string) bool { return strings.EqualFold(p, name) })
				if i < 0 {
					return q, fmt.Errorf("could not find a property named '%s' on type 'microsoft.graph.%s'", name, entity)
				}
				q.selected = append(q.selected, props[i])
			}
		case "$top":
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 || n > DefaultLogPageSize {
				return q, fmt.Errorf("invalid page size specified: '%s'. Must be between 1 and %d inclusive", value, DefaultLogPageSize)
			}
			q.top = n
		case "$orderby":
			q.rawOrderBy = value
			f := strings.Fields(value)
			if field == "" || len(f) == 0 || len(f) > 2 || !strings.EqualFold(f[0], field) {
				return q, fmt.Errorf("$orderby is only supported on '%s'", field)
			}
			if len(f) == 2 {
				switch strings.ToLower(f[1]) {
				case "asc":
					q.asc = true
				case "desc":
				default:
					return q, fmt.Errorf("invalid $orderby direction '%s'", f[1])
				}
			}
		case "$skiptoken":
			if q.offset, q.asOf, err = parseSkipToken(value); err != nil {
				return q, err
			}
		default:
			if strings.HasPrefix(key, "$") {
				return q, fmt.Errorf("query option '%s' is not allowed for this resource", key)
			}
		}
	}
	return q, nil
}

// parseTimeFilter parses clauses "field op instant" joined by "and", the
// instant unquoted RFC 3339 (fractional seconds and offsets allowed).
func parseTimeFilter(s, field, entity string) ([]timeClause, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	var out []timeClause
	for len(toks) > 0 {
		if len(toks) < 3 {
			return nil, errors.New("incomplete clause")
		}
		name, op, value := toks[0], strings.ToLower(toks[1]), toks[2]
		toks = toks[3:]
		if !strings.EqualFold(name, field) {
			return nil, fmt.Errorf("filtering on '%s' of type 'microsoft.graph.%s' is not supported", name, entity)
		}
		switch op {
		case "ge", "gt", "le", "lt", "eq":
		default:
			return nil, fmt.Errorf("unsupported operator '%s' on %s", op, name)
		}
		if strings.HasPrefix(value, "'") {
			return nil, fmt.Errorf("the types 'Edm.DateTimeOffset' and 'Edm.String' are not compatible: %s needs an unquoted instant like 2026-12-01T00:00:00Z", name)
		}
		at, err := time.Parse(time.RFC3339Nano, value)
		if err != nil {
			return nil, fmt.Errorf("%s needs an unquoted instant like 2026-12-01T00:00:00Z, not %s", name, value)
		}
		out = append(out, timeClause{op: op, at: at})
		if len(toks) > 0 {
			if !strings.EqualFold(toks[0], "and") {
				return nil, fmt.Errorf("unsupported operator '%s': only 'and' joins clauses", toks[0])
			}
			toks = toks[1:]
			if len(toks) == 0 {
				return nil, errors.New("clause missing after 'and'")
			}
		}
	}
	return out, nil
}

// logNextLink returns the link to the page at offset with the request's
// options, below version ("beta" or "v1.0").
func logNextLink(base, version, canonical string, q logQuery, offset int) string {
	var b strings.Builder
	b.WriteString(base + "/" + version + canonical + "?")
	if q.rawFilter != "" {
		b.WriteString("$filter=" + escapeValue(q.rawFilter) + "&")
	}
	if q.rawSelect != "" {
		b.WriteString("$select=" + escapeValue(q.rawSelect) + "&")
	}
	if q.rawOrderBy != "" {
		b.WriteString("$orderby=" + escapeValue(q.rawOrderBy) + "&")
	}
	if q.top > 0 {
		b.WriteString("$top=" + strconv.Itoa(q.top) + "&")
	}
	b.WriteString("$skiptoken=" + skipToken(offset, q.asOf))
	return b.String()
}

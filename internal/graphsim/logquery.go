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

// logRules is what one activity-log read accepts: by default only the
// query options and operators Microsoft documents for it (see logRulesOf).
type logRules struct {
	entity  string   // the OData type, for messages
	field   string   // the date-time property of $filter and $orderby; "" = none
	props   []string // the properties $select may name
	options []string // the query options accepted, as written ("$top")
	ops     []string // the operators $filter accepts on field
	// retention is how far back a $filter bound may reach from the data
	// clock of the paging run; 0 = no limit.
	retention time.Duration
}

func (r logRules) allows(option string) bool { return slices.Contains(r.options, option) }

// parseLogQuery reads the OData options of a log request by its rules.
// Every refusal is a 400 BadRequest with the returned message.
func parseLogQuery(raw string, r logRules, now time.Time) (logQuery, error) {
	q := logQuery{asOf: now}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return q, fmt.Errorf("malformed query string: %w", err)
	}
	for key, values := range v {
		if !strings.HasPrefix(key, "$") {
			continue // not an OData option: Graph ignores it too
		}
		if !r.allows(key) {
			return q, notAllowed(key)
		}
		if err := q.set(key, values[0], r); err != nil {
			return q, err
		}
	}
	// After the loop: the bound is checked against the data clock of the
	// paging run, which $skiptoken carries.
	if err := checkMinDate(q.clauses, q.asOf, r); err != nil {
		return q, err
	}
	return q, nil
}

// set applies one allowed query option.
func (q *logQuery) set(key, value string, r logRules) error {
	var err error
	switch key {
	case "$filter":
		if r.field == "" {
			//lint:ignore ST1005 Graph's own message, sent as it spells it
			return fmt.Errorf("Invalid filter clause: graphsim does not implement $filter on '%s'", r.entity)
		}
		q.rawFilter = value
		if q.clauses, err = parseTimeFilter(value, r.field, r.entity, r.ops); err != nil {
			//lint:ignore ST1005 Graph's own message, sent as it spells it
			return fmt.Errorf("Invalid filter clause: %w", err)
		}
	case "$select":
		q.rawSelect = value
		q.selected, err = parseSelect(value, r)
	case "$top":
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 || n > DefaultLogPageSize {
			return fmt.Errorf("invalid page size specified: '%s'. Must be between 1 and %d inclusive", value, DefaultLogPageSize)
		}
		q.top = n
	case "$orderby":
		if r.field == "" {
			return fmt.Errorf("graphsim does not implement $orderby on '%s'", r.entity)
		}
		q.rawOrderBy = value
		q.asc, err = parseOrderBy(value, r.field)
	case "$skiptoken":
		q.offset, q.asOf, err = parseSkipToken(value)
	}
	return err
}

// parseSelect returns the canonical names of a $select list.
func parseSelect(value string, r logRules) ([]string, error) {
	var out []string
	for name := range strings.SplitSeq(value, ",") {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(r.props, func(p string) bool { return strings.EqualFold(p, name) })
		if i < 0 {
			return nil, fmt.Errorf("could not find a property named '%s' on type 'microsoft.graph.%s'", name, r.entity)
		}
		out = append(out, r.props[i])
	}
	return out, nil
}

// parseOrderBy reads "field [asc|desc]" and reports whether it is asc.
func parseOrderBy(value, field string) (bool, error) {
	f := strings.Fields(value)
	if len(f) == 0 || len(f) > 2 || !strings.EqualFold(f[0], field) {
		return false, fmt.Errorf("$orderby is only supported on '%s'", field)
	}
	if len(f) == 1 {
		return false, nil
	}
	switch strings.ToLower(f[1]) {
	case "asc":
		return true, nil
	case "desc":
		return false, nil
	}
	return false, fmt.Errorf("invalid $orderby direction '%s'", f[1])
}

// odataName is the name OData's AllowedQueryOptions gives an option,
// which its refusal message uses; "" for an option OData does not know.
func odataName(key string) string {
	switch key {
	case "$filter":
		return "Filter"
	case "$expand":
		return "Expand"
	case "$select":
		return "Select"
	case "$orderby":
		return "OrderBy"
	case "$top":
		return "Top"
	case "$skip":
		return "Skip"
	case "$count":
		return "Count"
	case "$format":
		return "Format"
	case "$skiptoken":
		return "SkipToken"
	case "$deltatoken":
		return "DeltaToken"
	case "$apply":
		return "Apply"
	case "$compute":
		return "Compute"
	case "$search":
		return "Search"
	}
	return ""
}

// notAllowed is Graph's refusal of a query option a read does not enable,
// word for word as users report it for $select on auditLogs/signIns
// (microsoftgraph/microsoft-graph-devx-api#1250,
// microsoftgraph/msgraph-sdk-powershell#1251).
func notAllowed(key string) error {
	name := odataName(key)
	if name == "" {
		//lint:ignore ST1005 Graph's own message, sent as it spells it
		return fmt.Errorf("The query parameter '%s' is not supported.", key)
	}
	return errors.New("Query option '" + name + "' is not allowed. To allow it, set the 'AllowedQueryOptions' " +
		"property on EnableQueryAttribute or QueryValidationSettings.")
}

// checkMinDate refuses a bound before the oldest event the log keeps, as
// Graph's "Min date validation check" on signIns does (a Microsoft
// engineer in microsoftgraph/microsoft-graph-docs#5676: 400 "Invalid
// filter clause").
func checkMinDate(cs []timeClause, asOf time.Time, r logRules) error {
	if r.retention <= 0 {
		return nil
	}
	earliest := asOf.Add(-r.retention)
	for _, c := range cs {
		if c.at.Before(earliest) {
			//lint:ignore ST1005 Graph's own message, sent as it spells it
			return fmt.Errorf("Invalid filter clause: the date %s is before the earliest allowed date %s (the log keeps %s)",
				c.at.UTC().Format(time.RFC3339Nano), earliest.UTC().Format(time.RFC3339Nano), retentionText(r.retention))
		}
	}
	return nil
}

// retentionText writes a retention in days when it is whole days.
func retentionText(d time.Duration) string {
	if d%day == 0 {
		return strconv.Itoa(int(d/day)) + " days"
	}
	return d.String()
}

// parseTimeFilter parses clauses "field op instant" joined by "and", the
// instant unquoted RFC 3339 (fractional seconds and offsets allowed), op
// one of ops.
func parseTimeFilter(s, field, entity string, ops []string) ([]timeClause, error) {
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
		if !slices.Contains(ops, op) {
			return nil, fmt.Errorf("the operator '%s' is not supported on %s", op, field)
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

package graphsim

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// clause is one comparison of a $filter: factDate against an unquoted date
// (ge, gt, le, lt, eq), or a string property eq a quoted string.
type clause struct {
	field string // JSON property name as written
	op    string
	date  time.Time                  // for factDate
	get   func(*insights.Row) string // for a string property
	text  string
}

// filter is a conjunction of clauses; the empty filter matches every row.
type filter []clause

// parseFilter parses the $filter subset Graph documents for these reports:
// clauses joined by "and". Anything else is an error, which Graph answers
// with 400.
func parseFilter(s string, r insights.Report) (filter, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	var f filter
	for len(toks) > 0 {
		if len(toks) < 3 {
			return nil, errors.New("incomplete clause")
		}
		c := clause{field: toks[0], op: strings.ToLower(toks[1])}
		value := toks[2]
		toks = toks[3:]
		switch {
		case strings.EqualFold(c.field, "factDate"):
			switch c.op {
			case "eq", "ge", "gt", "le", "lt":
			default:
				return nil, fmt.Errorf("unsupported operator %q on factDate", c.op)
			}
			if c.date, err = time.Parse(time.DateOnly, value); err != nil {
				return nil, fmt.Errorf("factDate needs an unquoted date like 2024-07-01, not %s", value)
			}
		case stringProperty(r, c.field) != nil:
			c.get = stringProperty(r, c.field)
			if c.op != "eq" {
				return nil, fmt.Errorf("unsupported operator %q on %s", c.op, c.field)
			}
			text, ok := strings.CutPrefix(value, "'")
			if !ok {
				return nil, fmt.Errorf("%s needs a quoted string, not %s", c.field, value)
			}
			c.text = strings.TrimSuffix(text, "'")
		default:
			return nil, fmt.Errorf("could not find a property named '%s' on type 'microsoft.graph.%s'",
				c.field, entityType(r))
		}
		f = append(f, c)
		if len(toks) > 0 {
			if !strings.EqualFold(toks[0], "and") {
				return nil, fmt.Errorf("unsupported operator %q: only 'and' joins clauses", toks[0])
			}
			toks = toks[1:]
			if len(toks) == 0 {
				return nil, errors.New("clause missing after 'and'")
			}
		}
	}
	return f, nil
}

// tokenize splits a filter into words, keeping quoted strings (” escapes a
// quote) as one token with their opening and closing quote.
func tokenize(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ':
			i++
		case c == '\'':
			var b strings.Builder
			b.WriteByte('\'')
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j++
						continue
					}
					break
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, errors.New("unterminated string literal")
			}
			b.WriteByte('\'')
			toks = append(toks, b.String())
			i = j + 1
		case strings.IndexByte("(),", c) >= 0:
			return nil, fmt.Errorf("unsupported syntax %q", c)
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '\'' {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, nil
}

// stringProperty returns the accessor of report r's string property name,
// matched case-insensitively, or nil.
func stringProperty(r insights.Report, name string) func(*insights.Row) string {
	for _, f := range schema(r) {
		if f.Str != nil && strings.EqualFold(f.Name, name) {
			return f.Str
		}
	}
	return nil
}

// match reports whether row satisfies every clause.
func (f filter) match(row *insights.Row) bool {
	for _, c := range f {
		if !c.match(row) {
			return false
		}
	}
	return true
}

func (c clause) match(row *insights.Row) bool {
	if c.get != nil {
		return c.get(row) == c.text
	}
	d := row.FactDate
	switch c.op {
	case "eq":
		return d.Equal(c.date)
	case "ge":
		return !d.Before(c.date)
	case "gt":
		return d.After(c.date)
	case "le":
		return !d.After(c.date)
	}
	return d.Before(c.date) // lt
}

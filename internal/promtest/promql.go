package promtest

import (
	"fmt"
	"strings"
)

// Selector is one series selector found in a PromQL expression.
type Selector struct {
	// Metric is the metric name; "" for a selector of matchers only.
	Metric string
	// Matchers is the text between the braces, "" when there are none.
	Matchers string
	// Func is the innermost function or aggregation whose argument the
	// selector is, e.g. "rate" in sum(rate(x[5m])); "" at the top level.
	Func string
}

// String returns the selector as an instant vector selector, without any
// range or offset it had: what a query needs to check that it has data.
func (s Selector) String() string {
	if s.Matchers == "" {
		return s.Metric
	}
	return s.Metric + "{" + s.Matchers + "}"
}

// Parsed is what a PromQL expression uses.
type Parsed struct {
	Selectors    []Selector
	Functions    []string // functions called, in order of appearance
	Aggregations []string // aggregation operators, in order of appearance
}

// ParsePromQL extracts the selectors, functions and aggregations of expr.
//
// It is a tokenizer, not a parser: Prometheus' own parser is not in this
// module's dependency graph and would pull in most of Prometheus. It knows
// enough of the grammar to tell metric names from functions, keywords,
// label lists, strings, durations and numbers, and it checks that
// parentheses and braces balance. Syntax errors beyond that are left to
// Prometheus (promtool check rules, the query API).
func ParsePromQL(expr string) (Parsed, error) {
	l := lexer{src: expr}
	var (
		p       Parsed
		stack   []string // owner of each open parenthesis ("" = grouping)
		pending string   // function or aggregation waiting for its "("
	)
	innermost := func() string {
		for i := len(stack) - 1; i >= 0; i-- {
			if stack[i] != "" {
				return stack[i]
			}
		}
		return ""
	}
	for {
		l.skipSpace()
		if l.eof() {
			break
		}
		c := l.peek()
		switch {
		case c == '#':
			l.skipLine()
		case c == '"' || c == '\'' || c == '`':
			if err := l.skipString(); err != nil {
				return Parsed{}, err
			}
		case c == '{':
			m, err := l.braces()
			if err != nil {
				return Parsed{}, err
			}
			p.Selectors = append(p.Selectors, Selector{Matchers: m, Func: innermost()})
		case c == '[':
			if err := l.skipPast(']'); err != nil {
				return Parsed{}, err
			}
		case c == '(':
			l.pos++
			stack = append(stack, pending)
			pending = ""
		case c == ')':
			l.pos++
			if len(stack) == 0 {
				return Parsed{}, fmt.Errorf("unbalanced ')' at offset %d", l.pos-1)
			}
			stack = stack[:len(stack)-1]
		case isDigit(c) || c == '.':
			l.word()
		case isIdentStart(c):
			word := l.word()
			l.skipSpace()
			next := l.peek()
			switch {
			case isLabelListKeyword(word):
				if next == '(' {
					if err := l.skipPast(')'); err != nil {
						return Parsed{}, err
					}
				}
			case word == "offset":
				if next == '-' || next == '+' {
					l.pos++
				}
				l.skipSpace()
				l.word()
			case isBinaryKeyword(word) || isNumberWord(word):
			case isAggregation(word) && (next == '(' || strings.HasPrefix(l.rest(), "by") || strings.HasPrefix(l.rest(), "without")):
				pending = word
				p.Aggregations = append(p.Aggregations, word)
			case next == '(':
				pending = word
				p.Functions = append(p.Functions, word)
			default:
				s := Selector{Metric: word, Func: innermost()}
				if next == '{' {
					m, err := l.braces()
					if err != nil {
						return Parsed{}, err
					}
					s.Matchers = m
				}
				p.Selectors = append(p.Selectors, s)
			}
		default:
			l.pos++ // operators, commas, @
		}
	}
	if len(stack) > 0 {
		return Parsed{}, fmt.Errorf("%d unclosed '('", len(stack))
	}
	return p, nil
}

// lexer walks an expression byte by byte; PromQL's syntax is ASCII outside
// string literals.
type lexer struct {
	src string
	pos int
}

func (l *lexer) eof() bool    { return l.pos >= len(l.src) }
func (l *lexer) rest() string { return l.src[l.pos:] }

func (l *lexer) peek() byte {
	if l.eof() {
		return 0
	}
	return l.src[l.pos]
}

func (l *lexer) skipSpace() {
	for !l.eof() && strings.IndexByte(" \t\r\n", l.src[l.pos]) >= 0 {
		l.pos++
	}
}

func (l *lexer) skipLine() {
	for !l.eof() && l.src[l.pos] != '\n' {
		l.pos++
	}
}

// word consumes an identifier, number or duration.
func (l *lexer) word() string {
	start := l.pos
	for !l.eof() && (isIdentStart(l.src[l.pos]) || isDigit(l.src[l.pos]) || l.src[l.pos] == '.') {
		l.pos++
	}
	return l.src[start:l.pos]
}

// skipString consumes a quoted string, honouring backslash escapes except
// in raw (backtick) strings.
func (l *lexer) skipString() error {
	quote := l.src[l.pos]
	start := l.pos
	l.pos++
	for !l.eof() {
		c := l.src[l.pos]
		l.pos++
		switch {
		case c == '\\' && quote != '`':
			l.pos++
		case c == quote:
			return nil
		}
	}
	return fmt.Errorf("unterminated string at offset %d", start)
}

// skipPast consumes up to and including the closing byte, skipping strings
// on the way.
func (l *lexer) skipPast(closing byte) error {
	start := l.pos
	l.pos++
	for !l.eof() {
		switch c := l.src[l.pos]; {
		case c == closing:
			l.pos++
			return nil
		case c == '"' || c == '\'' || c == '`':
			if err := l.skipString(); err != nil {
				return err
			}
		default:
			l.pos++
		}
	}
	return fmt.Errorf("unclosed %q at offset %d", l.src[start], start)
}

// braces consumes a {…} matcher block and returns its trimmed content.
func (l *lexer) braces() (string, error) {
	start := l.pos
	if err := l.skipPast('}'); err != nil {
		return "", err
	}
	return strings.TrimSpace(l.src[start+1 : l.pos-1]), nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// isLabelListKeyword reports keywords followed by a (label, list).
func isLabelListKeyword(w string) bool {
	switch w {
	case "by", "without", "on", "ignoring", "group_left", "group_right":
		return true
	}
	return false
}

func isBinaryKeyword(w string) bool {
	switch w {
	case "and", "or", "unless", "bool", "atan2":
		return true
	}
	return false
}

func isNumberWord(w string) bool {
	return strings.EqualFold(w, "inf") || strings.EqualFold(w, "nan")
}

func isAggregation(w string) bool {
	switch w {
	case "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
		"count_values", "bottomk", "topk", "quantile":
		return true
	}
	return false
}

// IsPrometheus242Function reports whether Prometheus 2.42 (Debian 12's
// prometheus) knows the PromQL function. Newer ones (mad_over_time,
// sort_by_label, limitk, info, double_exponential_smoothing, …) and the
// experimental native-histogram functions are not accepted.
func IsPrometheus242Function(name string) bool {
	switch name {
	case "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh",
		"atan", "atanh", "avg_over_time", "ceil", "changes", "clamp", "clamp_max",
		"clamp_min", "cos", "cosh", "count_over_time", "day_of_month", "day_of_week",
		"day_of_year", "days_in_month", "deg", "delta", "deriv", "exp", "floor",
		"histogram_quantile", "holt_winters", "hour", "idelta", "increase", "irate",
		"label_join", "label_replace", "last_over_time", "ln", "log10", "log2",
		"max_over_time", "min_over_time", "minute", "month", "pi", "predict_linear",
		"present_over_time", "quantile_over_time", "rad", "rate", "resets", "round",
		"scalar", "sgn", "sin", "sinh", "sort", "sort_desc", "sqrt",
		"stddev_over_time", "stdvar_over_time", "sum_over_time", "tan", "tanh",
		"time", "timestamp", "vector", "year":
		return true
	}
	return false
}

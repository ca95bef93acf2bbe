package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
)

// The YAML decoder's messages name Go types ("field tenant_idd not found in
// type config.Tenant", "cannot unmarshal !!seq into string"); yamlError
// says the same in the words of the file: the key, where it sits, the
// nearest valid key and what kind of value was expected.

var (
	unknownField = regexp.MustCompile(`^line (\d+): field (\S+) not found in type config\.(\w+)$`)
	yamlKinds    = strings.NewReplacer("!!seq", "a list", "!!map", "a mapping", "!!str", "a string", "!!int", "a number",
		"!!float", "a number", "!!bool", "true or false", "[]string", "a list of strings", "map[string][]string",
		"a mapping of report to labels", "config.File", "the file's top level", "config.Tenant", "a tenant", "[]config.Tenant",
		"a list of tenants")
)

// yamlError rewrites a decoding error of a configuration file.
func yamlError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("parse: %s", azconf.OneLine(err.Error()))
	}
	msgs := make([]string, 0, len(te.Errors))
	for _, m := range te.Errors {
		msgs = append(msgs, keyMessage(m))
	}
	return fmt.Errorf("parse: %s", strings.Join(msgs, "; "))
}

// keyMessage rewrites one message of a yaml.TypeError.
func keyMessage(m string) string {
	g := unknownField.FindStringSubmatch(m)
	if g == nil {
		return yamlKinds.Replace(strings.Replace(m, "cannot unmarshal", "cannot read", 1))
	}
	line, key, typ := g[1], g[2], g[3]
	where, valid := "at the top level", keysOf(reflect.TypeFor[File]())
	if typ == "Tenant" {
		where, valid = "in a tenant", keysOf(reflect.TypeFor[Tenant]())
	}
	msg := fmt.Sprintf("line %s: unknown key %q %s", line, key, where)
	if near := nearest(key, valid); near != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", near)
	}
	return msg + "; valid keys: " + strings.Join(valid, ", ")
}

// keysOf lists the YAML keys of a struct type.
func keysOf(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

// nearest is the valid key closest to key, if it is close enough to be a
// typo (an edit distance of at most a third of its length, and 3).
func nearest(key string, valid []string) string {
	best, bestD := "", min(3, max(1, len(key)/3))+1
	for _, v := range valid {
		if d := distance(strings.ToLower(key), v); d < bestD {
			best, bestD = v, d
		}
	}
	return best
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = slices.Min([]int{prev[j] + 1, cur[j-1] + 1, prev[j-1] + cost})
		}
		prev = cur
	}
	return prev[len(b)]
}

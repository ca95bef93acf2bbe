package logs

import (
	"fmt"
	"slices"
	"strings"
)

// The period document of layouts 1 and 2, read to migrate a state to
// layout 3. Those layouts keyed the counters of each family by a struct
// of its own, stored as a JSON object; layout 1 is layout 2 without
// signUpFailures, interrupts, requests and funnel, so one reader serves
// both.
type periodDocV2 struct {
	periodBase
	Auth       []keyedV2   `json:"auth,omitempty"`
	MFA        []keyedV2   `json:"mfa,omitempty"`
	SignUps    []keyedV2   `json:"signUps,omitempty"`
	SignUpFail []countedV2 `json:"signUpFailures,omitempty"`
	Interrupts []countedV2 `json:"interrupts,omitempty"`
	Requests   []countedV2 `json:"requests,omitempty"`
}

type keyedV2 struct {
	K map[string]string `json:"k"`
	counts
}

func (e keyedV2) entry() (map[string]string, *counts) { c := e.counts; return e.K, &c }

type countedV2 struct {
	K map[string]string `json:"k"`
	N int64             `json:"n"`
}

func (e countedV2) entry() (map[string]string, int64) { return e.K, e.N }

// labelOfFieldV2 is the label each field of a layout-2 key held. Like the
// fields listed in layout3, it is what layout 2 wrote, whatever the
// families' labels are now: fromFamily maps them to those.
var labelOfFieldV2 = map[string]string{"App": "app_id", "OS": "os", "Country": "country", "Browser": "browser",
	"Method": "mfa_method", "IdentityProvider": "identity_provider", "Stage": "stage", "Code": "reason_code"}

// decodePeriodV2 parses a period of layout 1 or 2 as a period of layout 3.
func decodePeriodV2(data []byte) (periodDoc, error) {
	var old periodDocV2
	if err := decodeStrict(data, &old); err != nil {
		return periodDoc{}, err
	}
	return old.layout3()
}

func (p periodDocV2) layout3() (d periodDoc, err error) {
	d.periodBase = p.periodBase
	if d.Auth, err = familyV2(p.Auth, keyedV2.entry, "App", "OS", "Country", "Browser"); err != nil {
		return d, fmt.Errorf("auth: %w", err)
	}
	if d.MFA, err = familyV2(p.MFA, keyedV2.entry, "App", "Method", "OS", "Country"); err != nil {
		return d, fmt.Errorf("mfa: %w", err)
	}
	if d.SignUps, err = familyV2(p.SignUps, keyedV2.entry, "App", "IdentityProvider"); err != nil {
		return d, fmt.Errorf("signUps: %w", err)
	}
	if d.SignUpFail, err = familyV2(p.SignUpFail, countedV2.entry, "App", "Stage", "Code"); err != nil {
		return d, fmt.Errorf("signUpFailures: %w", err)
	}
	if d.Interrupts, err = familyV2(p.Interrupts, countedV2.entry, "App", "Code"); err != nil {
		return d, fmt.Errorf("interrupts: %w", err)
	}
	if d.Requests, err = familyV2(p.Requests, countedV2.entry, "App", "Country"); err != nil {
		return d, fmt.Errorf("requests: %w", err)
	}
	return d, nil
}

// familyV2 is a family of layout 2, whose keys have fields, in order, as
// a family of layout 3: the labels of the fields, and each key's field
// values joined.
func familyV2[E, V any](in []E, entry func(E) (map[string]string, V), fields ...string) (familyDoc[V], error) {
	out := familyDoc[V]{Counters: make([]counter[V], 0, len(in))}
	for _, f := range fields {
		out.Labels = append(out.Labels, labelOfFieldV2[f])
	}
	for _, e := range in {
		k, v := entry(e)
		values := make([]string, len(fields))
		for i, f := range fields {
			var ok bool
			if values[i], ok = k[f]; !ok || len(k) != len(fields) {
				return out, fmt.Errorf("key %v: want the fields %v", k, fields)
			}
		}
		out.Counters = append(out.Counters, counter[V]{K: strings.Join(values, keySep), V: v})
	}
	slices.SortFunc(out.Counters, func(a, b counter[V]) int { return strings.Compare(a.K, b.K) })
	return out, nil
}

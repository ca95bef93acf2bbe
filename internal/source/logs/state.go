package logs

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// docSchema is the version of the document's layout. 2: sign-ups are
// flows (one event per stage), with failures by stage, the funnel,
// interrupts and requests; a layout-1 state is migrated (migrateSignUps).
// 3: each family of counters is stored with its labels and keyed by their
// values (familyDoc); a layout-1 or -2 period is read by layout2.go.
const docSchema = 3

// doc is a tenant's read positions and small samples. The periods, the
// event ids of the overlap window and the users of the open periods are
// sets the store keeps key by key, so a refresh writes only what changed.
type doc struct {
	Schema        int            `json:"schema"`
	SignIns       feed           `json:"signIns"`
	SignUps       feed           `json:"signUps"`
	Users         *sample        `json:"users,omitempty"`
	Registrations *registrations `json:"registrations,omitempty"`
	Inactive      *inactive      `json:"inactive,omitempty"`
}

// inactive is the last read of the inactive users per window.
type inactive struct {
	At         time.Time        `json:"at"`
	ByWindow   map[string]int64 `json:"byWindow,omitempty"`
	Unlicensed bool             `json:"unlicensed,omitempty"` // the licence has no signInActivity
}

// due reports whether the inactive users are to be read again.
func (i *inactive) due(now time.Time) bool {
	switch {
	case i == nil:
		return true
	case i.Unlicensed:
		return now.Sub(i.At) >= unlicensedRetry
	}
	return now.Sub(i.At) >= inactiveEvery
}

// feed is the read position of one activity log.
type feed struct {
	// Since is where the first read started: the periods before it were
	// never read, so a month that began before it is incomplete.
	Since time.Time `json:"since"`
	// Watermark is the end of the last window read; the next read starts at
	// Watermark − overlap, no earlier than SeenSince.
	Watermark time.Time `json:"watermark"`
	// SeenSince is the oldest creation time from which every event read
	// is in the seen set, so re-reading from there counts nothing twice.
	SeenSince  time.Time `json:"seenSince"`
	Events     int64     `json:"events"`     // events counted, ever
	Duplicates int64     `json:"duplicates"` // events read again and skipped
	// OutOfWindow counts the events Graph returned outside the window
	// asked for, skipped.
	OutOfWindow int64 `json:"outOfWindow,omitempty"`
	// Select is Graph's answer to $select on this log: "" not asked yet,
	// "accepted" or "refused" (then never sent again).
	Select string `json:"select,omitempty"`
	// Floor is the earliest createdDateTime a read may ask for, set when
	// Graph refused an earlier lower bound (zero: none refused).
	Floor time.Time `json:"floor,omitempty"`
	// Sweep is where the running late sweep goes on (zero: none running);
	// SweptAt is when the last one ended.
	Sweep   time.Time `json:"sweep,omitempty"`
	SweptAt time.Time `json:"sweptAt,omitempty"`
}

// sample is one value read at a time (users/$count).
type sample struct {
	At    time.Time `json:"at"`
	Count int64     `json:"count"`
}

// registrations is the last read of userRegistrationDetails.
type registrations struct {
	At       time.Time        `json:"at"`
	ByMethod map[string]int64 `json:"byMethod"`
}

// periodDoc is a period in the store.
type periodDoc struct {
	periodBase
	Auth       familyDoc[*counts] `json:"auth"`
	MFA        familyDoc[*counts] `json:"mfa"`
	SignUps    familyDoc[*counts] `json:"signUps"`
	SignUpFail familyDoc[int64]   `json:"signUpFailures"`
	Interrupts familyDoc[int64]   `json:"interrupts"`
	Requests   familyDoc[int64]   `json:"requests"`
}

// periodBase is what a period document holds besides its counters, alike
// in every layout (layout2.go reads the earlier ones).
type periodBase struct {
	Granularity  insights.Granularity   `json:"g"`
	Start        time.Time              `json:"start"`
	Funnel       map[string]funnelCount `json:"funnel,omitempty"` // closed periods
	Apps         map[string]appName     `json:"apps,omitempty"`
	Closed       bool                   `json:"closed,omitempty"`
	Active       map[string]int64       `json:"active,omitempty"`
	TenantActive int64                  `json:"tenantActive,omitempty"`
	ActiveDims   []string               `json:"activeDims,omitempty"`
}

// familyDoc is one family's counters in a period document: the labels its
// keys were written with, so that a period written before a family's
// labels changed is read by its own (fromFamily), and the counters in key
// order.
type familyDoc[V any] struct {
	Labels   []string     `json:"labels"`
	Counters []counter[V] `json:"counters,omitempty"`
}

// counter is one counter of a period document: its key (the label values
// joined by keySep) and its value, events or counts.
type counter[V any] struct {
	K string `json:"k"`
	V V      `json:"v"`
}

func toFamily[V any](m map[string]V, labels []string) familyDoc[V] {
	out := familyDoc[V]{Labels: labels, Counters: make([]counter[V], 0, len(m))}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out.Counters = append(out.Counters, counter[V]{K: k, V: m[k]})
	}
	return out
}

// fromFamily checks a family's stored counters and keys them by labels,
// the family's labels now. If they changed since the period was written,
// a label the stored keys lack is unknown for them (it was not counted
// then) and the counters of a label dropped since fold together (add).
func fromFamily[V any](d familyDoc[V], labels []string, valid func(V) error, add func(a, b V) V) (map[string]V, error) {
	m := make(map[string]V, len(d.Counters))
	same := slices.Equal(d.Labels, labels)
	for i, c := range d.Counters {
		if err := valid(c.V); err != nil {
			return nil, fmt.Errorf("%q: %w", c.K, err)
		}
		if strings.Count(c.K, keySep) != len(d.Labels)-1 {
			return nil, fmt.Errorf("%q: not a key of labels %q", c.K, d.Labels)
		}
		if i > 0 && c.K <= d.Counters[i-1].K { // toFamily writes them in order
			return nil, fmt.Errorf("%q: out of order or listed twice", c.K)
		}
		k := c.K
		if !same {
			k = rekey(c.K, d.Labels, labels)
		}
		if prev, ok := m[k]; ok {
			c.V = add(prev, c.V)
		}
		m[k] = c.V
	}
	return m, nil
}

// rekey is key, of labels from, as a key of labels to.
func rekey(key string, from, to []string) string {
	vs := make(values, len(from))
	for i, v := range splitKey(key, len(from)) {
		vs[i] = labelValue{from[i], v}
	}
	return vs.key(to)
}

func (c *counts) valid() error {
	if c == nil {
		return errors.New("no counts")
	}
	var failed int64
	for code, n := range c.Failures {
		if _, err := strconv.ParseInt(code, 10, 64); err != nil || n <= 0 {
			return fmt.Errorf("bad failure %q: %d", code, n)
		}
		failed += n
	}
	if c.Attempts < 0 || c.Successes < 0 || c.Successes > c.Attempts || failed > c.Attempts-c.Successes {
		return fmt.Errorf("inconsistent counts %+v", *c)
	}
	return nil
}

// plus adds o's counts to c's and returns c.
func (c *counts) plus(o *counts) *counts {
	c.Attempts += o.Attempts
	c.Successes += o.Successes
	for code, n := range o.Failures {
		if c.Failures == nil {
			c.Failures = map[string]int64{}
		}
		c.Failures[code] += n
	}
	return c
}

func validEvents(n int64) error {
	if n <= 0 {
		return fmt.Errorf("bad count %d", n)
	}
	return nil
}

func addEvents(a, b int64) int64 { return a + b }

func (p *period) doc() periodDoc {
	d := periodDoc{
		periodBase: periodBase{Granularity: p.g, Start: p.start, Apps: p.apps},
		Auth:       toFamily(p.auth, authLabels),
		MFA:        toFamily(p.mfa, mfaLabels),
		SignUps:    toFamily(p.signU, signUpLabels),
		SignUpFail: toFamily(p.signUpFail, signUpFailLabels),
		Interrupts: toFamily(p.interrupts, interruptLabels),
		Requests:   toFamily(p.requests, requestLabels),
	}
	if !p.open() {
		d.Closed, d.Active, d.TenantActive, d.ActiveDims, d.Funnel = true, p.active, p.tenantActive, p.activeDims, p.funnel
	}
	return d
}

// periodFromDoc checks d and rebuilds its period; an open period gets an
// empty user set projected on dims, which the store's set fills.
func periodFromDoc(d periodDoc, dims []string) (*period, error) {
	if d.Granularity != insights.Daily && d.Granularity != insights.Monthly {
		return nil, fmt.Errorf("bad granularity %q", d.Granularity)
	}
	if !insights.PeriodStart(d.Granularity, d.Start).Equal(d.Start) {
		return nil, fmt.Errorf("%s period start %s is not the start of a period", d.Granularity, d.Start)
	}
	p := newPeriod(d.Granularity, d.Start, dims)
	var err error
	if p.auth, err = fromFamily(d.Auth, authLabels, (*counts).valid, (*counts).plus); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if p.mfa, err = fromFamily(d.MFA, mfaLabels, (*counts).valid, (*counts).plus); err != nil {
		return nil, fmt.Errorf("mfa: %w", err)
	}
	if p.signU, err = fromFamily(d.SignUps, signUpLabels, (*counts).valid, (*counts).plus); err != nil {
		return nil, fmt.Errorf("signUps: %w", err)
	}
	if p.signUpFail, err = fromFamily(d.SignUpFail, signUpFailLabels, validEvents, addEvents); err != nil {
		return nil, fmt.Errorf("signUpFailures: %w", err)
	}
	if p.interrupts, err = fromFamily(d.Interrupts, interruptLabels, validEvents, addEvents); err != nil {
		return nil, fmt.Errorf("interrupts: %w", err)
	}
	if p.requests, err = fromFamily(d.Requests, requestLabels, validEvents, addEvents); err != nil {
		return nil, fmt.Errorf("requests: %w", err)
	}
	if d.Apps != nil {
		p.apps = d.Apps
	}
	if d.Closed {
		for stage, f := range d.Funnel {
			if f.Reached <= 0 || f.Abandoned < 0 || f.Abandoned > f.Reached {
				return nil, fmt.Errorf("bad funnel stage %q: %+v", stage, f)
			}
		}
		p.flows, p.funnel = nil, d.Funnel
		for key, n := range d.Active {
			if n <= 0 || len(splitKey(key, len(d.ActiveDims))) != len(d.ActiveDims) && len(d.ActiveDims) > 0 {
				return nil, fmt.Errorf("bad active users %q: %d", key, n)
			}
		}
		if d.TenantActive < 0 {
			return nil, fmt.Errorf("bad tenant active users %d", d.TenantActive)
		}
		p.users, p.active, p.tenantActive, p.activeDims = nil, d.Active, d.TenantActive, d.ActiveDims
	}
	return p, nil
}

// decodeDoc parses and checks a stored document. Any damage is an error,
// never a panic or a silent default.
func decodeDoc(data []byte) (*doc, error) {
	var d doc
	if err := decodeStrict(data, &d); err != nil {
		return nil, err
	}
	if d.Schema < 1 || d.Schema > docSchema {
		return nil, fmt.Errorf("document layout %d, this exporter reads 1 to %d", d.Schema, docSchema)
	}
	for name, f := range map[string]feed{"signIns": d.SignIns, "signUps": d.SignUps} {
		if f.Events < 0 || f.Duplicates < 0 || f.OutOfWindow < 0 || (!f.Watermark.IsZero() && (f.Since.After(f.Watermark) || f.SeenSince.After(f.Watermark))) {
			return nil, fmt.Errorf("%s: inconsistent read position %+v", name, f)
		}
	}
	if d.Users != nil && d.Users.Count < 0 {
		return nil, fmt.Errorf("users: negative count %d", d.Users.Count)
	}
	if d.Inactive != nil {
		for w, n := range d.Inactive.ByWindow {
			if n < 0 {
				return nil, fmt.Errorf("inactive: %q: negative count", w)
			}
		}
	}
	if d.Registrations != nil {
		for m, n := range d.Registrations.ByMethod {
			if n < 0 {
				return nil, fmt.Errorf("registrations: %q: negative count", m)
			}
		}
	}
	return &d, nil
}

// Set names in the store.
func usersSet(p *period) string {
	return "users/" + string(p.g) + "/" + p.start.Format(time.DateOnly)
}

func flowsSet(p *period) string {
	return "flows/" + string(p.g) + "/" + p.start.Format(time.DateOnly)
}

func seenSet(feed string) string { return "seen/" + feed }

// periodsSet holds one document per period, so a refresh rewrites only
// the periods it changed.
const periodsSet = "periods"

func (k periodKey) storeKey() []byte {
	return []byte(string(k.g) + "/" + k.start.Format(time.DateOnly))
}

func encodeTime(t time.Time) []byte { return binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())) }

func decodeTime(v []byte) (time.Time, error) {
	if len(v) != 8 {
		return time.Time{}, errors.New("bad time")
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC(), nil
}

// decodePeriod parses and checks one stored period of the given layout
// (the document's schema).
func decodePeriod(data []byte, layout int, dims map[insights.Granularity][]string) (*period, error) {
	var d periodDoc
	if layout < 3 {
		var err error
		if d, err = decodePeriodV2(data); err != nil {
			return nil, fmt.Errorf("layout %d: %w", layout, err)
		}
	} else if err := decodeStrict(data, &d); err != nil {
		return nil, err
	}
	return periodFromDoc(d, dims[d.Granularity])
}

// decodeStrict decodes exactly one JSON value of v's type from data:
// unknown fields and trailing data are errors.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("decode: data after the value")
	}
	return nil
}

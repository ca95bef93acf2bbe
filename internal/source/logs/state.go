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
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// docSchema is the version of the document's layout. 2: sign-ups are
// flows (one event per stage), with failures by stage, the funnel,
// interrupts and requests; a layout-1 state is migrated (migrateSignUps).
const docSchema = 2

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

type keyed[K comparable] struct {
	K K `json:"k"`
	counts
}

type periodDoc struct {
	Granularity  insights.Granularity     `json:"g"`
	Start        time.Time                `json:"start"`
	Auth         []keyed[authKey]         `json:"auth,omitempty"`
	MFA          []keyed[mfaKey]          `json:"mfa,omitempty"`
	SignUps      []keyed[signUpKey]       `json:"signUps,omitempty"`
	SignUpFail   []counted[signUpFailKey] `json:"signUpFailures,omitempty"`
	Interrupts   []counted[interruptKey]  `json:"interrupts,omitempty"`
	Requests     []counted[requestKey]    `json:"requests,omitempty"`
	Funnel       map[string]funnelCount   `json:"funnel,omitempty"` // closed periods
	Apps         map[string]appName       `json:"apps,omitempty"`
	Closed       bool                     `json:"closed,omitempty"`
	Active       map[string]int64         `json:"active,omitempty"`
	TenantActive int64                    `json:"tenantActive,omitempty"`
	ActiveDims   []string                 `json:"activeDims,omitempty"`
}

func toKeyed[K comparable](m map[K]*counts, less func(a, b K) int) []keyed[K] {
	out := make([]keyed[K], 0, len(m))
	for _, k := range slices.SortedFunc(maps.Keys(m), less) {
		out = append(out, keyed[K]{K: k, counts: *m[k]})
	}
	return out
}

func fromKeyed[K comparable](in []keyed[K]) (map[K]*counts, error) {
	m := make(map[K]*counts, len(in))
	for _, e := range in {
		if err := e.counts.valid(); err != nil {
			return nil, fmt.Errorf("%v: %w", e.K, err)
		}
		if _, dup := m[e.K]; dup {
			return nil, fmt.Errorf("%v: listed twice", e.K)
		}
		c := e.counts
		m[e.K] = &c
	}
	return m, nil
}

// counted is one counter of a period document.
type counted[K comparable] struct {
	K K     `json:"k"`
	N int64 `json:"n"`
}

func toCounted[K comparable](m map[K]int64, less func(a, b K) int) []counted[K] {
	out := make([]counted[K], 0, len(m))
	for _, k := range slices.SortedFunc(maps.Keys(m), less) {
		out = append(out, counted[K]{K: k, N: m[k]})
	}
	return out
}

func fromCounted[K comparable](in []counted[K]) (map[K]int64, error) {
	m := make(map[K]int64, len(in))
	for _, e := range in {
		if e.N <= 0 {
			return nil, fmt.Errorf("%v: bad count %d", e.K, e.N)
		}
		if _, dup := m[e.K]; dup {
			return nil, fmt.Errorf("%v: listed twice", e.K)
		}
		m[e.K] = e.N
	}
	return m, nil
}

func (c *counts) valid() error {
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

func (p *period) doc() periodDoc {
	d := periodDoc{
		Granularity: p.g, Start: p.start,
		Auth: toKeyed(p.auth, func(a, b authKey) int {
			return compareStrings(a.App, b.App, a.OS, b.OS, a.Country, b.Country, a.Browser, b.Browser)
		}),
		MFA: toKeyed(p.mfa, func(a, b mfaKey) int {
			return compareStrings(a.App, b.App, a.Method, b.Method, a.OS, b.OS, a.Country, b.Country)
		}),
		SignUps: toKeyed(p.signU, func(a, b signUpKey) int {
			return compareStrings(a.App, b.App, a.IdentityProvider, b.IdentityProvider)
		}),
		SignUpFail: toCounted(p.signUpFail, func(a, b signUpFailKey) int {
			return compareStrings(a.App, b.App, a.Stage, b.Stage, a.Code, b.Code)
		}),
		Interrupts: toCounted(p.interrupts, func(a, b interruptKey) int { return compareStrings(a.App, b.App, a.Code, b.Code) }),
		Requests:   toCounted(p.requests, func(a, b requestKey) int { return compareStrings(a.App, b.App, a.Country, b.Country) }),
		Apps:       p.apps,
	}
	if !p.open() {
		d.Closed, d.Active, d.TenantActive, d.ActiveDims, d.Funnel = true, p.active, p.tenantActive, p.activeDims, p.funnel
	}
	return d
}

// compareStrings compares pairs (a1, b1, a2, b2, ...) in order.
func compareStrings(pairs ...string) int {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] != pairs[i+1] {
			if pairs[i] < pairs[i+1] {
				return -1
			}
			return 1
		}
	}
	return 0
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
	if p.auth, err = fromKeyed(d.Auth); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if p.mfa, err = fromKeyed(d.MFA); err != nil {
		return nil, fmt.Errorf("mfa: %w", err)
	}
	if p.signU, err = fromKeyed(d.SignUps); err != nil {
		return nil, fmt.Errorf("signUps: %w", err)
	}
	if p.signUpFail, err = fromCounted(d.SignUpFail); err != nil {
		return nil, fmt.Errorf("signUpFailures: %w", err)
	}
	if p.interrupts, err = fromCounted(d.Interrupts); err != nil {
		return nil, fmt.Errorf("interrupts: %w", err)
	}
	if p.requests, err = fromCounted(d.Requests); err != nil {
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
	if d.Schema != docSchema && d.Schema != 1 {
		return nil, fmt.Errorf("document layout %d, this exporter reads 1 and %d", d.Schema, docSchema)
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

// decodePeriod parses and checks one stored period.
func decodePeriod(data []byte, dims map[insights.Granularity][]string) (*period, error) {
	var d periodDoc
	if err := decodeStrict(data, &d); err != nil {
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

package logs

import (
	"strconv"
	"strings"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// dimension is one label the events of type E are counted by, and where
// its value is in an event: Graph's value, which insights.Normalize turns
// into the label value, so values a label folds together are one counter.
type dimension[E any] struct {
	label string
	raw   func(*E) string
}

// signInDimensions are the dimensions of a sign-in. A new label for the
// sign-in counters is a row here and a name in the labels of the families
// below that count by it.
var signInDimensions = []dimension[insights.SignIn]{
	{"app_id", func(e *insights.SignIn) string { return e.AppID }},
	{"os", func(e *insights.SignIn) string { return e.OS }},
	{"country", func(e *insights.SignIn) string { return e.Country }},
	{"browser", func(e *insights.SignIn) string { return e.Browser }},
	{"mfa_method", func(e *insights.SignIn) string { return e.MFAMethod }},
	{"reason_code", func(e *insights.SignIn) string { return strconv.FormatInt(e.ErrorCode, 10) }},
}

// signUpDimensions are the dimensions of a sign-up event. They go through
// the same table as a sign-in's so that every counter of a period has one
// key form and one stored form (state.go), and requests, which counts both
// events, one key.
var signUpDimensions = []dimension[insights.SignUp]{
	{"app_id", func(e *insights.SignUp) string { return e.AppID }},
	{"identity_provider", func(e *insights.SignUp) string { return e.IdentityProvider }},
	{"stage", func(e *insights.SignUp) string { return e.Stage }},
	{"reason_code", func(e *insights.SignUp) string { return strconv.FormatInt(e.ErrorCode, 10) }},
}

// The labels each family of counters of a period is keyed by, in order:
// a counter's key is their values joined by keySep, and its points carry
// them (periodFamilies). The state stores each family's labels with its
// counters, so a change here reads an older state (periodFromDoc) without
// a new layout.
var (
	authLabels       = []string{"app_id", "os", "country", "browser"}
	mfaLabels        = []string{"app_id", "mfa_method", "os", "country"}
	interruptLabels  = []string{"app_id", "reason_code"}
	requestLabels    = []string{"app_id", "country"} // sign-ins and sign-ups
	signUpLabels     = []string{"app_id", "identity_provider"}
	signUpFailLabels = []string{"app_id", "stage", "reason_code"}
)

// tupleDims are the dimensions a distinct user is counted by (users.go):
// those of the active users' dimension choices that a sign-in has.
var tupleDims = [...]string{"app_id", "os", "country"}

// tuple is a sign-in's values of tupleDims.
type tuple [len(tupleDims)]string

// labelValue is one normalised label value of an event.
type labelValue struct{ label, value string }

// values are an event's normalised values of its table's dimensions, read
// once however many counters the event goes to.
type values []labelValue

func valuesOf[E any](dims []dimension[E], e *E) values {
	out := make(values, len(dims))
	for i, d := range dims {
		out[i] = labelValue{d.label, insights.Normalize(d.label, d.raw(e))}
	}
	return out
}

// get returns the value of label; one the event does not have is Graph's
// empty value, normalised ("unknown"), as a sign-up's country.
func (vs values) get(label string) string {
	for _, v := range vs {
		if v.label == label {
			return v.value
		}
	}
	return insights.Normalize(label, "")
}

// key is the counter key of a family keyed by labels.
func (vs values) key(labels []string) string {
	parts := make([]string, len(labels))
	for i, l := range labels {
		parts[i] = vs.get(l)
	}
	return strings.Join(parts, keySep)
}

func (vs values) tuple() tuple {
	var t tuple
	for i, l := range tupleDims {
		t[i] = vs.get(l)
	}
	return t
}

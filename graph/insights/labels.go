package insights

import (
	"strings"
	"time"
	"unicode/utf8"
)

// UnknownValue stands in for an empty label value, so a series never has an
// empty label (which Prometheus treats as an absent one).
const UnknownValue = "unknown"

// Normalize turns a raw Graph value into the label value of the dimension
// label. Graph spells the same thing several ways ("MacOs", "MACOS", "" for
// a missing country); folding them keeps one series per real value. The
// result is never empty, always valid UTF-8, and Normalize is idempotent, so
// rows already normalised fold into the same series.
func Normalize(label, value string) string {
	v := strings.TrimSpace(strings.ToValidUTF8(value, string(utf8.RuneError)))
	if v == "" || strings.EqualFold(v, UnknownValue) {
		return UnknownValue
	}
	switch label {
	case "os":
		return normalizeOS(v)
	case "country":
		return strings.ToUpper(v)
	case "app_id":
		return strings.ToLower(v)
	}
	return v
}

// normalizeOS folds the operating systems Graph reports in mixed spellings
// to one each and lower-cases the rest. A trailing version ("Windows 10",
// "Ios 17.1" in the sign-in logs) folds into the family, so the logs source
// has the userinsights source's series, at their cardinality.
func normalizeOS(v string) string {
	lower := strings.ToLower(v)
	switch strings.TrimRight(strings.Join(strings.Fields(lower), ""), "0123456789.") {
	case "windows":
		return "Windows"
	case "macos", "macosx", "osx":
		return "macOS"
	case "ios":
		return "iOS"
	case "android":
		return "Android"
	case "linux":
		return "Linux"
	}
	return lower
}

// NormalizeText cleans a free-text value that is not a dimension (an app's
// display name): valid UTF-8, trimmed, fallback when empty.
func NormalizeText(value, fallback string) string {
	v := strings.TrimSpace(strings.ToValidUTF8(value, string(utf8.RuneError)))
	if v == "" {
		return fallback
	}
	return v
}

// PeriodStart returns 00:00 UTC of the first day of the period of
// granularity g that contains t: its day, or the 1st of its month.
func PeriodStart(g Granularity, t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	if g == Monthly {
		d = 1
	}
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

package graphsim

import (
	"strings"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// osKind is a device platform; each report spells it its own way.
type osKind int

const (
	osWindows osKind = iota
	osMacOS
	osIOS
	osAndroid
	osLinux
	osChromeOS
	osUnknown // sent as ""
)

// spell returns the platform as the named report sends it: summary in upper
// case ("MACOS"), mfaCompletions in Apple's style ("macOS"), the others as
// in Graph's examples ("MacOs", "Ios").
func (o osKind) spell(report string) string {
	names := [...]string{"Windows", "MacOs", "Ios", "Android", "Linux", "ChromeOS", ""}
	switch report {
	case insights.Summary:
		return strings.ToUpper(names[o])
	case insights.MFACompletions:
		return [...]string{"Windows", "macOS", "iOS", "Android", "Linux", "ChromeOS", ""}[o]
	}
	return names[o]
}

// browser is the usual browser of the platform; "" for native clients.
func (o osKind) browser() string {
	return [...]string{"Edge", "Safari", "Safari", "Chrome", "Firefox", "Chrome", ""}[o]
}

// country is a sign-in location and its usual language. Graph sends "UK",
// not ISO's "GB", and sometimes "".
type country struct{ code, language string }

func countries() []country {
	return []country{{"US", "en-us"}, {"DE", "de-de"}, {"BR", "pt-br"}, {"UK", "en-gb"},
		{"FR", "fr-fr"}, {"IL", "he-il"}, {"", "en-us"}}
}

// app is one application registration of a tenant.
type app struct {
	id      string
	name    string
	oldName string // name before a rename ten days ago; "" if never renamed
	weight  float64
	native  bool     // a mobile app: no browser, native authentication
	oses    []osKind // platforms it runs on
	mfa     []string // MFA methods its users use
}

// tenant is the simulated world of one tenant id: its size and its apps.
type tenant struct {
	id     string
	seed   hash
	scale  float64 // size of the tenant relative to the model's base counts
	shift  int     // rotates the country assignment per tenant
	domain string  // the users' UPN domain
	apps   []app
}

func newTenant(id string) tenant {
	seed := newHash(id)
	brands := []string{"Woodgrove", "Contoso", "Fabrikam", "Tailspin", "Northwind"}
	brand := brands[seed.str("brand").pick(len(brands))]
	t := tenant{
		id:     id,
		seed:   seed,
		scale:  0.5 + 1.5*seed.str("scale").unit(),
		shift:  seed.str("shift").pick(len(countries())),
		domain: strings.ToLower(brand) + "customers.onmicrosoft.com",
	}
	t.apps = []app{
		{name: brand + " Web", weight: 1, oses: []osKind{osWindows, osMacOS, osLinux, osAndroid, osIOS},
			mfa: []string{"PhoneAppNotification", "PhoneAppOTP", "Sms", "Voice", "Email"}},
		{name: brand + " Mobile", weight: 0.6, native: true, oses: []osKind{osIOS, osAndroid, osUnknown},
			mfa: []string{"PhoneAppNotification", "PhoneAppOTP", "Sms"}},
		{name: brand + " Loyalty", oldName: brand + " Rewards", weight: 0.35,
			oses: []osKind{osWindows, osMacOS, osIOS, osAndroid, osChromeOS}, mfa: []string{"Email", "Sms"}},
		{name: brand + " Admin Portal", weight: 0.12, oses: []osKind{osWindows, osMacOS},
			mfa: []string{"PhoneAppNotification", "Voice"}},
	}
	for i := range t.apps {
		t.apps[i].id = guid(seed.str("app").str(t.apps[i].name))
	}
	return t
}

// guid formats h as a version-4-looking GUID.
func guid(h hash) string {
	const digits = "0123456789abcdef"
	a, b := uint64(h), uint64(h.str("low"))
	var out [36]byte
	put := func(at int, v uint64, n int) {
		for i := n - 1; i >= 0; i-- {
			out[at+i] = digits[v&0xf]
			v >>= 4
		}
	}
	put(0, a>>32, 8)
	out[8] = '-'
	put(9, (a>>16)&0xffff, 4)
	out[13] = '-'
	put(14, 0x4000|a&0xfff, 4)
	out[18] = '-'
	put(19, 0x8000|(b>>48)&0x3fff, 4)
	out[23] = '-'
	put(24, b&0xffffffffffff, 12)
	return string(out[:])
}

// segment is one combination of dimensions that has a row in every period
// it is active in. The segments of a tenant are its apps' platforms; the
// other dimensions follow from them, so every row's dimensions are unique.
type segment struct {
	app     int
	os      osKind
	country country
	idp     string
	key     hash // identifies the segment in the jitter of its counts
}

func (t *tenant) segments() []segment {
	var segs []segment
	places := countries()
	for ai, a := range t.apps {
		for oi, o := range a.oses {
			key := t.seed.str(a.name).num(int64(o))
			segs = append(segs, segment{
				app:     ai,
				os:      o,
				country: places[(ai*2+oi+t.shift)%len(places)],
				idp:     identityProvider(key),
				key:     key,
			})
		}
	}
	return segs
}

// weight is the segment's share of its app's traffic times the app's.
func (t *tenant) weight(s segment) float64 {
	return t.apps[s.app].weight * (0.5 + s.key.str("weight").unit()) / float64(len(t.apps[s.app].oses))
}

func identityProvider(h hash) string {
	switch u := h.str("idp").unit(); {
	case u < 0.6:
		return "local"
	case u < 0.85:
		return "google.com"
	}
	return "facebook.com"
}

// reasonWeights are failure reasons with their share of failures.
type reasonWeight struct {
	code, text string
	weight     float64
}

// authFailureReasons uses the values of authenticationFailureReasonCode.
func authFailureReasons() []reasonWeight {
	return []reasonWeight{
		{"userError", "Invalid username or password", 0.42},
		{"incomplete", "User abandoned the flow", 0.3},
		{"denied", "Access denied by Conditional Access policy", 0.1},
		{"configError", "Redirect URI mismatch", 0.08},
		{"systemFailure", "Internal server error", 0.05},
		{"badRequest", "Malformed request", 0.02},
		{"other", "Flow token expired", 0.03},
	}
}

// mfaFailureReasons uses the values of mfaFailureReasonCode.
func mfaFailureReasons() []reasonWeight {
	return []reasonWeight{
		{"mfaIncomplete", "Timed out", 0.45},
		{"mfaDenied", "User denied the request", 0.3},
		{"systemFailure", "Telephony provider error", 0.12},
		{"other", "Other", 0.08},
		{"badRequest", "Malformed request", 0.05},
	}
}

// mfaTypes are values of the mfaType enum with their share of registered
// users.
func mfaTypes() []reasonWeight {
	return []reasonWeight{
		{"eotp", "", 0.3}, {"oneWaySms", "", 0.05}, {"twoWaySms", "", 0.2},
		{"phoneAppNotification", "", 0.25}, {"phoneAppOtp", "", 0.1},
		{"twoWayVoiceMobile", "", 0.04}, {"fido", "", 0.05}, {"other", "", 0.01},
	}
}

package graphsim

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// The tenant's directory: users 0 … UserCount−1, each a pure function of
// the tenant and its index. Sign-ins draw from the first poolBase users,
// which exist at any clock after 2024.

// User is one user of a tenant's directory as graphsim models it.
type User struct {
	ID                string
	UserPrincipalName string
	DisplayName       string
	// LastSuccessfulSignIn is signInActivity/lastSuccessfulSignInDateTime;
	// zero = never (null).
	LastSuccessfulSignIn time.Time
	// MFAType is the mfaRegisteredUsers mfaType of the user's registered
	// method; "" = no MFA method registered.
	MFAType string
	// Registration is the user's userRegistrationDetails entry.
	Registration UserRegistration
}

// UserRegistration is one reports/authenticationMethods/userRegistrationDetails
// entry, named as in Graph's beta JSON.
type UserRegistration struct {
	ID                  string    `json:"id"`
	UserPrincipalName   string    `json:"userPrincipalName"`
	UserDisplayName     string    `json:"userDisplayName"`
	UserType            string    `json:"userType"`
	IsAdmin             bool      `json:"isAdmin"`
	IsMfaRegistered     bool      `json:"isMfaRegistered"`
	IsMfaCapable        bool      `json:"isMfaCapable"`
	MethodsRegistered   []string  `json:"methodsRegistered"`
	DefaultMfaMethod    string    `json:"defaultMfaMethod"`
	LastUpdatedDateTime time.Time `json:"lastUpdatedDateTime"`
}

// MFATypeMethods maps each mfaType of the mfaRegisteredUsers report to the
// userRegistrationDetails methodsRegistered value of the users it counts:
// in the current month, the report's count of a type equals the number of
// users whose registered method is that type, so a method's user count is
// the sum of its types' counts (mobilePhone: oneWaySms + twoWaySms +
// twoWayVoiceMobile).
func MFATypeMethods() map[string]string {
	return map[string]string{
		"eotp": "email", "oneWaySms": "mobilePhone", "twoWaySms": "mobilePhone",
		"phoneAppNotification": "microsoftAuthenticatorPush", "phoneAppOtp": "softwareOneTimePasscode",
		"twoWayVoiceMobile": "mobilePhone", "fido": "passKeyDeviceBound", "other": "hardwareOneTimePasscode",
	}
}

// defaultMethod is the defaultMfaMethod (enum defaultMfaMethodType) of a
// registered method.
func defaultMethod(method string) string {
	switch method {
	case "mobilePhone", "microsoftAuthenticatorPush", "softwareOneTimePasscode":
		return method
	}
	return "none"
}

// registeredShare is the share of users with an MFA method registered.
const registeredShare = 0.7

// userMFAType is user i's registered mfaType, or "".
func (t *tenant) userMFAType(i int) string {
	h := t.seed.str("registration").num(int64(i))
	if h.unit() >= registeredShare {
		return ""
	}
	types := mfaTypes()
	u := h.str("type").unit()
	for _, m := range types {
		if u < m.weight {
			return m.code
		}
		u -= m.weight
	}
	return types[len(types)-1].code
}

// person is a user's identity.
type person struct{ id, upn, name string }

func (t *tenant) user(i int) person {
	first := [...]string{"Ada", "Ben", "Chloé", "Dara", "Eli", "Fatima", "Gus", "Hana", "Ivan", "June", "Kofi", "Lena"}
	last := [...]string{"Adler", "Brown", "Costa", "Dubois", "Evans", "Fischer", "García", "Haddad", "Ito", "Jones"}
	h := t.seed.str("user").num(int64(i))
	f, l := first[h.str("first").pick(len(first))], last[h.str("last").pick(len(last))]
	local := strings.ToLower(f[:1]+strconv.Itoa(i)) + "." + strings.ToLower(strings.ReplaceAll(l, "í", "i"))
	return person{id: guid(h), upn: local + "@" + t.domain, name: f + " " + l}
}

// userLanguages are the languages of the userCount report with their
// share of users.
func userLanguages() []reasonWeight {
	return []reasonWeight{{"en-us", "", 0.45}, {"de-de", "", 0.15}, {"pt-br", "", 0.13}, {"en-gb", "", 0.1},
		{"fr-fr", "", 0.1}, {"he-il", "", 0.07}}
}

// languageCounts splits the users of p into the userCount rows.
func (g *gen) languageCounts(p period) []int64 {
	users := g.users(p)
	var out []int64
	for _, l := range userLanguages() {
		out = append(out, int64(math.Round(users*l.weight)))
	}
	return out
}

// userTotal is the tenant's number of users at the data clock: the sum of
// today's userCount rows.
func (g *gen) userTotal() int {
	var n int64
	for _, c := range g.languageCounts(g.day(g.today)) {
		n += c
	}
	return int(n)
}

// UserCount is what users/$count answers for tenantID at now: the sum over
// languages of the newest daily userCount row.
func UserCount(tenantID string, now time.Time) int64 {
	g := newGen(tenantID, now, true)
	return int64(g.userTotal())
}

// Users returns every user of tenantID's directory at now. A user's last
// successful sign-in is its newest successful sign-in event of the 30
// days up to now (whatever Options.LogRetention); users without one have a
// date drawn between 31 and 366 days before today, or none (a quarter of
// them), an approximation of the inactiveUsers report's shares only.
func Users(tenantID string, now time.Time) []User {
	g := newGen(tenantID, now, true)
	return g.directory(true)
}

// directory returns the users; withLast fills LastSuccessfulSignIn from
// the sign-ins of the 30 days up to now (g.dayEvents when set).
func (g *gen) directory(withLast bool) []User {
	last := map[string]time.Time{}
	for _, d := range logDays(g.now, 30*day) {
		if !withLast {
			break
		}
		var evs []SignInEvent
		if g.dayEvents != nil {
			evs = g.dayEvents(d)
		} else {
			evs = g.eventsOfDay(signInLog, d, latency{}).signIns
		}
		for _, e := range evs {
			if e.Status.ErrorCode == 0 && !e.CreatedDateTime.After(g.now) && e.CreatedDateTime.After(last[e.UserID]) {
				last[e.UserID] = e.CreatedDateTime
			}
		}
	}
	n := g.userTotal()
	methods := MFATypeMethods()
	out := make([]User, n)
	for i := range n {
		p := g.t.user(i)
		u := User{ID: p.id, UserPrincipalName: p.upn, DisplayName: p.name, MFAType: g.t.userMFAType(i)}
		h := g.t.seed.str("lastSignIn").num(int64(i))
		if t, ok := last[p.id]; ok {
			u.LastSuccessfulSignIn = t
		} else if x := h.unit(); withLast && x >= 0.25 {
			age := 31*day + time.Duration((x-0.25)/0.75*float64(335*day))
			u.LastSuccessfulSignIn = g.today.Add(-age).Truncate(time.Second)
		}
		reg := UserRegistration{ID: p.id, UserPrincipalName: p.upn, UserDisplayName: p.name, UserType: "member",
			MethodsRegistered: []string{}, DefaultMfaMethod: "none",
			LastUpdatedDateTime: g.today.Add(-time.Duration(h.str("updated").unit() * float64(400*day))).Truncate(time.Second)}
		if u.MFAType != "" {
			m := methods[u.MFAType]
			reg.IsMfaRegistered, reg.IsMfaCapable = true, true
			reg.MethodsRegistered = []string{m}
			reg.DefaultMfaMethod = defaultMethod(m)
		}
		u.Registration = reg
		out[i] = u
	}
	return out
}

// mfaTypeCounts counts the users at the data clock per registered mfaType.
func (g *gen) mfaTypeCounts() map[string]int64 {
	counts := map[string]int64{}
	for i := range g.userTotal() {
		if m := g.t.userMFAType(i); m != "" {
			counts[m]++
		}
	}
	return counts
}

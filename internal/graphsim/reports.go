package graphsim

import (
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// This file holds one builder per report: the rows of one period.

// builders maps every report of insights.Specs that Graph serves to its
// builder (a test checks that none is missing).
func builders() map[string]func(*gen, period) {
	return map[string]func(*gen, period){
		insights.ActiveUsers:                (*gen).activeUsers,
		insights.Authentications:            (*gen).authentications,
		insights.InactiveUsers:              (*gen).inactiveUsers,
		insights.InactiveUsersByApplication: (*gen).inactiveUsersByApplication,
		insights.MFACompletions:             (*gen).mfaCompletions,
		insights.MFATelecomFraud:            (*gen).mfaTelecomFraud,
		insights.MFARegisteredUsers:         (*gen).mfaRegisteredUsers,
		insights.Requests:                   (*gen).requests,
		insights.SignUps:                    (*gen).signUps,
		insights.Summary:                    (*gen).summary,
		insights.UserCount:                  (*gen).userCount,
	}
}

func (g *gen) activeUsers(p period) {
	for _, s := range g.segs {
		if g.idle(p, s) {
			continue
		}
		a := g.t.apps[s.app]
		f := fact{row: insights.Row{
			AppID: a.id, AppName: g.appName(a, p), OS: s.os.spell(insights.ActiveUsers),
			Country: s.country.code, Language: s.country.language, Count: g.active(p, s),
		}}
		switch {
		case s.os == osChromeOS && p.index%4 == 1: // a null count now and then
			f.row.Count, f.nulls = 0, []string{"count"}
		case s.app == 0 && s.os == osWindows:
			f.extra = true
		}
		g.add(p, f)
	}
}

func (g *gen) authentications(p period) {
	for _, s := range g.segs {
		if g.idle(p, s) {
			continue
		}
		a := g.t.apps[s.app]
		c := g.authCounts(p, s)
		f := fact{extra: s.app == 2, row: insights.Row{
			AppID: a.id, OS: s.os.spell(insights.Authentications), Country: s.country.code,
			Language: s.country.language, Browser: s.os.browser(), AuthFlow: "authorizationCode",
			IdentityProvider: s.idp, Attempts: c.attempts, Successes: c.successes,
			Failures: reasonList(c.reasons, authFailureReasons()),
		}}
		if a.native {
			f.row.Browser, f.row.AuthFlow = "", "nativeAuth"
		}
		// Graph dates some monthly rows on the 21st; the current month's
		// row keeps the 1st so that no row is dated in the future.
		if !g.daily && s.key.str("21st").unit() < 0.35 && p.fill == 1 {
			f.row.FactDate = p.start.AddDate(0, 0, 20)
		}
		g.add(p, f)
	}
}

// inactiveShares are the shares of all users inactive for a day (or the
// calendar month), 30, 60 and 90 days; the longer windows are subsets.
func inactiveShares() [4]float64 { return [4]float64{0.55, 0.3, 0.2, 0.14} }

func (g *gen) inactiveRow(p period, users float64, key hash) insights.Row {
	sh := inactiveShares()
	row := insights.Row{
		Inactive30Day: level(p, users*sh[1], key.str("30")),
		Inactive60Day: level(p, users*sh[2], key.str("60")),
		Inactive90Day: level(p, users*sh[3], key.str("90")),
	}
	if g.daily {
		row.Inactive1Day = level(p, users*sh[0], key.str("1"))
	} else {
		row.InactiveCalendarMonth = level(p, users*sh[0], key.str("month"))
	}
	return row
}

func (g *gen) inactiveUsers(p period) {
	// Graph's daily series of this report has gaps; keep the newest two
	// days so that the current period is always there.
	if g.daily && p.index%10 == 7 && p.start.Before(g.today.AddDate(0, 0, -1)) {
		return
	}
	users := g.users(p)
	g.add(p, fact{row: g.inactiveRow(p, users, g.t.seed.str("inactive")),
		nulls: []string{"appId"}, odataType: true})
}

func (g *gen) inactiveUsersByApplication(p period) {
	users := g.users(p)
	var total float64
	for _, a := range g.t.apps {
		total += a.weight
	}
	for i, a := range g.t.apps {
		row := g.inactiveRow(p, users*a.weight/total, g.t.seed.str("inactive").str(a.id))
		row.AppID = a.id
		g.add(p, fact{row: row, odataType: i%2 == 0})
	}
}

// mfaCompletions sums mfaPlan's rows of the period's days per app and
// method; the failures' reasons are split per day.
func (g *gen) mfaCompletions(p period) {
	type acc struct {
		m                   mfaRow
		attempts, successes int64
		reasons             []int64
	}
	type rowKey struct {
		seg    int
		method string
	}
	var order []rowKey
	sums := map[rowKey]*acc{}
	for _, day := range g.days(p) {
		for _, m := range g.mfaPlan(day) {
			k := rowKey{m.seg, m.method}
			a := sums[k]
			if a == nil {
				a = &acc{m: m, reasons: make([]int64, len(mfaFailureReasons()))}
				sums[k] = a
				order = append(order, k)
			}
			a.attempts += m.attempts
			a.successes += m.successes
			for i, n := range apportion(m.failed, reasonShares(mfaFailureReasons()), m.key.str("reasons").num(day.index)) {
				a.reasons[i] += n
			}
		}
	}
	for _, k := range order {
		a := sums[k]
		s := g.segs[a.m.seg]
		g.add(p, fact{row: insights.Row{
			AppID: g.t.apps[s.app].id, MFAMethod: a.m.method, OS: s.os.spell(insights.MFACompletions),
			Country: s.country.code, Language: s.country.language, IdentityProvider: s.idp,
			Attempts: a.attempts, Successes: a.successes, Failures: reasonList(a.reasons, mfaFailureReasons()),
		}})
	}
}

// The MFA failure spike: failures are SpikeFactor times the usual on the
// day SpikeDaysAgo days before today, in daily mfaCompletions.
const (
	SpikeDaysAgo = 3
	SpikeFactor  = 5
)

func (g *gen) mfaTelecomFraud(p period) {
	key := g.t.seed.str("telecom")
	shown := amount(p, g.size(10, 30), key.str("shown"))
	challenges := amount(p, g.size(14, 30), key.str("challenges"))
	passed := int64(float64(challenges) * 0.8)
	f := fact{row: insights.Row{
		CaptchaShownUsers: shown, CaptchaSuccesses: passed, CaptchaFailures: challenges - passed,
		CaptchaNotTriggeredUsers: amount(p, g.size(150, 30), key.str("clear")),
		TelecomBlockedUsers:      amount(p, g.size(1, 30), key.str("blocked")),
	}}
	if p.start.Weekday() == time.Sunday { // Graph sends null, not 0
		f.row.TelecomBlockedUsers, f.nulls = 0, []string{"telecomBlockedUserCount"}
	}
	g.add(p, f)
}

// mfaRegisteredUsers counts the directory's registrations in the current
// month (as userRegistrationDetails has them), and draws past months.
func (g *gen) mfaRegisteredUsers(p period) {
	users := g.users(p)
	var now map[string]int64
	if p.fill < 1 {
		now = g.mfaTypeCounts()
	}
	for _, m := range mfaTypes() {
		n := level(p, registeredShare*users*m.weight, g.t.seed.str("mfaType").str(m.code))
		if now != nil {
			n = now[m.code]
		}
		g.add(p, fact{row: insights.Row{MFAType: m.code, Count: n}})
	}
}

func (g *gen) requests(p period) {
	browsers := []string{"Chrome", "Edge", "Safari", "Firefox"}
	for ai, a := range g.t.apps {
		for k := range 3 {
			c := countries()[(ai+2*k+g.t.shift)%len(countries())]
			key := g.t.seed.str(a.id).str(c.code).str("requests")
			row := insights.Row{AppID: a.id, Country: c.code, Language: c.language,
				IdentityProvider: identityProvider(key), Browser: browsers[key.pick(len(browsers))],
				Count: amount(p, g.size(600, 30)*a.weight/3, key)}
			if a.native {
				row.Browser = ""
			}
			g.add(p, fact{row: row})
		}
	}
}

func (g *gen) signUps(p period) {
	for _, s := range g.segs {
		a := g.t.apps[s.app]
		if s.app == len(g.t.apps)-1 { // nobody signs up to the admin portal
			continue
		}
		f := fact{row: insights.Row{
			AppID: a.id, OS: s.os.spell(insights.SignUps), Browser: s.os.browser(),
			Country: s.country.code, Language: s.country.language, IdentityProvider: s.idp,
			Count: g.signUpCount(p, s),
		}}
		if a.native {
			f.nulls = []string{"browser"}
			f.row.Browser = ""
		}
		g.add(p, f)
	}
}

func (g *gen) summary(p period) {
	for _, s := range g.segs {
		if g.idle(p, s) {
			continue
		}
		a := g.t.apps[s.app]
		requests, completions := g.signIns(p, s)
		text := amount(p, g.size(10, 30)*g.t.weight(s), s.key.str("sms"))
		row := insights.Row{
			AppID: a.id, OS: s.os.spell(insights.Summary), ActiveUsers: g.active(p, s),
			AuthenticationRequests: requests, AuthenticationCompletions: completions,
			SecurityTextRequests: text, SecurityTextCompletions: successesOf(text, 0.9, s.key.str("smsPhase").unit()),
		}
		f := fact{row: row}
		if a.native { // no voice calls in the mobile app: Graph sends nulls
			f.nulls = []string{"securityVoiceRequests", "securityVoiceCompletions"}
		} else {
			voice := amount(p, g.size(5, 30)*g.t.weight(s), s.key.str("voice"))
			f.row.SecurityVoiceRequests = voice
			f.row.SecurityVoiceCompletions = successesOf(voice, 0.8, s.key.str("voicePhase").unit())
		}
		g.add(p, f)
	}
}

func (g *gen) userCount(p period) {
	counts := g.languageCounts(p)
	for i, l := range userLanguages() {
		g.add(p, fact{row: insights.Row{Language: l.code, Count: counts[i]}})
	}
}

// signUpRate is a segment's daily rate of successful sign-ups.
func (g *gen) signUpRate(day period, s segment) float64 {
	return rate(day, baseSignUps*g.t.scale*g.t.weight(s), s.key.str("signUp"))
}

// signUpCount is a segment's successful sign-ups in p: the sum of its days.
func (g *gen) signUpCount(p period, s segment) int64 {
	var n int64
	for _, day := range g.days(p) {
		n += countAt(g.signUpRate(day, s), day.fill)
	}
	return n
}

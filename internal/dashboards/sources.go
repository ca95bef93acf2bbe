package dashboards

import (
	"fmt"
	"slices"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

// Most metrics come from both sources (README, "The logs source"): the logs
// source (the default) rebuilds them from the sign-in and sign-up logs, and
// the userinsights source reads the retired reports. A few come from one
// source only, and their panels say so:
//
//   - userinsights only (the summary report's SMS and voice MFA requests,
//     CAPTCHA and telecom fraud protection): the logs hold nothing like
//     them. Their panels sit in one collapsed row at the end of the
//     dashboard, userInsightsRow, so a logs tenant never meets a silently
//     empty panel among the others.
//   - logs only (the sign-up funnel, failed sign-up steps by stage, sign-in
//     interrupts): the retired reports had no such figures. Their panels
//     are among the others, since logs is the default source.
//
// The tests hold the list of those metrics and check both the placement and
// the notes (sources_test.go), and run every panel against the demo of each
// source that feeds it (e2e_test.go).

// userInsightsRow is the title of the collapsed row of userinsights-only
// panels.
const userInsightsRow = "Retired User Insights API only (userinsights source)"

// Notes ending the description of a panel that one source only feeds.
const (
	userInsightsOnly = " userinsights source only: the retired User Insights API (Graph's reports/userInsights, retired on 31 August 2026) had this report;" +
		" the sign-in and sign-up logs have nothing like it, so for a tenant on the logs source (the default) this panel stays empty."
	logsOnly = " logs source only: the retired User Insights API had no such figure, so for a tenant on the userinsights source this panel stays empty."
)

// userInsightsPanels returns the collapsed row of userinsights-only panels,
// led by a stat that counts the selected tenants on that source and says
// why the row is apart (a row has no description of its own).
func (g gen) userInsightsPanels(panels ...cog.Builder[dashboard.Panel]) *dashboard.RowBuilder {
	r := row(userInsightsRow).
		Collapsed(true).
		WithPanel(statPanel("Tenants on the userinsights source",
			"The panels of this row read reports of the retired User Insights API that the sign-in and sign-up logs have nothing like,"+
				" so only tenants on the userinsights source export them; for tenants on the logs source (the default) they stay empty."+
				" This counts the selected tenants on the userinsights source: 0 means the row has nothing to show.",
			unitCount, instantQuery(fmt.Sprintf("count(%s)", g.latest(tenantInfo, `source="userinsights"`)), "Tenants")).
			NoValue("0"))
	for _, p := range panels {
		r = r.WithPanel(p)
	}
	return r
}

// stepLabel is the label inStageOrder adds.
const stepLabel = "step"

// inStageOrder adds to each series of expr, which has a stage label, its
// stage's place in insights.SignUpStages ("1", "2", …; "9" for a stage
// Graph adds later), for a panel to sort by.
func inStageOrder(expr string) string {
	expr = `label_replace(` + expr + `, "` + stepLabel + `", "9", "stage", ".*")`
	for i, s := range insights.SignUpStages() {
		expr = fmt.Sprintf(`label_replace(%s, "%s", "%d", "stage", "%s")`, expr, stepLabel, i+1, s)
	}
	return expr
}

// stagesNote lists the stages of a flow up to the user's creation for
// descriptions: "a, b, …, then userCreation".
func stagesNote() string {
	stages := insights.SignUpStages()
	stages = stages[:slices.Index(stages, insights.SignUpCreatesUser)]
	return strings.Join(stages, ", ") + ", then " + insights.SignUpCreatesUser
}

// Package dashboards generates the Grafana dashboards shipped in
// grafana-dashboards/ with the Grafana Foundation SDK, and lists their
// queries for the tests that run them against a real Prometheus.
//
// The committed JSON is this package's output: `go test
// ./internal/dashboards/ -update` rewrites it, and the same test fails when
// the two differ. The PromQL follows the README's data semantics ("What a value means"); promql.go
// explains the building blocks.
package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Tag is shared by every dashboard; their links list the dashboards with it.
const Tag = "entra-insights"

// File is a generated dashboard and the file name it is committed under in
// grafana-dashboards/.
type File struct {
	Name      string
	Dashboard dashboard.Dashboard
}

// All builds the four dashboards with the default configuration, as
// committed in grafana-dashboards/.
func All() ([]File, error) {
	return Generate(DefaultConfig())
}

// Generate builds the four dashboards with the given configuration.
func Generate(c Config) ([]File, error) {
	g, err := newGen(c)
	if err != nil {
		return nil, err
	}
	builders := []struct {
		name  string
		build func() *dashboard.DashboardBuilder
	}{
		{"users.json", g.users},
		{"requests.json", g.requests},
		{"authentications.json", g.authentications},
		{"exporter-health.json", g.exporterHealth},
	}
	files := make([]File, 0, len(builders))
	for _, b := range builders {
		d, err := b.build().Build()
		if err != nil {
			return nil, fmt.Errorf("build %s: %w", b.name, err)
		}
		numberPanels(&d)
		files = append(files, File{Name: b.name, Dashboard: d})
	}
	return files, nil
}

// Marshal renders a dashboard as the committed file: indented JSON ending in
// a newline, with <, > and & left readable in PromQL.
func Marshal(d dashboard.Dashboard) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("marshal dashboard %s: %w", deref(d.Uid), err)
	}
	return buf.Bytes(), nil
}

// newDashboard starts a dashboard with the conventions all four share:
// stable uid, shared tag and links, read-only, UTC (Grafana aligns query
// steps to the dashboard's time zone, and the data's days are UTC days),
// and the datasource, job (if the scope uses it) and tenant variables.
func (g gen) newDashboard(uid, title, description, from, refresh string) *dashboard.DashboardBuilder {
	b := dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(description).
		Tags([]string{Tag}).
		Readonly().
		Timezone(common.TimeZoneUtc).
		Time(from, "now").
		Refresh(refresh).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Link(dashboard.NewDashboardLinkBuilder("Entra insights").
			Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{Tag}).
			AsDropdown(false).
			IncludeVars(true).
			Icon("external link").
			Tooltip("The other Entra insights dashboards")).
		WithVariable(datasourceVariable())
	if g.jobVariable {
		b = b.WithVariable(jobVariable())
	}
	return b.WithVariable(g.tenantVariable())
}

func datasourceVariable() *dashboard.DatasourceVariableBuilder {
	return dashboard.NewDatasourceVariableBuilder("datasource").
		Label("Data source").
		Description("The Prometheus that scrapes entra_insights_exporter.").
		Type("prometheus")
}

// jobVariable offers the scrape jobs that expose the exporter's tenants.
// "All" is ".*", not dashboard-linter's ".+": a backfill written without
// --backfill.label=job=… has no job label, and its history would vanish.
func jobVariable() *dashboard.QueryVariableBuilder {
	return queryVariable("job", "Job",
		"Scrape jobs to read. A tenant exported by several jobs or instances counts once.",
		"label_values("+tenantInfo+", job)", "")
}

// tenantVariable offers the tenants of the selected scope.
func (g gen) tenantVariable() *dashboard.QueryVariableBuilder {
	return queryVariable("tenant", "Tenant",
		"Tenants to show; panels add up the selected tenants.",
		"label_values("+tenantInfo+g.braces()+", tenant)", "")
}

// appVariable offers the applications of the selected tenants by name; the
// value is the app id the data metrics carry. once drops the scrape
// labels, so the regex sees app_id, app_name and tenant, in that order.
func (g gen) appVariable() *dashboard.QueryVariableBuilder {
	return queryVariable("app", "Application",
		"Applications to show. Reports without an app_id label (inactive users, MFA failures, sign-up flows, telecom fraud, monthly authentications) ignore it.",
		"query_result("+g.latest(appInfo)+")",
		`/app_id="(?<value>[^"]*)".*app_name="(?<text>[^"]*)"/`)
}

// queryVariable is a multi-value variable with "All" (matching any value,
// also ones that appear after the dashboard loaded).
func queryVariable(name, label, description, query, regex string) *dashboard.QueryVariableBuilder {
	all := "$__all"
	allText := "All"
	v := dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Description(description).
		Query(dashboard.StringOrMap{String: &query}).
		Definition(query).
		Datasource(datasourceRef()).
		Multi(true).
		IncludeAll(true).
		AllValue(".*").
		Current(dashboard.VariableOption{
			Text:  dashboard.StringOrArrayOfString{ArrayOfString: []string{allText}},
			Value: dashboard.StringOrArrayOfString{ArrayOfString: []string{all}},
		}).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalCaseInsensitiveAsc)
	if regex != "" {
		v = v.Regex(regex)
	}
	return v
}

// datasourceRef points panels and queries at the datasource variable.
func datasourceRef() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}
}

// numberPanels gives every panel (rows' too) a stable id in layout order,
// so links to a panel survive regeneration.
func numberPanels(d *dashboard.Dashboard) {
	id := uint32(0)
	for _, p := range d.Panels {
		switch {
		case p.Panel != nil:
			id++
			p.Panel.Id = cog.ToPtr(id)
		case p.RowPanel != nil:
			id++
			p.RowPanel.Id = id
			for i := range p.RowPanel.Panels {
				id++
				p.RowPanel.Panels[i].Id = cog.ToPtr(id)
			}
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

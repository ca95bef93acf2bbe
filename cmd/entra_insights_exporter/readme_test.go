package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/entra-insights/entra_insights_exporter/collector"
	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/source/logs"
	"github.com/entra-insights/entra_insights_exporter/internal/source/registry"
)

var update = flag.Bool("update", false, "rewrite the generated sections of README.md")

const readmePath = "../../README.md"

// TestREADMEIsCurrent keeps the README's metric catalog and flag list equal
// to what the code exposes; -update rewrites them.
func TestREADMEIsCurrent(t *testing.T) {
	t.Parallel()
	in := launch(t, "--demo")
	// Every report either source produces, with both sources' families:
	// the catalog names the sources of each and gives each one's help.
	families, err := collector.Families(collector.Config{Reports: insights.KnownReports(), Families: registry.Families()})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range logs.HealthMetrics() { // some are absent until a read fails
		families = append(families, collector.Family{Name: f.Name, Type: f.Type, Help: f.Help, Labels: slices.Sorted(slices.Values(f.Labels))})
	}
	in.waitUp(t, 1)
	// Every data family has series once the demo's logs are caught up (a
	// first refresh may run out of time with days to go, as under -race).
	catalog := renderCatalog(in.waitScrape(t, logsReadTimeout, "the demo's logs read to within an hour", logsNearNow), families)
	_, help, _ := runCLI(t, t.Context(), "--help")
	_, serveHelp, _ := runCLI(t, t.Context(), "serve", "--help")
	_, backfillHelp, _ := runCLI(t, t.Context(), "backfill", "--help")
	flags := "```text\n" + strings.TrimSpace(help) + "\n```\n\n`serve` (the default command) adds:\n\n```text\n" +
		strings.TrimSpace(commandOnly(serveHelp, "--web.")) + "\n```\n\n`backfill` adds:\n\n```text\n" +
		strings.TrimSpace(commandOnly(backfillHelp, "--backfill.")) + "\n```\n"

	data, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	want := replaceSection(t, readme, "METRICS", catalog)
	want = replaceSection(t, want, "HELP", flags)
	if want == readme {
		return
	}
	if *update {
		if err := os.WriteFile(readmePath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md is out of date with the code; run: go test ./cmd/entra_insights_exporter -run TestREADME -update\n%s",
		lineDiff(readme, want))
}

// commandOnly keeps the flags of a command's --help whose names start with
// prefix: the ones specific to that command.
func commandOnly(help, prefix string) string {
	var out []string
	keep := false
	for _, line := range strings.Split(help, "\n") {
		// A flag starts within the first columns; its help is indented further.
		if flag := strings.TrimSpace(line); strings.HasPrefix(flag, "-") && len(line)-len(strings.TrimLeft(line, " ")) < 10 {
			keep = strings.HasPrefix(flag, prefix)
		}
		if keep && strings.HasPrefix(line, "    ") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

func replaceSection(t *testing.T, doc, name, body string) string {
	t.Helper()
	begin, end := "<!-- BEGIN GENERATED "+name+" -->\n", "<!-- END GENERATED "+name+" -->"
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %q … %q markers", begin, end)
	}
	return doc[:i+len(begin)] + body + doc[j:]
}

// renderCatalog renders the entra_insights_ families as a Markdown table:
// those of a demo scrape (the logs source) and those of the collector's
// catalog that only the userinsights source produces, with the report, the
// optional labels, the sources of the data metrics and each source's help.
func renderCatalog(families map[string]*dto.MetricFamily, catalog []collector.Family) string {
	byName := map[string]collector.Family{}
	for _, f := range catalog {
		byName[f.Name] = f
	}
	var names []string
	for name := range families {
		if strings.HasPrefix(name, "entra_insights_") {
			names = append(names, name)
		}
	}
	for name := range byName {
		if _, scraped := families[name]; !scraped {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteString("| Metric | Type | Labels | Optional labels | Report | Sources | Meaning |\n|---|---|---|---|---|---|---|\n")
	for _, name := range names {
		c := byName[name]
		typ, help, keys := c.Type, c.Help, []string{}
		for _, l := range c.Labels {
			keys = append(keys, "`"+l+"`")
		}
		if f, ok := families[name]; ok {
			typ = strings.ToLower(f.GetType().String())
			if c.Name == "" { // not a data family: the demo's help is its own
				help = f.GetHelp()
			}
			labels := map[string]bool{}
			for _, m := range f.Metric {
				for _, lp := range m.Label {
					labels[lp.GetName()] = true
				}
			}
			keys = keys[:0]
			for k := range labels {
				keys = append(keys, "`"+k+"`")
			}
		}
		slices.Sort(keys)
		help = strings.ReplaceAll(help, "|", `\|`)
		var optional []string
		for _, l := range c.Optional {
			optional = append(optional, "`"+l+"`")
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s | %s |\n", name, typ,
			strings.Join(keys, ", "), strings.Join(optional, ", "), c.Report, strings.Join(c.Sources, ", "), help)
	}
	return b.String()
}

// lineDiff returns the lines only in a (-) and only in b (+).
func lineDiff(a, b string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for l := range strings.Lines(s) {
			m[l] = true
		}
		return m
	}
	inA, inB := in(a), in(b)
	var out strings.Builder
	for l := range strings.Lines(a) {
		if !inB[l] {
			out.WriteString("- " + l)
		}
	}
	for l := range strings.Lines(b) {
		if !inA[l] {
			out.WriteString("+ " + l)
		}
	}
	return out.String()
}

// logsNearNow reports whether both event logs have been read to within an
// hour of now.
func logsNearNow(families map[string]*dto.MetricFamily) bool {
	lag := families["entra_insights_logs_lag_seconds"]
	if lag == nil || len(lag.GetMetric()) != 2 {
		return false
	}
	for _, m := range lag.GetMetric() {
		if m.GetGauge().GetValue() >= 3600 {
			return false
		}
	}
	return true
}

package collector

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

func TestConfigValidate(t *testing.T) {
	dailyActive := insights.Report{Granularity: insights.Daily, Name: insights.ActiveUsers}
	tests := []struct {
		name    string
		cfg     Config
		wantErr []string // substrings; none means valid
	}{
		{name: "zero value uses defaults", cfg: Config{}},
		{name: "every report with dimensions", cfg: Config{
			Reports: insights.AllReports(),
			Dimensions: map[insights.Report][]string{
				dailyActive: {"country", "language"},
				{Granularity: insights.Monthly, Name: insights.Authentications}: {"browser", "auth_flow"},
				{Granularity: insights.Daily, Name: insights.UserCount}:         {},
			},
		}},
		{name: "unknown label", cfg: Config{Dimensions: map[insights.Report][]string{dailyActive: {"colour"}}},
			wantErr: []string{`dimensions: "daily/activeUsers": unknown label "colour" (valid: app_id, os, country, language)`}},
		{name: "structural label is not a dimension",
			cfg:     Config{Dimensions: map[insights.Report][]string{{Granularity: insights.Daily, Name: insights.Authentications}: {"result"}}},
			wantErr: []string{`dimensions: "daily/authentications": unknown label "result"`}},
		{name: "report without dimensions",
			cfg:     Config{Dimensions: map[insights.Report][]string{{Granularity: insights.Daily, Name: insights.InactiveUsers}: {"app_id"}}},
			wantErr: []string{`dimensions: "daily/inactiveUsers": unknown label "app_id" (valid: none)`}},
		{name: "label twice", cfg: Config{Dimensions: map[insights.Report][]string{dailyActive: {"os", "os"}}},
			wantErr: []string{`dimensions: "daily/activeUsers": label "os" listed twice`}},
		{name: "unknown dimension report",
			cfg:     Config{Dimensions: map[insights.Report][]string{{Granularity: insights.Daily, Name: insights.Requests}: {"app_id"}}},
			wantErr: []string{`dimensions: "daily/requests": unknown report`}},
		{name: "unknown report", cfg: Config{Reports: []insights.Report{{Granularity: insights.Monthly, Name: "userCount"}}},
			wantErr: []string{`reports: unknown report "monthly/userCount"`}},
		{name: "report twice", cfg: Config{Reports: []insights.Report{dailyActive, dailyActive}},
			wantErr: []string{`reports: "daily/activeUsers" listed twice`}},
		{name: "negative durations", cfg: Config{RefreshInterval: -time.Second, RefreshTimeout: -1, MaxAge: -time.Minute},
			wantErr: []string{"refresh_interval: must not be negative", "refresh_timeout: must not be negative", "max_age: must not be negative, got -1m0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := withFamilies(tt.cfg).Validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				if _, err := NewCatalog(withFamilies(tt.cfg)); err != nil {
					t.Fatalf("NewCatalog(withFamilies()) = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors containing %q", tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate() = %q, want it to contain %q", err, want)
				}
			}
			if _, err := NewCatalog(withFamilies(tt.cfg)); err == nil {
				t.Errorf("NewCatalog(withFamilies()) accepted an invalid config")
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	got := Config{}.withDefaults()
	if !slices.Equal(got.Reports, insights.DefaultReports()) || got.RefreshInterval != 5*time.Minute ||
		got.RefreshTimeout != 2*time.Minute || got.MaxAge != time.Hour {
		t.Errorf("withDefaults() = %+v", got)
	}
	set := Config{Reports: []insights.Report{}, RefreshInterval: time.Minute}.withDefaults()
	if len(set.Reports) != 0 || set.RefreshInterval != time.Minute {
		t.Errorf("withDefaults() replaced set values: %+v", set)
	}
}

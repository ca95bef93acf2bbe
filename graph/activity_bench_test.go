package graph_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
)

// BenchmarkSignInsIngest reads a day of sign-ins (1000-event pages) from
// the simulator through the real path (TLS token, our transport, the SDK's
// decode, the mapping to plain events) and, beside it, decodes the same
// pages' bodies with encoding/json into a plain struct of the same fields:
// events/s of each, and the ratio, tell what the SDK's decode costs.
func BenchmarkSignInsIngest(b *testing.B) {
	sim, c, _ := simClient(b, nil)
	day := fixedNow().Truncate(24 * time.Hour)
	from, to := day.Add(-24*time.Hour), day
	var events int
	b.Run("sdk", func(b *testing.B) {
		for b.Loop() {
			events = 0
			if err := c.SignIns(b.Context(), from, to, false, func(page []insights.SignIn) error {
				events += len(page)
				return nil
			}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	if events < 500 {
		b.Fatalf("only %d events in the day; the benchmark would measure little", events)
	}
	// The same pages, fetched once, decoded with encoding/json.
	var bodies [][]byte
	client := sim.Client()
	next := sim.GraphURL + "/auditLogs/signIns?$top=1000&$filter=" + url.QueryEscape(
		"createdDateTime ge "+from.Format(time.RFC3339)+" and createdDateTime lt "+to.Format(time.RFC3339))
	token := simToken(b, sim)
	for next != "" {
		req, _ := http.NewRequest(http.MethodGet, next, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		bodies = append(bodies, body)
		var page struct {
			Next string `json:"@odata.nextLink"`
		}
		_ = json.Unmarshal(body, &page)
		next = page.Next
	}
	b.Run("encoding-json", func(b *testing.B) {
		n := 0
		for b.Loop() {
			n = 0
			for _, body := range bodies {
				var page struct {
					Value []graphsim.SignInEvent `json:"value"`
				}
				if err := json.Unmarshal(body, &page); err != nil {
					b.Fatal(err)
				}
				n += len(page.Value)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

// simToken gets an access token from the simulator's token service, as
// azidentity does for a client secret.
func simToken(b *testing.B, sim *graphsim.Sim) string {
	b.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {sim.ClientID},
		"client_secret": {sim.ClientSecret}, "scope": {"https://graph.microsoft.com/.default"}}
	resp, err := sim.Client().PostForm(sim.AuthorityHost+sim.TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		b.Fatalf("token: %v (status %d)", err, resp.StatusCode)
	}
	return tok.AccessToken
}

// Package graphsimtest starts the Graph simulator for tests, as
// net/http/httptest does for net/http, and builds Graph clients of it: it
// keeps package testing out of graphsim, which the exporter's demo mode
// links into the binary. Package graph's own in-package tests cannot use
// it (it imports graph); its external tests (graph_test) can.
package graphsimtest

import (
	"testing"

	"github.com/entra-insights/entra_insights_exporter/graph"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
)

// Start starts a simulator for a test on 127.0.0.1 and closes it when the
// test ends.
func Start(t testing.TB, opts graphsim.Options) *graphsim.Sim {
	t.Helper()
	s, err := graphsim.Listen(t.Context(), "127.0.0.1:0", opts)
	if err != nil {
		t.Fatalf("start graphsim: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// NewForeignServer starts a ForeignServer of s that lives until the test
// ends.
func NewForeignServer(t testing.TB, s *graphsim.Sim) *graphsim.ForeignServer {
	t.Helper()
	f, err := s.ListenForeign()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

// Config is a graph.Config of a client of s: tenant name "contoso", the
// simulator's tenant, client and secret (auth mode auto, which picks the
// secret), its authority host, Graph URL and CAs, and no request budget.
// edit, when not nil, changes it.
func Config(s *graphsim.Sim, edit func(*graph.Config)) graph.Config {
	cfg := graph.Config{
		TenantName: "contoso", TenantID: s.TenantID, ClientID: s.ClientID, ClientSecret: s.ClientSecret,
		AuthorityHost: s.AuthorityHost, GraphURL: s.GraphURL, RootCAs: s.CertPool, DisableBudget: true,
	}
	if edit != nil {
		edit(&cfg)
	}
	return cfg
}

// Client is a graph.Client of Config(s, edit) with deps.
func Client(t testing.TB, s *graphsim.Sim, edit func(*graph.Config), deps graph.Deps) *graph.Client {
	t.Helper()
	c, err := graph.NewClient(Config(s, edit), deps)
	if err != nil {
		t.Fatalf("graph client of graphsim: %v", err)
	}
	return c
}

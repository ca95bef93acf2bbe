// Package graphsimtest starts the Graph simulator for tests, as
// net/http/httptest does for net/http: it keeps package testing out of
// graphsim, which the exporter's demo mode links into the binary.
package graphsimtest

import (
	"testing"

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

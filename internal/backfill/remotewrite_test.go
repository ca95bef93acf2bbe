package backfill

import (
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/entra-insights/entra_insights_exporter/collector"
	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/internal/source/registry"
)

// decodedSeries is one TimeSeries read back from a WriteRequest.
type decodedSeries struct {
	labels  map[string]string
	samples []sample
}

// fields splits a protobuf message into (field number, bytes or number).
func fields(t *testing.T, b []byte, each func(num protowire.Number, typ protowire.Type, v []byte, n uint64)) {
	t.Helper()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag")
		}
		b = b[n:]
		switch typ {
		case protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			each(num, typ, v, 0)
			b = b[m:]
		case protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			each(num, typ, nil, v)
			b = b[m:]
		case protowire.Fixed64Type:
			v, m := protowire.ConsumeFixed64(b)
			each(num, typ, nil, v)
			b = b[m:]
		default:
			t.Fatalf("unexpected wire type %v", typ)
		}
	}
}

func decodeWriteRequest(t *testing.T, body []byte) []decodedSeries {
	var out []decodedSeries
	fields(t, body, func(_ protowire.Number, _ protowire.Type, ts []byte, _ uint64) {
		s := decodedSeries{labels: map[string]string{}}
		fields(t, ts, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) {
			switch num {
			case 1:
				var name, value string
				fields(t, v, func(n protowire.Number, _ protowire.Type, b []byte, _ uint64) {
					if n == 1 {
						name = string(b)
					} else {
						value = string(b)
					}
				})
				s.labels[name] = value
			case 2:
				var smp sample
				fields(t, v, func(n protowire.Number, _ protowire.Type, _ []byte, x uint64) {
					if n == 1 {
						smp.value = math.Float64frombits(x)
					} else {
						smp.at = time.UnixMilli(int64(x)).UTC()
					}
				})
				s.samples = append(s.samples, smp)
			}
		})
		out = append(out, s)
	})
	return out
}

// TestSendMatchesWrite: the remote-write path sends exactly the samples the
// OpenMetrics path writes, in order, with the protocol's headers.
func TestSendMatchesWrite(t *testing.T) {
	tenants := []TenantData{simTenant(t, now, false)}
	opts := Options{Step: 6 * time.Hour, End: now, Now: now, Labels: []collector.Label{{Name: "job", Value: "entra_insights"}}}
	text, wantStats := write(t, tenants, opts)
	want := map[string]int{}
	for _, s := range parse(t, text) {
		want[s.series]++
	}

	var mu sync.Mutex
	got := map[string]int{}
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Encoding") != "snappy" || r.Header.Get("Content-Type") != "application/x-protobuf" ||
			r.Header.Get("X-Prometheus-Remote-Write-Version") != "0.1.0" || r.Header.Get("X-Scope-OrgID") != "team-a" {
			http.Error(w, "bad headers", http.StatusBadRequest)
			return
		}
		compressed, _ := io.ReadAll(r.Body)
		body, err := snappy.Decode(nil, compressed)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		requests++
		for _, s := range decodeWriteRequest(t, body) {
			var parts []string
			for _, l := range sortedKeys(s.labels) {
				if l != "__name__" {
					parts = append(parts, l+`="`+escape(s.labels[l])+`"`)
				}
			}
			key := s.labels["__name__"] + "{" + strings.Join(parts, ",") + "}"
			for i := 1; i < len(s.samples); i++ {
				if !s.samples[i].at.After(s.samples[i-1].at) {
					t.Errorf("%s: samples out of order", key)
				}
			}
			got[key] += len(s.samples)
		}
	}))
	defer srv.Close()

	catalog, _ := collector.NewCatalog(collector.Config{Families: registry.Families(insights.SourceUserInsights)})
	stats, err := Send(t.Context(), RemoteWrite{URL: srv.URL, Headers: map[string]string{"X-Scope-OrgID": "team-a"}}, catalog, tenants, opts)
	if err != nil {
		t.Fatal(err)
	}
	if stats != wantStats {
		t.Errorf("Send stats %+v, Write stats %+v", stats, wantStats)
	}
	if len(got) != len(want) {
		t.Errorf("remote write sent %d series, OpenMetrics has %d", len(got), len(want))
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d samples sent, %d written", k, got[k], n)
		}
	}
	t.Logf("%d series, %d samples in %d requests", stats.Series, stats.Samples, requests)
}

func TestSendReportsRejection(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "out of bounds", http.StatusBadRequest)
	}))
	defer srv.Close()
	catalog, _ := collector.NewCatalog(collector.Config{Families: registry.Families(insights.SourceUserInsights)})
	_, err := Send(t.Context(), RemoteWrite{URL: srv.URL}, catalog, []TenantData{simTenant(t, now, false)}, Options{Step: time.Hour, End: now, Now: now})
	if err == nil || !strings.Contains(err.Error(), "out of bounds") {
		t.Fatalf("err = %v, want the receiver's message", err)
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

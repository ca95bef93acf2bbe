package graph_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	jsonserialization "github.com/microsoft/kiota-serialization-json-go"
	"github.com/microsoftgraph/msgraph-beta-sdk-go/models"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/entra-insights/entra_insights_exporter/graph"
	"github.com/entra-insights/entra_insights_exporter/graph/insights"
	"github.com/entra-insights/entra_insights_exporter/graph/transport"
	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim/graphsimtest"
)

// BenchmarkSignInsIngest reads a day of the simulator's sign-ins as Graph
// sends them by default: $select refused, so full objects (≈ 3.5 KB each,
// the properties of Microsoft's example response), 1,000 to a page. It
// compares, per event:
//
//   - client: the whole path of graph.Client (TLS on loopback, our
//     transport, the SDK's request adapter and decode, the mapping to
//     insights.SignIn). A caching proxy in front of the simulator answers
//     every page after the first pass from memory, so the simulator's own
//     cost is not counted;
//   - sdk-decode: the SDK's decode alone (kiota's JSON parse node into
//     models.SignInCollectionResponse, then the getters the mapping reads)
//     of the same page bodies;
//   - encoding-json: encoding/json of the same bodies into a small struct
//     of the fields the exporter reads.
//
// Each reports ns/event, B/event (bytes allocated) and body-B/event;
// client also page-heap-MiB, the most heap in use above what it was before
// the reads, sampled as each page is handed over (the SDK's objects of the
// page and what the collector has not collected yet).
//
//	go test ./graph -run '^$' -bench BenchmarkSignInsIngest -benchtime 20x -count 3
func BenchmarkSignInsIngest(b *testing.B) {
	sim := graphsimtest.Start(b, graphsim.Options{Now: fixedNow})
	proxy := newCachingProxy(b, sim)
	pool := sim.CertPool.Clone()
	pool.AddCert(proxy.Certificate())
	c := graphsimtest.Client(b, sim, func(c *graph.Config) {
		c.AuthMode, c.Cloud = azconf.AuthClientSecret, azconf.DefaultCloud
		c.GraphURL, c.RootCAs = proxy.URL+"/beta", pool
	}, graph.Deps{Metrics: transport.NewMetrics(prometheus.NewRegistry())})
	day := fixedNow().Truncate(24 * time.Hour)
	from, to := day.Add(-24*time.Hour), day.Add(-time.Second)
	read := func() int {
		n := 0
		if err := c.SignIns(b.Context(), from, to, false, func(page []insights.SignIn) error {
			n += len(page)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		return n
	}
	events := read() // fills the proxy's cache
	bodies := proxy.signInBodies()
	size := 0
	for _, body := range bodies {
		size += len(body)
	}
	if events < 500 || len(bodies) < 2 {
		b.Fatalf("%d events in %d pages in the day; the benchmark would measure little", events, len(bodies))
	}
	perEvent := func(b *testing.B, run func() int) {
		b.ReportAllocs()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		n := 0
		for b.Loop() {
			n += run()
		}
		runtime.ReadMemStats(&after)
		if n == 0 {
			b.Fatal("no events")
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
		b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(n), "B/event")
		b.ReportMetric(float64(size)/float64(events), "body-B/event")
	}
	b.Run("client", func(b *testing.B) {
		runtime.GC()
		base, peak := heapInUse(), uint64(0)
		perEvent(b, func() int {
			n := 0
			if err := c.SignIns(b.Context(), from, to, false, func(page []insights.SignIn) error {
				n += len(page)
				peak = max(peak, heapInUse())
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			if n != events {
				b.Fatalf("%d events, want %d", n, events)
			}
			return n
		})
		b.ReportMetric(float64(peak-min(base, peak))/(1<<20), "page-heap-MiB")
	})
	b.Run("sdk-decode", func(b *testing.B) {
		perEvent(b, func() int {
			n := 0
			for _, body := range bodies {
				node, err := jsonserialization.NewJsonParseNode(body)
				if err != nil {
					b.Fatal(err)
				}
				v, err := node.GetObjectValue(models.CreateSignInCollectionResponseFromDiscriminatorValue)
				if err != nil {
					b.Fatal(err)
				}
				for _, item := range v.(models.SignInCollectionResponseable).GetValue() {
					n += readSDKSignIn(item)
				}
			}
			return n
		})
	})
	b.Run("encoding-json", func(b *testing.B) {
		perEvent(b, func() int {
			n := 0
			for _, body := range bodies {
				var page struct {
					Value []smallSignIn `json:"value"`
				}
				if err := json.Unmarshal(body, &page); err != nil {
					b.Fatal(err)
				}
				n += len(page.Value)
			}
			return n
		})
	})
}

// heapInUse is the heap's bytes in objects and in spans partly used.
func heapInUse() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}

// readSDKSignIn reads what graph's mapping reads of an SDK sign-in; it
// returns 1 for a usable one.
func readSDKSignIn(item models.SignInable) int {
	if item == nil || item.GetId() == nil || item.GetCreatedDateTime() == nil {
		return 0
	}
	_, _, _ = item.GetUserId(), item.GetAppId(), item.GetAppDisplayName()
	_, _ = item.GetIsInteractive(), item.GetSignInEventTypes()
	if st := item.GetStatus(); st != nil {
		_ = st.GetErrorCode()
	}
	if d := item.GetDeviceDetail(); d != nil {
		_, _ = d.GetOperatingSystem(), d.GetBrowser()
	}
	if l := item.GetLocation(); l != nil {
		_ = l.GetCountryOrRegion()
	}
	_ = item.GetAuthenticationRequirement()
	for _, d := range item.GetAuthenticationDetails() {
		_, _ = d.GetAuthenticationMethod(), d.GetSucceeded()
	}
	return 1
}

// smallSignIn is the part of a sign-in the exporter reads.
type smallSignIn struct {
	ID               string    `json:"id"`
	Created          time.Time `json:"createdDateTime"`
	UserID           string    `json:"userId"`
	AppID            string    `json:"appId"`
	AppName          string    `json:"appDisplayName"`
	IsInteractive    *bool     `json:"isInteractive"`
	SignInEventTypes []string  `json:"signInEventTypes"`
	Status           struct {
		ErrorCode int64 `json:"errorCode"`
	} `json:"status"`
	DeviceDetail struct {
		OperatingSystem string `json:"operatingSystem"`
		Browser         string `json:"browser"`
	} `json:"deviceDetail"`
	Location struct {
		CountryOrRegion string `json:"countryOrRegion"`
	} `json:"location"`
	AuthenticationRequirement string `json:"authenticationRequirement"`
	AuthenticationDetails     []struct {
		AuthenticationMethod string `json:"authenticationMethod"`
		Succeeded            *bool  `json:"succeeded"`
	} `json:"authenticationDetails"`
}

// cachingProxy is a TLS reverse proxy in front of the simulator that
// keeps every 200 answer by request URI and serves it again from memory.
// The simulator writes nextLinks with the request's host, so they point
// at the proxy.
type cachingProxy struct {
	*httptest.Server
	mu    sync.Mutex
	pages map[string][]byte
	order []string // the cached sign-in pages' URIs, in the order read
}

func newCachingProxy(b *testing.B, sim *graphsim.Sim) *cachingProxy {
	target, err := url.Parse(sim.URL)
	if err != nil {
		b.Fatal(err)
	}
	p := &cachingProxy{pages: map[string][]byte{}}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host
			r.Out.Header.Del("Accept-Encoding")
		},
		Transport: sim.Client().Transport,
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode != http.StatusOK {
				return nil
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			uri := resp.Request.URL.RequestURI()
			p.mu.Lock()
			p.pages[uri] = body
			if strings.Contains(resp.Request.URL.Path, "auditLogs/signIns") {
				p.order = append(p.order, uri)
			}
			p.mu.Unlock()
			resp.Body = io.NopCloser(bytes.NewReader(body))
			return nil
		},
	}
	p.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		body, ok := p.pages[r.URL.RequestURI()]
		p.mu.Unlock()
		if !ok {
			rp.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	b.Cleanup(p.Close)
	return p
}

func (p *cachingProxy) signInBodies() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out [][]byte
	for _, uri := range p.order {
		out = append(out, p.pages[uri])
	}
	return out
}

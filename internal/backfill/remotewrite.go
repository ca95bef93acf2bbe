package backfill

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"time"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/entra-insights/entra_insights_exporter/collector"
)

// RemoteWrite is a Prometheus remote-write 1.0 endpoint: Prometheus with
// --web.enable-remote-write-receiver, Mimir, Thanos Receive, VictoriaMetrics.
// Old samples need an out-of-order window of at least 13 months there.
type RemoteWrite struct {
	URL     string
	Headers map[string]string // e.g. X-Scope-OrgID for Mimir
	Client  *http.Client
}

// maxSamplesPerRequest bounds one request's size (a few MB before snappy);
// a series is never split across requests, so its samples arrive in order.
const maxSamplesPerRequest = 50_000

// Send writes the same samples Write would, to a remote-write endpoint.
func Send(ctx context.Context, rw RemoteWrite, catalog *collector.Catalog, tenants []TenantData, opts Options) (Stats, error) {
	families, err := collect(catalog, tenants, opts)
	if err != nil {
		return Stats{}, err
	}
	var stats Stats
	var req []byte // the WriteRequest being built
	pending := 0
	flush := func() error {
		if pending == 0 {
			return nil
		}
		err := rw.post(ctx, req)
		req, pending = req[:0], 0
		return err
	}
	for _, f := range families {
		for _, s := range f.sorted {
			ts := encodeSeries(f.name, s, opts)
			if ts.samples == 0 {
				continue
			}
			if pending > 0 && pending+ts.samples > maxSamplesPerRequest {
				if err := flush(); err != nil {
					return stats, err
				}
			}
			// WriteRequest.timeseries = 1
			req = protowire.AppendTag(req, 1, protowire.BytesType)
			req = protowire.AppendBytes(req, ts.bytes)
			pending += ts.samples
			stats.Series++
			stats.Samples += ts.samples
		}
	}
	return stats, flush()
}

type encodedSeries struct {
	bytes   []byte
	samples int
}

// encodeSeries encodes one prometheus.TimeSeries: labels (field 1) with
// __name__ first and the rest sorted, then samples (field 2).
func encodeSeries(name string, s *series, opts Options) encodedSeries {
	var b []byte
	b = appendLabel(b, "__name__", name)
	for _, l := range s.labels {
		b = appendLabel(b, l.Name, l.Value)
	}
	n := s.samples(opts, func(t time.Time, v float64, _ string) {
		var sample []byte
		sample = protowire.AppendTag(sample, 1, protowire.Fixed64Type) // Sample.value
		sample = protowire.AppendFixed64(sample, math.Float64bits(v))
		sample = protowire.AppendTag(sample, 2, protowire.VarintType) // Sample.timestamp (ms)
		sample = protowire.AppendVarint(sample, uint64(t.UnixMilli()))
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, sample)
	})
	return encodedSeries{bytes: b, samples: n}
}

func appendLabel(b []byte, name, value string) []byte {
	var l []byte
	l = protowire.AppendTag(l, 1, protowire.BytesType)
	l = protowire.AppendString(l, name)
	l = protowire.AppendTag(l, 2, protowire.BytesType)
	l = protowire.AppendString(l, value)
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	return protowire.AppendBytes(b, l)
}

// post sends one snappy-compressed WriteRequest; remote-write receivers
// answer 2xx on success, 4xx for data they will never take.
func (rw RemoteWrite) post(ctx context.Context, writeRequest []byte) error {
	body := snappy.Encode(nil, writeRequest)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rw.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("remote write: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	req.Header.Set("User-Agent", "entra_insights_exporter-backfill")
	for k, v := range rw.Headers {
		req.Header.Set(k, v)
	}
	client := rw.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("remote write: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("remote write: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

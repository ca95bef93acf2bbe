package promtest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Result is a decoded query result. A vector has one sample per series, a
// matrix many; a scalar is one series without labels.
type Result struct {
	Type     string // "vector", "matrix", "scalar" or "string"
	Series   []Series
	Warnings []string
}

// Empty reports whether the query returned no samples.
func (r Result) Empty() bool {
	for _, s := range r.Series {
		if len(s.Samples) > 0 {
			return false
		}
	}
	return true
}

// Series is one labelled series of a result.
type Series struct {
	Labels  map[string]string
	Samples []Sample
}

// Sample is one value at one time.
type Sample struct {
	T time.Time
	V float64
}

// Query runs an instant query at the given time. An error is returned, not
// reported, so callers can name the query that failed.
func (p *Prom) Query(t testing.TB, expr string, at time.Time) (Result, error) {
	t.Helper()
	return p.api(t, "/api/v1/query", url.Values{
		"query": {expr},
		"time":  {formatTime(at)},
	})
}

// QueryRange runs a range query from start to end (inclusive) every step.
func (p *Prom) QueryRange(t testing.TB, expr string, start, end time.Time, step time.Duration) (Result, error) {
	t.Helper()
	return p.api(t, "/api/v1/query_range", url.Values{
		"query": {expr},
		"start": {formatTime(start)},
		"end":   {formatTime(end)},
		"step":  {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	})
}

func formatTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)
}

// api POSTs a form to a query endpoint (POST: expressions can be long).
func (p *Prom) api(t testing.TB, path string, form url.Values) (Result, error) {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		return Result{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.client.Do(req)
	if err != nil {
		return Result{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Result{}, fmt.Errorf("read response: %w", err)
	}
	return decodeResponse(resp.StatusCode, body)
}

// apiResponse is Prometheus' response envelope.
type apiResponse struct {
	Status    string   `json:"status"`
	ErrorType string   `json:"errorType"`
	Error     string   `json:"error"`
	Warnings  []string `json:"warnings"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

type apiSeries struct {
	Metric map[string]string `json:"metric"`
	Value  *apiSample        `json:"value"`
	Values []apiSample       `json:"values"`
}

// apiSample is Prometheus' [unix seconds, "value"] pair.
type apiSample Sample

func (s *apiSample) UnmarshalJSON(b []byte) error {
	var pair [2]json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	var ts float64
	if err := json.Unmarshal(pair[0], &ts); err != nil {
		return fmt.Errorf("sample time: %w", err)
	}
	var v string
	if err := json.Unmarshal(pair[1], &v); err != nil {
		return fmt.Errorf("sample value: %w", err)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return fmt.Errorf("sample value: %w", err)
	}
	sec, frac := math.Modf(ts)
	s.T = time.Unix(int64(sec), int64(math.Round(frac*1000))*int64(time.Millisecond)).UTC()
	s.V = f
	return nil
}

func decodeResponse(status int, body []byte) (Result, error) {
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return Result{}, fmt.Errorf("decode response (HTTP %d): %w: %.200s", status, err, body)
	}
	if r.Status != "success" {
		return Result{}, fmt.Errorf("%s: %s", r.ErrorType, r.Error)
	}
	res := Result{Type: r.Data.ResultType, Warnings: r.Warnings}
	switch r.Data.ResultType {
	case "vector", "matrix":
		var series []apiSeries
		if err := json.Unmarshal(r.Data.Result, &series); err != nil {
			return Result{}, fmt.Errorf("decode %s: %w", r.Data.ResultType, err)
		}
		for _, s := range series {
			out := Series{Labels: s.Metric}
			if s.Value != nil {
				out.Samples = append(out.Samples, Sample(*s.Value))
			}
			for _, v := range s.Values {
				out.Samples = append(out.Samples, Sample(v))
			}
			res.Series = append(res.Series, out)
		}
	case "scalar":
		var v apiSample
		if err := json.Unmarshal(r.Data.Result, &v); err != nil {
			return Result{}, fmt.Errorf("decode scalar: %w", err)
		}
		res.Series = []Series{{Labels: map[string]string{}, Samples: []Sample{Sample(v)}}}
	case "string":
		// A string result carries no samples; callers only see its type.
	default:
		return Result{}, fmt.Errorf("unknown result type %q", r.Data.ResultType)
	}
	return res, nil
}

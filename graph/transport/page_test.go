package transport

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"path"
	"strings"
	"testing"

	"github.com/entra-insights/entra_insights_exporter/graph/insights"
)

func TestCheckPage(t *testing.T) {
	tests := []struct {
		name, body string
		ok         bool
	}{
		{"page", `{"@odata.context":"x","@odata.nextLink":"https://graph.example/beta/r?$skiptoken=1","value":[{"id":"1","count":2}]}`, true},
		{"last page", `{"value":[]}`, true},
		{"null nextLink and null rows", ` {"value":[null,{}],"@odata.nextLink":null} `, true},
		{"unknown keys of any type", `{"value":[],"x":{"y":[1,"2",null]},"n":1.5e3}`, true},
		{"empty body", ``, false},
		{"not an object", `[{"value":[]}]`, false},
		{"null", `null`, false},
		{"no value", `{"@odata.nextLink":"x"}`, false},
		{"value not an array", `{"value":{"id":"1"}}`, false},
		{"value null", `{"value":null}`, false},
		{"row not an object", `{"value":[1]}`, false},
		{"row a string", `{"value":["{}"]}`, false},
		{"nextLink a number", `{"value":[],"@odata.nextLink":3}`, false},
		{"nextLink an object", `{"value":[],"@odata.nextLink":{"href":"x"}}`, false},
		{"value twice", `{"value":[],"value":[{}]}`, false},
		{"nextLink twice", `{"value":[],"@odata.nextLink":"a","@odata.nextLink":"b"}`, false},
		{"truncated", `{"value":[{"id":"1"},{"id"`, false},
		{"malformed", `{"value":[{"id":"1"},,{"id":"2"}]}`, false},
		{"data after the object", `{"value":[]}{"value":[]}`, false},
		{"garbage after the object", `{"value":[]} x`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPage([]byte(tt.body))
			if (err == nil) != tt.ok {
				t.Errorf("CheckPage(%s) = %v, want ok %v", tt.body, err, tt.ok)
			}
		})
	}
}

// referencePage is a plain second reading of the page envelope with
// json.Unmarshal, for FuzzCheckPage to compare against. It reads a
// repeated key as its last value instead of refusing it.
func referencePage(body []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return err
	}
	value, ok := top["value"]
	if !ok || top == nil {
		return errors.New("no value")
	}
	var rows []json.RawMessage
	if err := json.Unmarshal(value, &rows); err != nil || value[0] != '[' {
		return errors.New("value is not an array")
	}
	for _, r := range rows {
		if r[0] != '{' && string(r) != "null" {
			return errors.New("row is not an object")
		}
	}
	if link, ok := top["@odata.nextLink"]; ok {
		var s *string
		if err := json.Unmarshal(link, &s); err != nil {
			return err
		}
	}
	return nil
}

func FuzzCheckPage(f *testing.F) {
	for _, seed := range []string{
		`{"@odata.context":"x","@odata.nextLink":"https://graph.example/beta/r?$skiptoken=1","value":[{"id":"1","count":2}]}`,
		`{"value":[null,{}],"@odata.nextLink":null}`,
		`{"value":[],"value":[{}]}`,
		`{"value":[1]}`,
		`{"value":[{"id":"1"},{"id"`,
		`{"value":[]} x`,
		"{\"value\":[{\"os\":\"\xff\"}]}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		err := CheckPage(body)
		ref := referencePage(body)
		switch {
		case err == nil && ref != nil:
			t.Fatalf("CheckPage accepted %q; the reference refuses it: %v", body, ref)
		case err == nil && !json.Valid(body):
			t.Fatalf("CheckPage accepted invalid JSON %q", body)
		case err != nil && ref == nil && !strings.Contains(err.Error(), "appears twice"):
			t.Fatalf("CheckPage refused %q (%v); the reference accepts it", body, err)
		}
	})
}

// FuzzTransportBody sends arbitrary bodies through the transport with a
// small cap: a body over the cap fails with bad_response whether or not
// its length is declared; a body within it reaches the caller unchanged if
// it is not declared JSON or passes CheckPage, and fails with bad_response
// otherwise; every body is closed.
func FuzzTransportBody(f *testing.F) {
	f.Add([]byte(`{"value":[]}`), uint8(64), true, true)
	f.Add([]byte(`{"value":[{"id":"1"}]}`), uint8(8), false, true)
	f.Add([]byte(`not json`), uint8(64), true, false)
	f.Add([]byte(`{"value":[`), uint8(64), false, true)
	f.Fuzz(func(t *testing.T, body []byte, limit uint8, sized, isJSON bool) {
		base := newFakeBase(step{status: 200, body: string(body), unsized: !sized, json: isJSON})
		tr := mustNew(t, base, Options{MaxBodyBytes: int64(limit) + 1, CheckBody: CheckPage, MaxRetries: -1})
		resp, err := get(t, t.Context(), tr, reportURL)
		var got []byte
		if err == nil {
			got, err = io.ReadAll(resp.Body)
			_ = resp.Body.Close()
		}
		switch {
		case len(body) > int(limit)+1, isJSON && CheckPage(body) != nil:
			if insights.ReasonOf(err) != insights.ReasonBadResponse {
				t.Fatalf("body %q (cap %d, JSON %v): error %v, want bad_response", body, int(limit)+1, isJSON, err)
			}
		case err != nil:
			t.Fatalf("body %q (cap %d): %v", body, int(limit)+1, err)
		case !bytes.Equal(got, body):
			t.Fatalf("body %q reached the caller as %q", body, got)
		}
		if base.openBodies() != 0 {
			t.Fatal("response body left open")
		}
	})
}

// TestCountIsNotAPage: a /$count answer is a bare number, JSON or not; the
// page check leaves it alone there, and still refuses it anywhere else.
func TestCountIsNotAPage(t *testing.T) {
	countURL := strings.TrimSuffix(reportURL, "/"+path.Base(reportURL)) + "/users/$count"
	for url, wantOK := range map[string]bool{countURL: true, reportURL: false} {
		base := newFakeBase(step{status: 200, body: "42", json: true})
		tr := mustNew(t, base, Options{CheckBody: CheckPage, MaxRetries: -1})
		resp, err := get(t, t.Context(), tr, url)
		if err == nil {
			_ = resp.Body.Close()
		}
		if (err == nil) != wantOK {
			t.Errorf("GET %s answering 42: error %v, want ok %v", url, err, wantOK)
		}
	}
}

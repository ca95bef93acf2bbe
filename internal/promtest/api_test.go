package promtest

import (
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeResponse(t *testing.T) {
	at := time.Unix(1700000000, 500*int64(time.Millisecond)).UTC()
	tests := []struct {
		name    string
		status  int
		body    string
		want    Result
		wantErr string
	}{
		{
			name:   "vector",
			status: 200,
			body:   `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1700000000.5,"42"]}]}}`,
			want: Result{Type: "vector", Series: []Series{
				{Labels: map[string]string{"a": "b"}, Samples: []Sample{{T: at, V: 42}}},
			}},
		},
		{
			name:   "matrix with warnings",
			status: 200,
			body:   `{"status":"success","warnings":["w"],"data":{"resultType":"matrix","result":[{"metric":{},"values":[[1700000000.5,"1"],[1700000001.5,"+Inf"]]}]}}`,
			want: Result{Type: "matrix", Warnings: []string{"w"}, Series: []Series{
				{Labels: map[string]string{}, Samples: []Sample{{T: at, V: 1}, {T: at.Add(time.Second), V: math.Inf(1)}}},
			}},
		},
		{
			name:   "empty vector",
			status: 200,
			body:   `{"status":"success","data":{"resultType":"vector","result":[]}}`,
			want:   Result{Type: "vector"},
		},
		{
			name:   "scalar",
			status: 200,
			body:   `{"status":"success","data":{"resultType":"scalar","result":[1700000000.5,"3"]}}`,
			want: Result{Type: "scalar", Series: []Series{
				{Labels: map[string]string{}, Samples: []Sample{{T: at, V: 3}}},
			}},
		},
		{
			name:    "query error",
			status:  400,
			body:    `{"status":"error","errorType":"bad_data","error":"parse error"}`,
			wantErr: "bad_data: parse error",
		},
		{
			name:    "not JSON",
			status:  502,
			body:    `<html>bad gateway</html>`,
			wantErr: "HTTP 502",
		},
		{
			name:    "bad sample value",
			status:  200,
			body:    `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"x"]}]}}`,
			wantErr: "sample value",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeResponse(tt.status, []byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if got.Empty() != (len(tt.want.Series) == 0) {
				t.Errorf("Empty() = %v", got.Empty())
			}
		})
	}
}

func TestQuerySendsParameters(t *testing.T) {
	var got map[string]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		got = map[string]string{"path": r.URL.Path}
		for k := range r.PostForm {
			got[k] = r.PostForm.Get(k)
		}
		w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[]}}`))
	}))
	defer srv.Close()
	p := &Prom{URL: srv.URL, client: srv.Client()}
	start := time.Unix(86400, 0)

	if _, err := p.Query(t, `up{a="b"}`, start); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"path": "/api/v1/query", "query": `up{a="b"}`, "time": "86400"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("instant query sent %v, want %v", got, want)
	}

	if _, err := p.QueryRange(t, "up", start, start.Add(48*time.Hour), 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	want = map[string]string{"path": "/api/v1/query_range", "query": "up", "start": "86400", "end": "259200", "step": "86400"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("range query sent %v, want %v", got, want)
	}
}

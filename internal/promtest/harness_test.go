package promtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeEnv makes the test binary act as a stand-in exporter, so the process
// handling is tested without building the real one.
const fakeEnv = "PROMTEST_FAKE_EXPORTER"

func TestMain(m *testing.M) {
	switch os.Getenv(fakeEnv) {
	case "serve":
		os.Exit(fakeServe())
	case "fail":
		fmt.Fprintln(os.Stderr, "fake exporter: bad flag --demo")
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// fakeServe serves /-/ready and /metrics on --web.listen-address until
// SIGTERM.
func fakeServe() int {
	var addr string
	for _, a := range os.Args[1:] {
		if v, ok := strings.CutPrefix(a, "--web.listen-address="); ok {
			addr = v
		}
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ready") })
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "# TYPE fake_args gauge\nfake_args{args=%q} 1\n", strings.Join(os.Args[1:], " "))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(l); err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func TestStartExporter(t *testing.T) {
	t.Setenv(fakeEnv, "serve")
	addr := StartExporter(t, os.Args[0], "serve", "--demo")

	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	got := string(body)
	want := "serve --demo --web.listen-address=" + addr
	if !strings.Contains(got, want) {
		t.Errorf("exporter got arguments %q, want %q", got, want)
	}
}

func TestWaitReadyReportsEarlyExit(t *testing.T) {
	t.Setenv(fakeEnv, "fail")
	p := startProcess(t, "exporter", os.Args[0])
	err := p.waitReady(t, "http://127.0.0.1:1/-/ready")
	if err == nil {
		t.Fatal("waitReady succeeded for a process that exited")
	}
	for _, want := range []string{"exited before it was ready", "bad flag --demo"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestRequire(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv(E2EEnv, "")
	ran := make(chan bool, 1)
	// Require calls Skip, which ends only the goroutine of the subtest.
	t.Run("skips", func(t *testing.T) {
		defer func() { ran <- t.Skipped() }()
		Require(t)
	})
	if !<-ran {
		t.Error("Require did not skip without prometheus in PATH")
	}
}

func TestPrometheusWithBackfilledBlocks(t *testing.T) {
	Require(t)
	dir := t.TempDir()
	// Two hourly samples 30 days ago, as a backfill writes them: at
	// half-step offsets, sorted by time.
	start := time.Now().Add(-30 * 24 * time.Hour).Truncate(time.Hour).Add(30 * time.Minute)
	om := filepath.Join(dir, "history.om")
	content := fmt.Sprintf("# HELP h History.\n# TYPE h gauge\nh{tenant=\"t\"} 1 %d\nh{tenant=\"t\"} 2 %d\n# EOF\n",
		start.Unix(), start.Add(time.Hour).Unix())
	if err := os.WriteFile(om, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if got := CreateBlocks(t, om, data); got != 2 {
		t.Errorf("CreateBlocks = %d samples, want 2", got)
	}
	rules := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(rules, []byte("groups:\n- name: g\n  rules:\n  - record: r\n    expr: vector(7)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := StartPrometheus(t, Options{DataDir: data, Retention: "400d", ScrapeInterval: "1s", RuleFiles: []string{rules}})

	res, err := p.QueryRange(t, "h", start, start.Add(time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Series) != 1 || len(res.Series[0].Samples) != 2 || res.Series[0].Samples[1].V != 2 {
		t.Errorf("backfilled range = %+v, want two samples ending in 2", res)
	}
	if _, err := p.Query(t, "sum(", time.Now()); err == nil || !strings.Contains(err.Error(), "bad_data") {
		t.Errorf("bad query error = %v, want bad_data", err)
	}
	WaitFor(t, func() bool {
		res, err := p.Query(t, "r", time.Now())
		return err == nil && !res.Empty() && res.Series[0].Samples[0].V == 7
	}, 30*time.Second)
}

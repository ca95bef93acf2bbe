package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/version"

	"github.com/entra-insights/entra_insights_exporter/internal/azconf"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim"
	"github.com/entra-insights/entra_insights_exporter/internal/graphsim/graphsimtest"
	"github.com/entra-insights/entra_insights_exporter/internal/promtest"
)

const testGUID = "11111111-2222-3333-4444-555555555555"

// certificatePEM is a self-signed client certificate with its key.
func certificatePEM(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048) // Entra takes RSA keys only
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM := selfSigned(t, key, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "exporter"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)})
	return string(certPEM) + string(keyPEM)
}

// federatedToken is a projected service account token as the AKS webhook
// mounts it; the simulator checks its audience only.
func federatedToken() string {
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"aud":"api://AzureADTokenExchange","sub":"system:serviceaccount:monitoring:exporter"}`))
	return "eyJhbGciOiJSUzI1NiJ9." + payload + ".c2lnbmF0dXJl"
}

// TestConfigCheck: --config.check validates the flags, the config file and
// every tenant's credential (its files read and parsed), contacts nothing,
// and exits 0 or 1 with one line. Not parallel: its cases set the
// environment.
func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	secret := writeFile(t, dir, "secret", "s3cr3t\n")
	empty := writeFile(t, dir, "empty", "")
	cert := writeFile(t, dir, "client.pem", certificatePEM(t))
	badCert := writeFile(t, dir, "bad.pem", "not a certificate")
	token := writeFile(t, dir, "token", federatedToken())
	single := []string{"--config.check", "--azure.tenant-id=contoso.onmicrosoft.com", "--azure.client-id=" + testGUID}
	tenants := writeFile(t, dir, "tenants.yml", "tenants:\n  - {name: contoso, tenant_id: contoso.onmicrosoft.com, client_secret_file: "+secret+"}\n"+
		"  - {name: fabrikam, tenant_id: "+testGUID+", auth_mode: workload-identity}\n")
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		code int
		want string // in the one line
	}{
		{"secret file", append(single, "--azure.client-secret-file="+secret), nil, 0, "1 tenant(s) (contoso.onmicrosoft.com: client-secret (logs))"},
		{"secret from the environment", single, map[string]string{azconf.EnvClientSecret: "s3cr3t"}, 0, "client-secret"},
		// Before azconf, cmd refused auto with only a certificate, which graph accepted.
		{"auto with only a certificate", append(single, "--azure.client-certificate-file="+cert), nil, 0, "client-certificate"},
		{"auto with only the AKS webhook's environment", []string{"--config.check"},
			map[string]string{azconf.EnvTenantID: testGUID, azconf.EnvClientID: testGUID, azconf.EnvFederatedTokenFile: token}, 0, "workload-identity"},
		{"config file", append(single, "--config.file="+tenants, "--azure.federated-token-file="+token), nil, 0, "2 tenant(s) (contoso: client-secret (logs), fabrikam: workload-identity (logs))"},
		{"demo", []string{"--config.check", "--demo"}, nil, 0, "demo"},
		{"default refresh timeout", append(single, "--azure.client-secret-file="+secret), nil, 0, "refresh every 5m0s (timeout 2m0s)"},
		{"refresh timeout follows a short interval", append(single, "--azure.client-secret-file="+secret, "--insights.refresh-interval=30s"), nil, 0, "(timeout 30s)"},
		{"refresh timeout set", append(single, "--azure.client-secret-file="+secret, "--insights.refresh-timeout=10s"), nil, 0, "(timeout 10s)"},
		{"no credential", single, nil, 1, "--azure.auth-mode: auto found no credential"},
		{"workload identity without a token file", append(single, "--azure.auth-mode=workload-identity"), nil, 1, "--azure.federated-token-file"},
		{"empty secret file", append(single, "--azure.client-secret-file="+empty), nil, 1, "is empty"},
		{"broken certificate", append(single, "--azure.client-certificate-file="+badCert), nil, 1, "parse client certificate"},
		{"config file tenant without credential", append(single, "--config.file="+tenants), nil, 1, "config.file: tenants[1]: --azure.auth-mode: workload-identity needs"},
		{"bad config file", append(single, "--config.file="+writeFile(t, dir, "bad.yml", "tenant: []\n")), nil, 1, `unknown key "tenant" at the top level`},
		{"bad flag value", append(single, "--insights.refresh-interval=soon"), nil, 1, "--insights.refresh-interval"},
		{"missing tenant", []string{"--config.check", "--azure.client-secret-file=" + secret}, nil, 1, "--azure.tenant-id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearAzureEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, stdout, stderr := runCLI(t, t.Context(), tc.args...)
			out, quiet := stdout, stderr
			if tc.code != 0 {
				out, quiet = stderr, stdout
			}
			if code != tc.code {
				t.Errorf("exit %d, want %d; stdout %q, stderr %q", code, tc.code, stdout, stderr)
			}
			if lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Errorf("output %q, want one line containing %q", out, tc.want)
			}
			if quiet != "" {
				t.Errorf("the other stream has %q, want nothing", quiet)
			}
		})
	}
}

func TestRefreshTimeoutDefault(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ interval, timeout, want time.Duration }{
		{5 * time.Minute, 0, 2 * time.Minute},
		{30 * time.Second, 0, 30 * time.Second},
		{2 * time.Minute, 0, 2 * time.Minute},
		{time.Hour, 10 * time.Minute, 10 * time.Minute},
	} {
		f := insightsFlags{RefreshInterval: tc.interval, RefreshTimeout: tc.timeout, MaxAge: time.Hour}
		if got := f.refreshTimeout(); got != tc.want || f.validate() != nil {
			t.Errorf("interval %s, timeout %s: %s (%v), want %s", tc.interval, tc.timeout, got, f.validate(), tc.want)
		}
	}
}

// TestWorkloadIdentityFromTheAKSEnvironment: with only what the AKS
// workload identity webhook injects (AZURE_TENANT_ID, AZURE_CLIENT_ID,
// AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST) and no auth flag, the
// exporter picks workload identity, says so in one line, gets a token for
// the federated token from the simulator's token service and reads data.
// Not parallel: it sets the environment (in-process, as the pod's).
func TestWorkloadIdentityFromTheAKSEnvironment(t *testing.T) {
	sim := graphsimtest.Start(t, graphsim.Options{Now: func() time.Time { return simNow }, PageSize: 1000})
	dir := t.TempDir()
	caFile, err := sim.WriteCAFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	clearAzureEnv(t)
	t.Setenv(azconf.EnvTenantID, sim.TenantID)
	t.Setenv(azconf.EnvClientID, sim.ClientID)
	t.Setenv(azconf.EnvFederatedTokenFile, writeFile(t, dir, "azure-identity-token", federatedToken()))
	t.Setenv(azconf.EnvAuthorityHost, sim.AuthorityHost)
	in := launch(t, "--graph.url="+sim.GraphURL, "--graph.ca-file="+caFile,
		"--graph.rate-limit=0", "--config.file="+reportsConfig(t, faultReports))
	families := in.waitUp(t, 1)
	if got := sumWhere(families, "entra_insights_graph_requests_total", map[string]string{"host_kind": "token", "code": "200"}); got < 1 {
		t.Errorf("token requests answered 200: %v, want ≥ 1", got)
	}
	if got := sumWhere(families, "entra_insights_daily_users", nil); !(got > 0) {
		t.Errorf("daily_users = %v, want data", got)
	}
	if stats := sim.Stats(); stats.TokenRequests < 1 || stats.Authorized < len(faultReports) {
		t.Errorf("simulator: %d token requests, %d authorized Graph requests", stats.TokenRequests, stats.Authorized)
	}
	lines := logLines(in.stderr.String(), "msg=credential")
	if len(lines) != 1 || !strings.Contains(lines[0], "auth_mode=workload-identity") || !strings.Contains(lines[0], `chosen_by="auto: federated token file"`) {
		t.Errorf("credential log lines %q, want one saying auto chose workload identity", lines)
	}
}

// TestReloadKeepsCountersAndDropsRemovedTenants: a reload (here by the
// SIGHUP main forwards) resets no counter of a tenant that stays, and
// every series of a tenant it removed is gone, counters included.
func TestReloadKeepsCountersAndDropsRemovedTenants(t *testing.T) {
	t.Parallel()
	extra := "22222222-0000-4000-8000-000000000002"
	sim := graphsimtest.Start(t, graphsim.Options{Now: func() time.Time { return simNow }, PageSize: 1000, Tenants: []string{extra}})
	// The first refresh of each tenant fails one report once: forbidden.
	sim.SetFault(graphsim.Fault{Kind: graphsim.FaultStatus, Status: 403, Report: "daily/userCount", Times: 2})
	dir := t.TempDir()
	writeConfig := func(body string) string { return writeFile(t, dir, "config.yml", body) }
	reports := reportsLine(faultReports)
	contoso := "  - {name: contoso, tenant_id: " + sim.TenantID + "}\n"
	configFile := writeConfig("tenants:\n" + contoso + "  - {name: fabrikam, tenant_id: " + extra + "}\n" + reports)
	in := launch(t, append(simArgs(t, sim, ""), "--graph.rate-limit=0",
		"--insights.refresh-interval=10m", "--config.file="+configFile)...)
	forbidden := map[string]string{"reason": "forbidden"}
	before := in.waitScrape(t, 30*time.Second, "first refresh of both tenants", func(f map[string]*dto.MetricFamily) bool {
		return countWhere(f, "entra_insights_report_up", nil) == 2*len(faultReports) &&
			sumWhere(f, "entra_insights_refresh_errors_total", forbidden) == 2
	})
	contosoGraph := map[string]string{"tenant": "contoso", "host_kind": "graph"}
	requestsBefore := sumWhere(before, "entra_insights_graph_requests_total", contosoGraph)
	simBefore := simRequestsOf(sim, sim.TenantID)
	if requestsBefore < float64(len(faultReports)) || countWhere(before, "entra_insights_graph_requests_total", map[string]string{"tenant": "fabrikam"}) == 0 {
		t.Fatalf("before the reload: %v Graph requests of contoso, fabrikam's series %d", requestsBefore,
			countWhere(before, "entra_insights_graph_requests_total", map[string]string{"tenant": "fabrikam"}))
	}

	writeConfig("tenants:\n" + contoso + reports)
	in.hup <- syscall.SIGHUP
	waitFor(t, 30*time.Second, "the reload logged", func() bool {
		return len(logLines(in.stderr.String(), `msg="configuration reloaded"`)) == 1
	})
	after := in.scrapeFast(t)

	if got := sumWhere(after, "entra_insights_refresh_errors_total", map[string]string{"tenant": "contoso", "reason": "forbidden"}); got != 1 {
		t.Errorf("contoso's refresh_errors_total{reason=forbidden} after the reload = %v, want 1 (not reset)", got)
	}
	want := requestsBefore + float64(simRequestsOf(sim, sim.TenantID)-simBefore)
	if got := sumWhere(after, "entra_insights_graph_requests_total", contosoGraph); got != want || got <= requestsBefore {
		t.Errorf("contoso's Graph requests after the reload = %v, want %v (%v before + the reload's refresh)", got, want, requestsBefore)
	}
	for name, f := range after {
		for _, m := range f.Metric {
			if promtest.HasLabels(m, map[string]string{"tenant": "fabrikam"}) {
				t.Errorf("the removed tenant still has %s", promtest.Key(name, m))
			}
		}
	}
	if got := sumWhere(after, "entra_insights_tenant_up", map[string]string{"tenant": "contoso"}); got != 1 {
		t.Errorf("contoso tenant_up after the reload = %v, want 1", got)
	}
}

// simRequestsOf counts the Graph requests the simulator logged for tenant.
func simRequestsOf(sim *graphsim.Sim, tenant string) int {
	n := 0
	for _, r := range sim.Stats().Requests {
		if strings.EqualFold(r.Tenant, tenant) {
			n++
		}
	}
	return n
}

// TestSIGHUPReloadsTheRunningProcess runs the real binary (this test binary
// running main) and sends it SIGHUP: the process lives and serves the new
// configuration; after a broken file, it keeps the running one.
func TestSIGHUPReloadsTheRunningProcess(t *testing.T) {
	t.Parallel()
	sim := graphsimtest.Start(t, graphsim.Options{Now: func() time.Time { return simNow }, PageSize: 1000})
	dir := t.TempDir()
	writeConfig := func(body string) string { return writeFile(t, dir, "config.yml", body) }
	configFile := writeConfig("reports: [daily/activeUsers]\ndimensions: {daily/activeUsers: [app_id]}\n")
	c := startChild(t, nil, append(simArgs(t, sim, ""), "--graph.rate-limit=0", "--config.file="+configFile)...)
	labelsAre := func(want string) func() bool {
		return func() bool {
			f, _, err := c.tryScrape()
			return err == nil && labelNames(f["entra_insights_daily_active_users"]) == want
		}
	}
	waitFor(t, 30*time.Second, "labels app_id,tenant", labelsAre("app_id,tenant"))

	writeConfig("reports: [daily/activeUsers]\ndimensions: {daily/activeUsers: [app_id, country]}\n")
	c.signal(t, syscall.SIGHUP)
	waitFor(t, 30*time.Second, "labels app_id,country,tenant", labelsAre("app_id,country,tenant"))

	writeConfig("dimensions: {daily/activeUsers: [colour]}\n")
	c.signal(t, syscall.SIGHUP)
	waitFor(t, 30*time.Second, "the failed reload logged", func() bool {
		return len(logLines(c.stderr.String(), "reload failed", "trigger=SIGHUP")) == 1
	})
	if !labelsAre("app_id,country,tenant")() {
		t.Errorf("after a broken file the running configuration was not kept")
	}
	if !c.running() {
		t.Fatalf("the exporter exited after SIGHUP: %v", c.err)
	}
	c.signal(t, syscall.SIGTERM)
	if err := c.wait(t, stopTimeout); err != nil {
		t.Errorf("exit after SIGTERM: %v, want 0", err)
	}
}

// TestVersionFromBuildInfo is not parallel: it swaps the version package's
// variables, which every exporter reads.
func TestVersionFromBuildInfo(t *testing.T) {
	settings := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	rev := "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		name                string
		info                *debug.BuildInfo
		wantV, wantR, wantD string
	}{
		{"go install @version", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3", "", ""},
		{"go build in a clone", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261202010203-0123456789ab"},
			Settings: settings("vcs.revision", rev, "vcs.time", "2026-12-02T01:02:03Z", "vcs.modified", "false")},
			"v0.0.0-20261202010203-0123456789ab", rev, "2026-12-02T01:02:03Z"},
		{"modified tree", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261202010203-0123456789ab+dirty"},
			Settings: settings("vcs.revision", rev, "vcs.modified", "true")}, "v0.0.0-20261202010203-0123456789ab+dirty", rev + "-modified", ""},
		{"devel with a revision", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: settings("vcs.revision", rev)}, "devel-0123456789ab", rev, ""},
		{"nothing recorded", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel", "", ""},
		{"no build info", nil, "devel", "", ""},
	} {
		v, r, d := fromBuildInfo(tc.info)
		if v != tc.wantV || r != tc.wantR || d != tc.wantD {
			t.Errorf("%s: %q %q %q, want %q %q %q", tc.name, v, r, d, tc.wantV, tc.wantR, tc.wantD)
		}
	}

	// Values from -ldflags -X win. This test is not parallel, and the
	// parallel tests run only once every serial one has ended, so the
	// package variables may be swapped for a moment.
	saved := []string{version.Version, version.Revision, version.BuildDate}
	defer func() { version.Version, version.Revision, version.BuildDate = saved[0], saved[1], saved[2] }()
	version.Version, version.Revision, version.BuildDate = "ci", "", ""
	applyBuildInfo(&debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: settings("vcs.revision", rev, "vcs.time", "2026-12-02T01:02:03Z")})
	if version.Version != "ci" || version.Revision != rev || version.BuildDate != "2026-12-02T01:02:03Z" {
		t.Errorf("after applyBuildInfo: %q %q %q, want the ldflags version and the recorded rest", version.Version, version.Revision, version.BuildDate)
	}
}

// TestPlainGoBuildPrintsAVersion builds the command as a user would (go
// build, no ldflags; VCS stamping on, whatever this machine's go env
// says) and runs --version: it prints the version and revision the
// toolchain recorded. In a clone (.git a directory) those must be real: a
// pseudo-version and a commit. (In a git worktree, whose .git is a file,
// the toolchain records neither.) It links the Graph SDK once.
func TestPlainGoBuildPrintsAVersion(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), exporterName)
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "GOFLAGS=-buildvcs=auto")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.CommandContext(t.Context(), bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`version (\S*) \(branch: [^,]*, revision: (\S+)\)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("--version printed %q", out)
	}
	recorded, err := exec.CommandContext(t.Context(), "go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	var info debug.BuildInfo
	for line := range strings.Lines(string(recorded)) {
		fields := strings.Split(strings.TrimSpace(line), "\t")
		switch {
		case len(fields) >= 3 && fields[0] == "mod":
			info.Main.Version = fields[2]
		case len(fields) == 2 && fields[0] == "build":
			key, value, _ := strings.Cut(fields[1], "=")
			info.Settings = append(info.Settings, debug.BuildSetting{Key: key, Value: value})
		}
	}
	wantV, wantR, _ := fromBuildInfo(&info)
	if wantR == "" {
		wantR = "unknown" // prometheus/common's word for none
	}
	if m[1] != wantV || m[2] != wantR {
		t.Errorf("--version says version %q revision %q; the toolchain recorded %q %q", m[1], m[2], wantV, wantR)
	}
	if st, err := os.Stat("../../.git"); err == nil && st.IsDir() && (m[1] == "" || m[2] == "unknown") {
		t.Errorf("built in a clone, --version printed %q: want a version and a revision", out)
	}
	t.Logf("go build; --version: %s", strings.SplitN(string(out), "\n", 2)[0])
}

// TestSIGHUPEndsABackfill: only serve reloads on SIGHUP; a backfill ends
// on it (a closed terminal), as it did before main handled the signal.
func TestSIGHUPEndsABackfill(t *testing.T) {
	t.Parallel()
	hup := make(chan os.Signal, 1)
	hup <- syscall.SIGHUP
	var stdout, stderr promtest.LockedBuffer
	out := filepath.Join(t.TempDir(), "history.om")
	done := make(chan int, 1)
	go func() {
		done <- run(t.Context(), []string{"backfill", "--demo", "--backfill.output=" + out}, &stdout, &stderr, hup)
	}()
	select {
	case code := <-done:
		if code != 1 || !strings.Contains(stderr.String(), "context canceled") {
			t.Errorf("exit %d, want 1 with the backfill cancelled; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the backfill did not end after SIGHUP")
	}
}

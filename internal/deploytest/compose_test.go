package deploytest

import (
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entra-insights/entra_insights_exporter/internal/promtest"
)

var (
	composeFilePath    = filepath.Join(composeDir, "docker-compose.yml")
	composePromCfgPath = filepath.Join(composeDir, "prometheus.yml")
)

// exporterPort is the port of the exporter's default --web.listen-address.
const exporterPort = "9945"

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Build *struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"` // short syntax: source:target[:mode]
}

// bindMount is a volume entry whose source is a host path (a named volume
// has a bare name instead).
type bindMount struct{ source, target string }

func (s composeService) bindMounts() []bindMount {
	var mounts []bindMount
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && (strings.HasPrefix(parts[0], ".") || strings.HasPrefix(parts[0], "/")) {
			mounts = append(mounts, bindMount{source: parts[0], target: parts[1]})
		}
	}
	return mounts
}

// hostPath maps a path inside the service's container to the repository
// path bind-mounted there.
func (s composeService) hostPath(containerPath string) (string, bool) {
	for _, m := range s.bindMounts() {
		if rest, ok := strings.CutPrefix(containerPath, m.target); ok && (rest == "" || rest[0] == '/') {
			return filepath.Join(composeDir, m.source, rest), true
		}
	}
	return "", false
}

func composeServices(t *testing.T) map[string]composeService {
	t.Helper()
	services := decodeOne[composeFile](t, composeFilePath).Services
	for _, name := range []string{"exporter", "prometheus", "grafana"} {
		if _, ok := services[name]; !ok {
			t.Fatalf("docker-compose.yml has no service %q", name)
		}
	}
	return services
}

func TestComposePathsExist(t *testing.T) {
	for name, s := range composeServices(t) {
		var paths []string
		if s.Build != nil {
			paths = append(paths, s.Build.Context, filepath.Join(s.Build.Context, s.Build.Dockerfile))
		}
		for _, m := range s.bindMounts() {
			paths = append(paths, m.source)
		}
		for _, p := range paths {
			if _, err := os.Stat(filepath.Join(composeDir, p)); err != nil {
				t.Errorf("service %s: %v", name, err)
			}
		}
	}
}

// TestComposePrometheusConfig runs promtool check config on prometheus.yml,
// with the rule file path that only exists in the container replaced by the
// file compose mounts there, so promtool checks the rules too.
func TestComposePrometheusConfig(t *testing.T) {
	services := composeServices(t)
	cfg := decodeOne[struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}](t, composePromCfgPath)

	for _, sc := range cfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				if host, port, _ := net.SplitHostPort(target); services[host].Build == nil || port != exporterPort {
					t.Errorf("scrape target %q: want the exporter built from the repository, on port %s", target, exporterPort)
				}
			}
		}
	}
	if len(cfg.RuleFiles) != 1 {
		t.Fatalf("rule_files = %v, want the one file", cfg.RuleFiles)
	}
	hostRules, ok := services["prometheus"].hostPath(cfg.RuleFiles[0])
	if !ok || filepath.Clean(hostRules) != filepath.Clean(rulesPath) {
		t.Fatalf("rule_files %s is not where compose mounts %s (got %q)", cfg.RuleFiles[0], rulesPath, hostRules)
	}

	promtool := lookPathOrSkip(t, "promtool")
	data, err := os.ReadFile(composePromCfgPath)
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(rulesPath)
	if err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(local, []byte(strings.ReplaceAll(string(data), cfg.RuleFiles[0], abs)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), promtool, "check", "config", local).CombinedOutput()
	if err != nil {
		t.Errorf("promtool check config: %v\n%s", err, out)
	}
}

// lookPathOrSkip finds a tool in PATH or skips the test, unless
// ENTRA_INSIGHTS_E2E=required, which fails it.
func lookPathOrSkip(t *testing.T, tool string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err == nil {
		return path
	}
	if os.Getenv(promtest.E2EEnv) == "required" {
		t.Fatalf("%s not in PATH (Debian: apt-get install prometheus); %s=required", tool, promtest.E2EEnv)
	}
	t.Skipf("%s not in PATH (Debian: apt-get install prometheus); set %s=required to fail instead", tool, promtest.E2EEnv)
	return ""
}

func TestGrafanaProvisioning(t *testing.T) {
	services := composeServices(t)
	grafana := services["grafana"]
	provisioning := func(kind string) string {
		dir, ok := grafana.hostPath("/etc/grafana/provisioning/" + kind)
		if !ok {
			t.Fatalf("compose mounts no %s provisioning into grafana", kind)
		}
		return filepath.Join(dir, "*.yml")
	}
	datasources, _ := filepath.Glob(provisioning("datasources"))
	providers, _ := filepath.Glob(provisioning("dashboards"))
	if len(datasources) == 0 || len(providers) == 0 {
		t.Fatalf("datasource files %v, dashboard provider files %v: want some of each", datasources, providers)
	}

	for _, path := range datasources {
		f := decodeOne[struct {
			APIVersion  int `yaml:"apiVersion"`
			Datasources []struct {
				Type string `yaml:"type"`
				URL  string `yaml:"url"`
			} `yaml:"datasources"`
		}](t, path)
		if f.APIVersion != 1 || len(f.Datasources) == 0 {
			t.Errorf("%s: want apiVersion 1 and a datasource", path)
		}
		for _, ds := range f.Datasources {
			u, err := url.Parse(ds.URL)
			if _, ok := services[u.Hostname()]; ds.Type != "prometheus" || err != nil || !ok {
				t.Errorf("%s: datasource %s %q: want a prometheus type on a compose service", path, ds.Type, ds.URL)
			}
		}
	}

	for _, path := range providers {
		f := decodeOne[struct {
			APIVersion int `yaml:"apiVersion"`
			Providers  []struct {
				Type    string `yaml:"type"`
				Options struct {
					Path string `yaml:"path"`
				} `yaml:"options"`
			} `yaml:"providers"`
		}](t, path)
		if f.APIVersion != 1 || len(f.Providers) == 0 {
			t.Errorf("%s: want apiVersion 1 and a provider", path)
		}
		for _, p := range f.Providers {
			dir, ok := grafana.hostPath(p.Options.Path)
			dashboards, _ := filepath.Glob(filepath.Join(dir, "*.json"))
			if p.Type != "file" || !ok || len(dashboards) == 0 {
				t.Errorf("%s: provider path %s: want a file provider on a mount with dashboards (got %q)", path, p.Options.Path, dir)
			}
		}
	}

	if home := grafana.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]; home != "" {
		if p, ok := grafana.hostPath(home); !ok {
			t.Errorf("home dashboard %s is not mounted", home)
		} else if _, err := os.Stat(p); err != nil {
			t.Errorf("home dashboard %s: %v", home, err)
		}
	}
}

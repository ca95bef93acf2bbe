package promtest

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// Options configures StartPrometheus.
type Options struct {
	// DataDir is the TSDB directory, e.g. one CreateBlocks wrote into.
	// Empty: a fresh temporary directory.
	DataDir string
	// Targets are "host:port" addresses scraped in one job, JobName.
	Targets []string
	// ExtraJobs are more scrape jobs, e.g. a second job scraping the same
	// exporter, so that its series are there twice.
	ExtraJobs []Job
	// Retention is --storage.tsdb.retention.time; empty keeps the default
	// (15d), which deletes backfilled history older than that.
	Retention string
	// ScrapeInterval is the scrape and rule evaluation interval; default 15s.
	ScrapeInterval string
	// RuleFiles are loaded as rule_files.
	RuleFiles []string
	// ExtraArgs are appended to the command line.
	ExtraArgs []string
}

// JobName is the scrape job of Options.Targets.
const JobName = "entra_insights"

// Job is a scrape job of static targets.
type Job struct {
	Name    string
	Targets []string
}

// Prom is a running Prometheus server.
type Prom struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:9090.
	URL    string
	client *http.Client
}

// StartPrometheus writes a configuration, starts prometheus on a free
// loopback port and waits until it is ready. It is stopped when the test
// ends.
func StartPrometheus(t testing.TB, opts Options) *Prom {
	t.Helper()
	dir := t.TempDir()
	if opts.DataDir == "" {
		opts.DataDir = filepath.Join(dir, "data")
	}
	if opts.ScrapeInterval == "" {
		opts.ScrapeInterval = "15s"
	}
	configFile := filepath.Join(dir, "prometheus.yml")
	if err := writeConfig(configFile, opts); err != nil {
		t.Fatalf("write prometheus config: %v", err)
	}
	addr := startListening(t, "prometheus", "prometheus", "/-/ready", func(addr string) []string {
		args := []string{
			"--config.file=" + configFile,
			"--storage.tsdb.path=" + opts.DataDir,
			"--web.listen-address=" + addr,
			"--log.level=warn",
		}
		if opts.Retention != "" {
			args = append(args, "--storage.tsdb.retention.time="+opts.Retention)
		}
		return append(args, opts.ExtraArgs...)
	})
	return &Prom{URL: "http://" + addr, client: &http.Client{Timeout: time.Minute}}
}

// promConfig is the subset of prometheus.yml the harness writes.
type promConfig struct {
	Global struct {
		ScrapeInterval     string `yaml:"scrape_interval"`
		EvaluationInterval string `yaml:"evaluation_interval"`
	} `yaml:"global"`
	RuleFiles     []string       `yaml:"rule_files,omitempty"`
	ScrapeConfigs []scrapeConfig `yaml:"scrape_configs,omitempty"`
}

type scrapeConfig struct {
	JobName       string         `yaml:"job_name"`
	StaticConfigs []staticConfig `yaml:"static_configs"`
}

type staticConfig struct {
	Targets []string `yaml:"targets"`
}

func writeConfig(path string, opts Options) error {
	var cfg promConfig
	cfg.Global.ScrapeInterval = opts.ScrapeInterval
	cfg.Global.EvaluationInterval = opts.ScrapeInterval
	for _, f := range opts.RuleFiles {
		abs, err := filepath.Abs(f)
		if err != nil {
			return err
		}
		cfg.RuleFiles = append(cfg.RuleFiles, abs)
	}
	if len(opts.Targets) > 0 {
		cfg.ScrapeConfigs = []scrapeConfig{{
			JobName:       JobName,
			StaticConfigs: []staticConfig{{Targets: opts.Targets}},
		}}
	}
	for _, j := range opts.ExtraJobs {
		cfg.ScrapeConfigs = append(cfg.ScrapeConfigs, scrapeConfig{
			JobName:       j.Name,
			StaticConfigs: []staticConfig{{Targets: j.Targets}},
		})
	}
	out, err := yaml.Marshal(&cfg)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}

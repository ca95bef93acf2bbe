package charttest

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The release files live outside the chart, but nothing else in the tree
// can parse them without adding a dependency to the exporter's go.mod: this
// module checks that they parse and say what the release needs.

// readYAML decodes path strictly (YAML 1.2: `on:` stays a string; duplicate
// keys and, for structs, unknown fields are errors).
func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

type workflow struct {
	Name        string            `yaml:"name"`
	On          map[string]any    `yaml:"on"`
	Permissions map[string]string `yaml:"permissions"`
	Concurrency map[string]any    `yaml:"concurrency"`
	Jobs        map[string]struct {
		Name           string            `yaml:"name"`
		RunsOn         string            `yaml:"runs-on"`
		Needs          any               `yaml:"needs"`
		Permissions    any               `yaml:"permissions"` // a map, or {} for none
		Outputs        map[string]string `yaml:"outputs"`
		TimeoutMinutes int               `yaml:"timeout-minutes"`
		Steps          []workflowStep    `yaml:"steps"`
	} `yaml:"jobs"`
}

type workflowStep struct {
	ID   string            `yaml:"id"`
	Name string            `yaml:"name"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	With map[string]string `yaml:"with"`
	Env  map[string]string `yaml:"env"`
}

func steps(w workflow) []workflowStep {
	var out []workflowStep
	for _, j := range w.Jobs {
		out = append(out, j.Steps...)
	}
	return out
}

func TestWorkflows(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(repoRoot, ".github", "workflows", "*.y*ml"))
	if err != nil || len(paths) < 2 {
		t.Fatalf("workflows %v: %v", paths, err)
	}
	all := map[string]workflow{}
	for _, p := range paths {
		var w workflow
		readYAML(t, p, &w)
		if w.Name == "" || len(w.On) == 0 || len(w.Jobs) == 0 {
			t.Errorf("%s lacks name, on or jobs", p)
		}
		for name, j := range w.Jobs {
			if j.RunsOn == "" || len(j.Steps) == 0 {
				t.Errorf("%s job %s lacks runs-on or steps", p, name)
			}
			for _, s := range j.Steps {
				if (s.Uses == "") == (s.Run == "") {
					t.Errorf("%s job %s: a step needs exactly one of uses and run: %+v", p, name, s)
				}
				if s.Uses != "" && !regexp.MustCompile(`^[\w.-]+/[\w./-]+@v\d+$`).MatchString(s.Uses) {
					t.Errorf("%s job %s: action %q is not pinned to a major version", p, name, s.Uses)
				}
			}
		}
		all[filepath.Base(p)] = w
	}

	ci := all["ci.yml"]
	if !slices.ContainsFunc(steps(ci), func(s workflowStep) bool { return strings.TrimSpace(s.Run) == "bash .ci/run" }) {
		t.Error("ci.yml does not run bash .ci/run")
	}
	if _, ok := ci.On["pull_request"]; !ok {
		t.Error("ci.yml does not run on pull requests")
	}

	rel := all["release.yml"]
	tags, _ := rel.On["push"].(map[string]any)["tags"].([]any)
	if !slices.Contains(tags, any("v*")) {
		t.Errorf("release.yml runs on tags %v, want v*", tags)
	}
	if rel.Permissions["packages"] != "write" || rel.Permissions["contents"] != "write" {
		t.Errorf("release.yml permissions %v: pushing to GHCR and releasing need packages and contents write", rel.Permissions)
	}
	var push, goreleaser *workflowStep
	for _, s := range steps(rel) {
		switch {
		case strings.HasPrefix(s.Uses, "docker/build-push-action@"):
			push = &s
		case strings.HasPrefix(s.Uses, "goreleaser/goreleaser-action@"):
			goreleaser = &s
		}
	}
	if push == nil || push.With["platforms"] != "linux/amd64,linux/arm64" || push.With["push"] != "true" ||
		!strings.Contains(push.With["build-args"], "REVISION=") || !strings.Contains(push.With["build-args"], "CREATED=") {
		t.Errorf("release.yml image step %+v: want a multi-arch push with VERSION, REVISION, CREATED", push)
	}
	if goreleaser == nil || !strings.Contains(goreleaser.With["args"], "release") || !strings.Contains(goreleaser.With["args"], "--parallelism 1") {
		t.Errorf("release.yml goreleaser step %+v: want release with --parallelism 1 (one SDK compile at a time)", goreleaser)
	}
}

func TestGoreleaserConfig(t *testing.T) {
	var cfg struct {
		Version     int    `yaml:"version"`
		ProjectName string `yaml:"project_name"`
		Before      struct {
			Hooks []string `yaml:"hooks"`
		} `yaml:"before"`
		Builds []struct {
			ID           string   `yaml:"id"`
			Main         string   `yaml:"main"`
			Binary       string   `yaml:"binary"`
			Env          []string `yaml:"env"`
			Goos         []string `yaml:"goos"`
			Goarch       []string `yaml:"goarch"`
			Flags        []string `yaml:"flags"`
			Ldflags      []string `yaml:"ldflags"`
			ModTimestamp string   `yaml:"mod_timestamp"`
		} `yaml:"builds"`
		Archives []struct {
			ID              string   `yaml:"id"`
			NameTemplate    string   `yaml:"name_template"`
			Formats         []string `yaml:"formats"`
			FormatOverrides []struct {
				Goos    string   `yaml:"goos"`
				Formats []string `yaml:"formats"`
			} `yaml:"format_overrides"`
			Files []string `yaml:"files"`
		} `yaml:"archives"`
		Checksum struct {
			NameTemplate string `yaml:"name_template"`
			Algorithm    string `yaml:"algorithm"`
		} `yaml:"checksum"`
		SBOMs []struct {
			ID        string `yaml:"id"`
			Artifacts string `yaml:"artifacts"`
		} `yaml:"sboms"`
		Changelog map[string]any `yaml:"changelog"`
		Release   map[string]any `yaml:"release"`
	}
	readYAML(t, filepath.Join(repoRoot, ".goreleaser.yaml"), &cfg)
	if cfg.Version != 2 || len(cfg.Builds) != 1 || len(cfg.Archives) != 1 {
		t.Fatalf("want a version 2 config with one build and one archive: %+v", cfg)
	}
	b := cfg.Builds[0]
	if b.Main != "./cmd/entra_insights_exporter" || !slices.Contains(b.Env, "CGO_ENABLED=0") {
		t.Errorf("build %+v", b)
	}
	slices.Sort(b.Goos)
	slices.Sort(b.Goarch)
	if !slices.Equal(b.Goos, []string{"darwin", "linux", "windows"}) || !slices.Equal(b.Goarch, []string{"amd64", "arm64"}) {
		t.Errorf("targets %v x %v", b.Goos, b.Goarch)
	}
	if !slices.ContainsFunc(b.Ldflags, func(f string) bool { return strings.Contains(f, "prometheus/common/version.Version={{ .Version }}") }) {
		t.Errorf("ldflags %v do not set the version", b.Ldflags)
	}
	for _, f := range cfg.Archives[0].Files {
		matches, err := filepath.Glob(filepath.Join(repoRoot, f))
		if err != nil || len(matches) == 0 {
			t.Errorf("archive file %s matches nothing", f)
		}
	}
	if cfg.Checksum.Algorithm != "sha256" || len(cfg.SBOMs) != 1 {
		t.Errorf("checksum %+v, sboms %+v", cfg.Checksum, cfg.SBOMs)
	}
}

// TestDockerfile checks what the release relies on; a docker build is not
// possible here, the build line itself is run by hand (see CONTRIBUTING.md).
func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(raw)
	for _, want := range []string{
		"FROM --platform=$BUILDPLATFORM ",
		"ARG TARGETOS", "ARG TARGETARCH",
		"CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build",
		`org.opencontainers.image.source="https://github.com/entra-insights/entra_insights_exporter"`,
		`org.opencontainers.image.version="${VERSION}"`,
		`org.opencontainers.image.revision="${REVISION}"`,
		`org.opencontainers.image.created="${CREATED}"`,
		"COPY LICENSE ",
		"--chown=65532:65532 /out/state /var/lib/entra_insights_exporter",
		"USER 65532:65532",
		`VOLUME ["/var/lib/entra_insights_exporter"]`,
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	if n := strings.Count(df, "\nFROM "); n != 2 {
		t.Errorf("%d stages, want build and runtime", n)
	}
	runtime := df[strings.LastIndex(df, "\nFROM "):]
	if strings.Contains(runtime, "RUN ") {
		t.Error("the runtime stage runs commands; distroless has no shell")
	}
	ignore, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(ignore)) {
		switch strings.TrimSpace(line) {
		case "LICENSE", "go.mod", "go.sum", "cmd", "graph", "internal", "collector":
			t.Errorf(".dockerignore drops %s, which the build needs", strings.TrimSpace(line))
		}
	}
}

func TestRepositoryBasics(t *testing.T) {
	license, err := os.ReadFile(filepath.Join(repoRoot, "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(license, []byte("Apache License\n                           Version 2.0, January 2004")) {
		t.Error("LICENSE is not the Apache License 2.0")
	}
	changelog, err := os.ReadFile(filepath.Join(repoRoot, "CHANGELOG.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(changelog, []byte("## [Unreleased]")) || !bytes.Contains(changelog, []byte("keepachangelog.com")) {
		t.Error("CHANGELOG.md is not in Keep a Changelog form with an Unreleased section")
	}
	for _, f := range []string{"SECURITY.md", "CONTRIBUTING.md"} {
		if fi, err := os.Stat(filepath.Join(repoRoot, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

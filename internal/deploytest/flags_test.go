package deploytest

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/entra-insights/entra_insights_exporter/internal/promtest"
)

// helpFlag matches a flag where the help text defines it: first on its line,
// followed by "=", a space or the line's end (not a mention in a sentence).
var helpFlag = regexp.MustCompile(`(?m)^\s+(?:-\w, )?(--[a-z][a-z0-9.-]*)(?:[= ]|$)`)

// exporterFlags returns the flags of the exporter's serve command (which
// lists the global flags too), from the help of the freshly built binary.
func exporterFlags(t *testing.T) map[string]bool {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), promtest.BuildExporter(t), "serve", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("serve --help: %v\n%s", err, out)
	}
	flags := map[string]bool{}
	for _, m := range helpFlag.FindAllStringSubmatch(string(out), -1) {
		flags[m[1]] = true
	}
	for _, known := range []string{"--web.listen-address", "--config.file", "--demo"} {
		if !flags[known] {
			t.Fatalf("help lacks %s; has the help format changed? Found %v\n%s", known, flags, out)
		}
	}
	return flags
}

func TestArgsAreExporterFlags(t *testing.T) {
	flags := exporterFlags(t)
	exporter := decodeOne[composeFile](t, composeFilePath).Services["exporter"]
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"kubernetes deployment", theContainer(t, manifest[deployment](t, "deployment.yaml")).Args},
		{"compose exporter", exporter.Command},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.args) == 0 {
				t.Fatal("no args")
			}
			for i, arg := range tc.args {
				name, _, _ := strings.Cut(arg, "=")
				switch {
				case i == 0 && arg == "serve":
				case !strings.HasPrefix(arg, "--"):
					t.Errorf("arg %q: want --flag=value (and serve first, if at all)", arg)
				case !flags[name]:
					t.Errorf("arg %q: the exporter has no flag %s", arg, name)
				}
			}
		})
	}
}

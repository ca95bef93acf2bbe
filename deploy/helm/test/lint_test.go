package charttest

import (
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
)

// TestHelmLint is helm lint --strict of every scenario (the same linter
// package the helm binary runs): warnings fail too.
func TestHelmLint(t *testing.T) {
	for name, values := range scenarios(t) {
		t.Run(name, func(t *testing.T) {
			vals, err := chartutil.ReadValues(values)
			if err != nil {
				t.Fatal(err)
			}
			linter := lint.All(chartDir, vals, namespace, true)
			for _, m := range linter.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", m)
				} else {
					t.Logf("helm lint: %s", m)
				}
			}
		})
	}
}

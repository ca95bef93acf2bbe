package promtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// exporterPackage is the main package BuildExporter builds.
const exporterPackage = "./cmd/entra_insights_exporter"

// exporterBuild caches the exporter binary for the whole test process. It
// is the package's one piece of mutable state, on purpose: linking a binary
// that contains the Graph SDK takes many seconds even with a warm build
// cache, and every e2e test needs the same binary. The mutex makes
// concurrent (parallel) tests wait for a single build; a failed build is not
// cached, so each test reports it.
var exporterBuild struct {
	sync.Mutex
	path string
}

// BuildExporter builds the exporter once per test process and returns the
// binary's path.
//
// The binary lives at a fixed path below os.TempDir (one per module
// checkout) and is replaced atomically, so repeated runs reuse one file
// instead of leaving a large binary behind each time, and test processes
// running at the same time never see a half-written file.
func BuildExporter(t testing.TB) string {
	t.Helper()
	exporterBuild.Lock()
	defer exporterBuild.Unlock()
	if exporterBuild.path != "" {
		return exporterBuild.path
	}
	path, err := buildExporter(t.Context())
	if err != nil {
		t.Fatalf("build exporter: %v", err)
	}
	exporterBuild.path = path
	return path
}

func buildExporter(ctx context.Context) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(root))
	dir := filepath.Join(os.TempDir(), "entra-insights-e2e-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create build dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "build-*")
	if err != nil {
		return "", fmt.Errorf("create build output: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name()) // no-op after a successful rename

	cmd := exec.CommandContext(ctx, "go", "build", "-o", tmp.Name(), exporterPackage)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", exporterPackage, err, out)
	}
	path := filepath.Join(dir, "entra_insights_exporter")
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("install binary: %w", err)
	}
	return path, nil
}

// moduleRoot returns the directory of the main module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside a Go module")
	}
	return filepath.Dir(gomod), nil
}

// StartExporter runs bin with args plus --web.listen-address on a free
// loopback port, waits until /-/ready answers and returns "127.0.0.1:PORT".
// The exporter is stopped when the test ends; its output is logged if the
// test failed.
func StartExporter(t testing.TB, bin string, args ...string) (addr string) {
	t.Helper()
	return startListening(t, "exporter", bin, "/-/ready", func(addr string) []string {
		return append(append([]string(nil), args...), "--web.listen-address="+addr)
	})
}

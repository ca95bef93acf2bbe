package deploytest

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// repoRoot is the repository root seen from this package's directory, where
// go test runs the tests.
const repoRoot = "../.."

var (
	kubernetesDir = filepath.Join(repoRoot, "deploy", "kubernetes")
	composeDir    = filepath.Join(repoRoot, "deploy", "compose")
)

// decodeAll decodes every document of a (multi-document) YAML file.
func decodeAll[T any](t *testing.T, path string) []T {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var docs []T
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc T
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: document %d: %v", path, len(docs)+1, err)
		}
		docs = append(docs, doc)
	}
}

// decodeOne decodes a YAML file that holds exactly one document.
func decodeOne[T any](t *testing.T, path string) T {
	t.Helper()
	docs := decodeAll[T](t, path)
	if len(docs) != 1 {
		t.Fatalf("%s: %d YAML documents, want 1", path, len(docs))
	}
	return docs[0]
}

func isYAML(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}

func TestEveryYAMLFileParses(t *testing.T) {
	for _, dir := range []string{kubernetesDir, composeDir} {
		var files []string
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && isYAML(path) {
				files = append(files, path)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Errorf("%s: no YAML files", dir)
		}
		for _, path := range files {
			t.Run(strings.TrimPrefix(path, repoRoot+"/"), func(t *testing.T) {
				if docs := decodeAll[yaml.Node](t, path); len(docs) == 0 {
					t.Error("no YAML document")
				}
			})
		}
	}
}

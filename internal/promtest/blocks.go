package promtest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// CreateBlocks turns an OpenMetrics file into TSDB blocks in dataDir with
// promtool and returns the number of samples in the blocks it created.
//
// promtool drops out-of-order and duplicate samples silently (exit 0), so
// callers compare the count with what they wrote. --max-block-duration
// (hidden from --help) lets promtool read the file once instead of once per
// 2-hour window, which turns hours into seconds for a year of history.
func CreateBlocks(t testing.TB, openmetricsFile, dataDir string) (samples int) {
	t.Helper()
	before, err := blockDirs(dataDir)
	if err != nil {
		t.Fatalf("list blocks: %v", err)
	}
	cmd := exec.CommandContext(t.Context(), "promtool", "tsdb", "create-blocks-from", "openmetrics",
		"--max-block-duration=744h", openmetricsFile, dataDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool tsdb create-blocks-from openmetrics %s: %v\n%s", openmetricsFile, err, out)
	}
	after, err := blockDirs(dataDir)
	if err != nil {
		t.Fatalf("list blocks: %v", err)
	}
	for dir := range after {
		if before[dir] {
			continue
		}
		n, err := blockSamples(filepath.Join(dataDir, dir))
		if err != nil {
			t.Fatalf("read block: %v", err)
		}
		samples += n
	}
	return samples
}

// blockDirs returns the names of the block directories (those holding a
// meta.json) in dataDir; a missing dataDir has none.
func blockDirs(dataDir string) (map[string]bool, error) {
	entries, err := os.ReadDir(dataDir)
	if os.IsNotExist(err) {
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, err
	}
	dirs := map[string]bool{}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(dataDir, e.Name(), "meta.json")); err == nil {
			dirs[e.Name()] = true
		}
	}
	return dirs, nil
}

// blockSamples reads stats.numSamples from a block's meta.json.
func blockSamples(blockDir string) (int, error) {
	raw, err := os.ReadFile(filepath.Join(blockDir, "meta.json"))
	if err != nil {
		return 0, err
	}
	var meta struct {
		Stats struct {
			NumSamples int `json:"numSamples"`
		} `json:"stats"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		return 0, fmt.Errorf("%s: %w", blockDir, err)
	}
	return meta.Stats.NumSamples, nil
}

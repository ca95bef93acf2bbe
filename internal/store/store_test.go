package store

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenDoesNotWrite: opening a set-up file changes nothing, so a start
// its caller then refuses (damaged documents) leaves the file as it was.
func TestOpenDoesNotWrite(t *testing.T) {
	data := realFile(t)
	path := filepath.Join(t.TempDir(), "state.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	err = s.View("t1", func(tx *Tx) error {
		if len(tx.Doc()) == 0 || len(tx.Sets()) != 2 {
			t.Errorf("doc of %d bytes, sets %q", len(tx.Doc()), tx.Sets())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, data) {
		t.Error("Open and View changed the file")
	}
}

// TestOpenErrorsFitTheCase: the advice to move a file away is given only
// for a damaged file; a directory, a missing parent and a file that cannot
// be read each say what is wrong.
func TestOpenErrorsFitTheCase(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		path string
		want string
	}{
		"directory":      {dir, "is a directory"},
		"missing parent": {filepath.Join(dir, "nope", "state.db"), "does not exist"},
	} {
		_, err := Open(tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "move it away") {
			t.Errorf("%s: %v, want an error saying %q and no advice to move a file away", name, err, tc.want)
		}
	}
}

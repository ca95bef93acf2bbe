package store

import (
	"bytes"
	"os"
	"path/filepath"
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

package logs

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entra-insights/entra_insights_exporter/internal/store"
)

// validStateFile writes a small real state file and returns its bytes.
func validStateFile(t testing.TB) []byte {
	events, signUps := population(6, 2, 0)
	c := &clock{t: testEnd}
	r := &fakeReader{now: c.now, signIns: events[:200], signUps: signUps, users: 5}
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Tenant: "t1", Reader: r, Store: st, Now: c.now, ActiveUserDims: testDims})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// FuzzDamagedStateFile damages a real state file (bytes overwritten at a
// fuzzed offset, or the file cut short) and starts on it: the start either
// succeeds or fails with an error naming the file; it never panics and
// never changes the file when it fails.
func FuzzDamagedStateFile(f *testing.F) {
	valid := validStateFile(f)
	f.Add(uint32(0), []byte{0xff, 0xff, 0xff, 0xff}, false)
	f.Add(uint32(4096), []byte("garbage"), false)
	f.Add(uint32(3*4096+100), []byte{0}, false)
	f.Add(uint32(len(valid)/2), []byte{}, true)
	f.Fuzz(func(t *testing.T, offset uint32, patch []byte, truncate bool) {
		data := bytes.Clone(valid)
		at := int(offset) % len(data)
		if truncate {
			data = data[:at]
		} else {
			copy(data[at:], patch)
		}
		path := filepath.Join(t.TempDir(), "state.db")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c := &clock{t: testEnd}
		st, err := store.Open(path)
		if err == nil {
			_, err = New(Options{Tenant: "t1", Reader: &fakeReader{now: c.now}, Store: st, Now: c.now, ActiveUserDims: testDims})
			st.Close()
		}
		if err == nil {
			return // the damage hit nothing that matters, or bbolt's free space
		}
		if !strings.Contains(err.Error(), path) {
			t.Fatalf("error does not name the file: %v", err)
		}
		after, _ := os.ReadFile(path)
		if len(data) >= 4096*2 && !bytes.Equal(after, data) {
			t.Fatalf("a failed start changed the damaged file: %v", err)
		}
	})
}

// TestDamagedFileNamed: a few fixed damages, each reported with the path.
func TestDamagedFileNamed(t *testing.T) {
	valid := validStateFile(t)
	for name, damage := range map[string]func([]byte) []byte{
		"meta pages zeroed": func(b []byte) []byte { clear(b[:8192]); return b },
		"cut short":         func(b []byte) []byte { return b[:len(b)/3] },
		"not a bbolt file":  func([]byte) []byte { return []byte(strings.Repeat("not a database\n", 1000)) },
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			data := damage(bytes.Clone(valid))
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			st, err := store.Open(path)
			if err == nil {
				_, err = New(Options{Tenant: "t1", Reader: &fakeReader{now: time.Now}, Store: st, ActiveUserDims: testDims})
				st.Close()
			}
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Fatalf("start on a damaged file: %v, want an error naming %s", err, path)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, data) {
				t.Error("the damaged file was changed")
			}
		})
	}
}

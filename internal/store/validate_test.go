package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// realFile writes a state file through the store with every shape of page
// the validator knows: branch pages (a set of 3000 keys), an overflowing
// value (the document), inline buckets (small sets, the meta bucket) and
// nested buckets with pages of their own.
func realFile(t testing.TB) []byte {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	claim, err := s.Claim("t1", func(*Tx) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update("t1", claim, func(tx *Tx) error {
		if err := tx.SetDoc(bytes.Repeat([]byte("document "), 2000)); err != nil {
			return err
		}
		for i := range 3000 {
			if err := tx.Put("ids", fmt.Appendf(nil, "event-%08d", i), []byte("1")); err != nil {
				return err
			}
		}
		return tx.Put("small", []byte("k"), []byte("v"))
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// layout locates what the damages below aim at, in a valid file.
type layout struct {
	v        *validator
	branch   int // offset of a branch page
	leaf     int // offset of a leaf page of plain keys (of the "ids" set)
	bucket   int // offset of a leaf element that is a bucket with a root page
	inline   int // offset of the value of a leaf element that is an inline bucket with keys
	metaPage int // offset of the meta page bbolt selects
}

func locate(t *testing.T, data []byte) layout {
	v, err := newValidator(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.run(); err != nil {
		t.Fatalf("the real file does not validate: %v", err)
	}
	l := layout{v: v, branch: -1, leaf: -1, bucket: -1, inline: -1}
	m0, _ := readMeta(data, 0)
	m1, _ := readMeta(data, v.pageSize)
	if l.metaPage = 0; m1.txid > m0.txid {
		l.metaPage = int(v.pageSize)
	}
	for id := uint64(2); id < v.hwm; id++ {
		if !isSet(v.used, id) || id == v.freelistID {
			continue
		}
		off := int(id * v.pageSize)
		flags, count := ne.Uint16(data[off+8:]), int(ne.Uint16(data[off+10:]))
		if ne.Uint64(data[off:]) != id {
			continue // an overflow page
		}
		switch flags {
		case branchFlag:
			l.branch = off
		case leafFlag:
			for i := range count {
				e := off + pageHeaderSize + i*elementSize
				if ne.Uint32(data[e:])&bucketFlag == 0 {
					if count > 10 {
						l.leaf = off
					}
					continue
				}
				value := e + int(ne.Uint32(data[e+4:])+ne.Uint32(data[e+8:]))
				if ne.Uint64(data[value:]) != 0 {
					l.bucket = e
				} else if ne.Uint16(data[value+bucketHeader+10:]) > 0 {
					l.inline = value
				}
			}
		}
	}
	if l.branch < 0 || l.leaf < 0 || l.bucket < 0 || l.inline < 0 {
		t.Fatalf("the real file lacks a page shape: %+v", l)
	}
	return l
}

func put32(b []byte, at int, v uint32) { binary.NativeEndian.PutUint32(b[at:], v) }
func put64(b []byte, at int, v uint64) { binary.NativeEndian.PutUint64(b[at:], v) }
func put16(b []byte, at int, v uint16) { binary.NativeEndian.PutUint16(b[at:], v) }

// setMeta changes a field (offset in the meta struct) of the meta page at
// off and fixes its checksum, as if bbolt had written it.
func setMeta(data []byte, off, field int, v uint64) {
	m := data[off+pageHeaderSize:]
	if field == 8 {
		put32(m, field, uint32(v))
	} else {
		put64(m, field, v)
	}
	h := fnv.New64a()
	h.Write(m[:checksummed])
	put64(m, checksummed, h.Sum64())
}

func TestValidate(t *testing.T) {
	valid := realFile(t)
	l := locate(t, valid)
	ps := int(l.v.pageSize)
	fl := int(l.v.freelistID) * ps
	leafPageID := uint64(l.leaf / ps)
	if ne.Uint16(valid[fl+10:]) < 2 {
		t.Fatal("the real file has fewer than two free pages")
	}
	for _, c := range []struct {
		name   string
		damage func(b []byte) []byte
		want   string // "": the file is fine
	}{
		{"untouched", func(b []byte) []byte { return b }, ""},
		{"newer meta page torn: the older one is used", func(b []byte) []byte {
			b[l.metaPage+pageHeaderSize+56] ^= 1
			return b
		}, ""},
		{"both meta pages torn", func(b []byte) []byte {
			b[pageHeaderSize+56] ^= 1
			b[ps+pageHeaderSize+56] ^= 1
			return b
		}, "no valid bbolt meta page"},
		{"not a bbolt file", func([]byte) []byte { return []byte(strings.Repeat("not a database\n", 1000)) }, "no valid bbolt meta page"},
		{"cut short", func(b []byte) []byte { return b[:(l.v.hwm-1)*l.v.pageSize] }, "high-water mark"},
		{"meta page header damaged", func(b []byte) []byte { b[ps] = 7; return b }, "meta page 1: its header says page 7"},
		{"cut inside the meta pages", func(b []byte) []byte { return b[:ps+100] }, "shorter than its two meta pages"},
		{"page size not a power of two", func(b []byte) []byte {
			setMeta(b, 0, 8, 3000)
			setMeta(b, ps, 8, 3000)
			return b
		}, "page size 3000"},
		{"page sizes of the meta pages differ", func(b []byte) []byte {
			setMeta(b, ps, 8, 8192)
			setMeta(b, ps, 48, 1<<40) // the newest
			return b
		}, "bbolt reads the file with"},
		{"root beyond the high-water mark", func(b []byte) []byte { setMeta(b, l.metaPage, 16, l.v.hwm); return b }, "root page"},
		{"freelist beyond the high-water mark", func(b []byte) []byte { setMeta(b, l.metaPage, 32, l.v.hwm+5); return b }, "freelist page"},
		{"freelist is a leaf page", func(b []byte) []byte { setMeta(b, l.metaPage, 32, leafPageID); return b }, "want a freelist page"},
		{"freelist page count too large", func(b []byte) []byte { put16(b, fl+10, 0xFFFE); return b }, "freelist ids do not fit"},
		{"freelist overflow count too large", func(b []byte) []byte {
			put16(b, fl+10, 0xFFFF)
			put64(b, fl+pageHeaderSize, 1<<62)
			return b
		}, "freelist ids do not fit"},
		{"freelist overflow count past the file", func(b []byte) []byte {
			put16(b, fl+10, 0xFFFF)
			put64(b, fl+pageHeaderSize, 1<<24) // bbolt would read 128 MiB of ids
			return b
		}, "freelist ids do not fit"},
		{"freelist holds page 0", func(b []byte) []byte {
			put16(b, fl+10, 1)
			put64(b, fl+pageHeaderSize, 0)
			return b
		}, "freelist id 0: page 0 outside"},
		{"freelist holds a page twice", func(b []byte) []byte {
			put64(b, fl+pageHeaderSize+8, ne.Uint64(b[fl+pageHeaderSize:]))
			return b
		}, "freed twice"},
		{"freelist holds a page in use", func(b []byte) []byte {
			put16(b, fl+10, 1)
			put64(b, fl+pageHeaderSize, leafPageID)
			return b
		}, "in use and on the freelist"},
		{"page header names another page", func(b []byte) []byte { put64(b, l.leaf, 9999); return b }, "its header says page 9999"},
		{"page of an unknown type", func(b []byte) []byte { put16(b, l.leaf+8, 0x04); return b }, "want a branch or leaf page"},
		{"overflow past the high-water mark", func(b []byte) []byte { put32(b, l.leaf+12, 1<<31); return b }, "overflow pages run past"},
		{"too many leaf elements", func(b []byte) []byte { put16(b, l.leaf+10, 0xFFFF); return b }, "leaf elements overflow the page"},
		{"leaf value outside the page", func(b []byte) []byte {
			put32(b, l.leaf+pageHeaderSize+3*elementSize+12, 1<<20)
			return b
		}, fmt.Sprintf("page %d: leaf element 3 value outside the page", leafPageID)},
		{"leaf key outside the page", func(b []byte) []byte {
			put32(b, l.leaf+pageHeaderSize+4, 0xFFFFFFFF)
			return b
		}, "leaf element 0 key outside the page"},
		{"empty key", func(b []byte) []byte { put32(b, l.leaf+pageHeaderSize+2*elementSize+8, 0); return b }, "leaf element 2 has an empty key"},
		{"keys out of order", func(b []byte) []byte {
			// element 1 points at element 0's key
			put32(b, l.leaf+pageHeaderSize+elementSize+4, ne.Uint32(b[l.leaf+pageHeaderSize+4:])+elementSize)
			return b
		}, "leaf element 1 key out of order"},
		{"branch without elements", func(b []byte) []byte { put16(b, l.branch+10, 0); return b }, "branch page without elements"},
		{"branch key outside the page", func(b []byte) []byte { put32(b, l.branch+pageHeaderSize+4, 1<<30); return b }, "branch element 0 key outside the page"},
		{"branch child beyond the high-water mark", func(b []byte) []byte {
			put64(b, l.branch+pageHeaderSize+8, l.v.hwm)
			return b
		}, "branch element 0 refers to page"},
		{"branch child is the branch itself", func(b []byte) []byte {
			put64(b, l.branch+pageHeaderSize+8, uint64(l.branch/ps))
			return b
		}, "reached twice"},
		{"branch child shared", func(b []byte) []byte {
			put64(b, l.branch+pageHeaderSize+elementSize+8, ne.Uint64(b[l.branch+pageHeaderSize+8:]))
			return b
		}, "reached twice"},
		{"bucket value shorter than a bucket header", func(b []byte) []byte { put32(b, l.bucket+12, 8); return b }, "bucket header does not fit"},
		{"bucket root beyond the high-water mark", func(b []byte) []byte {
			put64(b, l.bucket+int(ne.Uint32(b[l.bucket+4:])+ne.Uint32(b[l.bucket+8:])), l.v.hwm+1)
			return b
		}, "bucket root page"},
		{"bucket root is page 1", func(b []byte) []byte {
			put64(b, l.bucket+int(ne.Uint32(b[l.bucket+4:])+ne.Uint32(b[l.bucket+8:])), 1)
			return b
		}, "bucket root page 1"},
		{"inline bucket page is a branch", func(b []byte) []byte { put16(b, l.inline+bucketHeader+8, branchFlag); return b }, "inline bucket page flags"},
		{"inline bucket page names a page", func(b []byte) []byte { put64(b, l.inline+bucketHeader, 7); return b }, "inline bucket page header says page 7"},
		{"inline bucket value outside the value", func(b []byte) []byte {
			put32(b, l.inline+bucketHeader+pageHeaderSize+12, 200)
			return b
		}, "inline bucket: leaf element 0 value outside the page"},
		{"inline bucket holds a bucket", func(b []byte) []byte { put32(b, l.inline+bucketHeader+pageHeaderSize, bucketFlag); return b }, "bucket inside an inline bucket"},
		{"root bucket holds a plain value", func(b []byte) []byte {
			put32(b, int(l.v.rootID)*ps+pageHeaderSize, 0)
			return b
		}, "of the root bucket is not a bucket"},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := c.damage(bytes.Clone(valid))
			err := validate(data)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("validate: %v, want no error", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("validate: %v, want an error with %q", err, c.want)
			}
			// The store opens the file, or refuses it naming it, and leaves it as it is.
			path := filepath.Join(t.TempDir(), "state.db")
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(path)
			if c.want == "" {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded on a damaged file")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "damaged") {
				t.Fatalf("Open: %v, want a damaged error naming %s", err, path)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, data) {
				t.Error("the damaged file was changed")
			}
		})
	}
}

// TestValidateNoFreelist: bbolt walks the tree of a file without a
// freelist at open (panicking in a goroutine of its own on damage), so
// such a file is checked whole before bbolt opens it.
func TestValidateNoFreelist(t *testing.T) {
	valid := realFile(t)
	l := locate(t, valid)
	data := bytes.Clone(valid)
	setMeta(data, l.metaPage, 32, noFreelist)
	if err := validate(data); err != nil {
		t.Fatalf("validate without a freelist: %v", err)
	}
	put64(data, l.branch+pageHeaderSize+8, uint64(l.branch)/l.v.pageSize) // a cycle
	path := filepath.Join(t.TempDir(), "state.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path)
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded on a damaged file without a freelist")
	}
	if !strings.Contains(err.Error(), "reached twice") || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open: %v", err)
	}
}

// TestValidateBoltFiles: files bbolt writes in many shapes (after puts,
// deletes, bucket drops and nested buckets, with the freelist persisted or
// not) all validate, and what validates passes bbolt's own Tx.Check.
func TestValidateBoltFiles(t *testing.T) {
	for _, noSync := range []bool{false, true} {
		for round := range 4 {
			t.Run(fmt.Sprintf("nofreelistsync=%v/round%d", noSync, round), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "b.db")
				db, err := bolt.Open(path, 0o600, &bolt.Options{NoFreelistSync: noSync})
				if err != nil {
					t.Fatal(err)
				}
				for tx := range 5 + round*5 {
					if err := db.Update(func(btx *bolt.Tx) error {
						for b := range 3 {
							bk, err := btx.CreateBucketIfNotExists(fmt.Appendf(nil, "b%d", b))
							if err != nil {
								return err
							}
							for i := range 500 * (round + 1) {
								k := fmt.Appendf(nil, "%06d", (i*7919+tx*31)%5000)
								if (i+tx)%5 == 0 {
									if err := bk.Delete(k); err != nil {
										return err
									}
									continue
								}
								if err := bk.Put(k, bytes.Repeat([]byte{byte(i)}, 1+(i*tx)%300)); err != nil {
									return err
								}
							}
							nested, err := bk.CreateBucketIfNotExists([]byte("nested"))
							if err != nil {
								return err
							}
							if err := nested.Put(fmt.Appendf(nil, "n%d", tx), bytes.Repeat([]byte("x"), 100*tx)); err != nil {
								return err
							}
						}
						if tx%3 == 2 {
							return btx.DeleteBucket([]byte("b1"))
						}
						return nil
					}); err != nil {
						t.Fatal(err)
					}
				}
				if err := db.View(func(tx *bolt.Tx) error {
					for err := range tx.Check() {
						return err
					}
					return nil
				}); err != nil {
					t.Fatalf("bbolt's check: %v", err)
				}
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if err := validate(data); err != nil {
					t.Fatalf("validate: %v", err)
				}
			})
		}
	}
}

// FuzzValidate damages a real file anywhere: whatever validates must be a
// file bbolt reads without crashing and its own check finds sound.
func FuzzValidate(f *testing.F) {
	valid := realFile(f)
	f.Add(uint32(0), []byte{0xff})
	f.Add(uint32(2*4096+20), []byte{0xff, 0xff})
	f.Add(uint32(5*4096+40), []byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, offset uint32, patch []byte) {
		data := bytes.Clone(valid)
		copy(data[int(offset)%len(data):], patch)
		if validate(data) != nil {
			return
		}
		path := filepath.Join(t.TempDir(), "state.db")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
		if err != nil {
			return // bbolt's own refusal is fine
		}
		defer db.Close()
		if err := db.View(func(tx *bolt.Tx) error {
			for err := range tx.Check() {
				if !strings.Contains(err.Error(), "unreachable unfreed") {
					return err
				}
			}
			return tx.ForEach(func(_ []byte, b *bolt.Bucket) error { return walk(b) })
		}); err != nil {
			t.Fatalf("validated, but bbolt finds: %v", err)
		}
	})
}

// benchFile writes a ~50 MB bbolt file: 1 M keys of 16 bytes with small
// values in four buckets.
func benchFile(b *testing.B) string {
	path := filepath.Join(b.TempDir(), "bench.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	const keys, perTx = 1 << 20, 1 << 16
	for start := 0; start < keys; start += perTx {
		if err := db.Update(func(tx *bolt.Tx) error {
			for i := start; i < start+perTx; i++ {
				bk, err := tx.CreateBucketIfNotExists(fmt.Appendf(nil, "bucket%d", i%4))
				if err != nil {
					return err
				}
				bk.FillPercent = 0.8
				k := make([]byte, 16)
				binary.BigEndian.PutUint64(k[8:], uint64(i))
				if err := bk.Put(k, []byte("value!!!")); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkValidate: the check runs at every start, so it has to be fast.
func BenchmarkValidate(b *testing.B) {
	path := benchFile(b)
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("in memory", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if err := validate(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("with ReadFile", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			data, err := os.ReadFile(path)
			if err == nil {
				err = validate(data)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

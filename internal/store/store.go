// Package store keeps the logs source's state on disk: one bbolt file
// (--storage.path) with a bucket per tenant. Each tenant bucket holds one
// document (the aggregates and watermarks, encoded by the logs source) and
// named sets of keys (event ids of the overlap window, the users of the open
// periods), so a refresh writes only what changed. Every write of a tenant
// is one transaction: a crash leaves the last committed state.
package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// schema is the layout version of the file; a file of another version is
// refused rather than misread.
const schema = "1"

var (
	metaBucket    = []byte("meta")
	schemaKey     = []byte("schema")
	tenantsBucket = []byte("tenants")
	docKey        = []byte("doc")
	setsBucket    = []byte("sets")
)

// lockTimeout bounds the wait for the file lock another process holds.
const lockTimeout = 2 * time.Second

// Store is an open state file. It is safe for concurrent use.
type Store struct {
	db   *bolt.DB
	path string

	mu     sync.Mutex
	owners map[string]uint64 // tenant → the claim that may write it
	claims uint64
}

// ErrSuperseded is returned by Update when another claim of the tenant
// was made since: during a reload the new configuration's source takes
// over, and the old one must not write behind its back.
var ErrSuperseded = errors.New("state claimed by a newer source")

// Open opens or creates the state file at path and checks it whole: a
// damaged file or one of another layout is an error naming the path, and
// is left as it is (never reset).
func Open(path string) (s *Store, err error) {
	if path == "" {
		return nil, errors.New("no path")
	}
	info, statErr := os.Stat(path)
	existed := statErr == nil
	switch {
	case existed && info.IsDir():
		return nil, fmt.Errorf("%s: is a directory; give a file path inside it (e.g. %s)", path, filepath.Join(path, "state.db"))
	case errors.Is(statErr, fs.ErrNotExist):
		if dir := filepath.Dir(path); !isDir(dir) {
			return nil, fmt.Errorf("%s: its directory %s does not exist; create it or choose another path", path, dir)
		}
	}
	db, err := openBolt(path)
	if err != nil {
		switch {
		case errors.Is(err, bolterrors.ErrTimeout):
			return nil, fmt.Errorf("%s: in use by another process (only one exporter may use a state file)", path)
		case errors.Is(err, fs.ErrPermission):
			return nil, fmt.Errorf("%s: %w (check the file's and its directory's owner and mode)", path, err)
		case !existed:
			return nil, fmt.Errorf("%s: cannot create: %w", path, err)
		}
		return nil, fmt.Errorf("%s: %w (the file is kept as it is; move it away to start afresh)", path, err)
	}
	defer func() {
		if err != nil {
			_ = db.Close()
		}
	}()
	if err := check(db, existed); err != nil {
		return nil, fmt.Errorf("%s: %w (the file is kept as it is; move it away to start afresh)", path, err)
	}
	return &Store{db: db, path: path, owners: map[string]uint64{}}, nil
}

func isDir(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}

// openBolt opens the file. bbolt trusts its file and dies on some damage
// (see validate), so nothing of the file reaches bbolt unchecked: before
// bbolt opens it, what bbolt reads at open (its meta pages and freelist,
// or all of it when it has no freelist); once bbolt holds the file lock,
// so that no other process writes it while it is read, all of it. Panics
// of bbolt on damage it finds itself are errors.
func openBolt(path string) (db *bolt.DB, err error) {
	data, err := os.ReadFile(path)
	if err == nil && len(data) > 0 { // a missing file is created; other errors are bbolt's to report
		if err := checkLength(data); err != nil {
			return nil, err
		}
		v, err := newValidator(data)
		if err == nil {
			if v.freelistID == noFreelist {
				err = v.run() // bbolt walks the tree at open to rebuild the freelist
			} else {
				err = v.checkFreelist()
			}
		}
		if err != nil {
			return nil, fmt.Errorf("damaged: %w", err)
		}
	}
	defer recoverDamage(&err)
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		return nil, err
	}
	data, err = os.ReadFile(path)
	if err == nil {
		err = validate(data)
	}
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("damaged: %w", err)
	}
	return db, nil
}

// boltMagic marks a bbolt meta page.
const boltMagic = 0xED0CDAED

// checkLength refuses a file shorter than its meta pages say: bbolt would
// map the missing pages and the process would die of SIGBUS reading them,
// which no recover can catch.
func checkLength(data []byte) error {
	// The first meta page is at 0; the second one page further. Layout: a
	// 16-byte page header, then magic, version, pageSize, flags (uint32),
	// root bucket (16 bytes), freelist, pgid (uint64).
	const header = 16
	valid := false
	for _, at := range []int{0, -1} {
		if at < 0 {
			if len(data) < header+12 {
				break
			}
			at = int(binary.LittleEndian.Uint32(data[header+8:])) // the page size
		}
		if at < 0 || len(data) < at+header+48 {
			continue
		}
		m := data[at+header:]
		if binary.LittleEndian.Uint32(m) != boltMagic {
			continue
		}
		pageSize := uint64(binary.LittleEndian.Uint32(m[8:]))
		highWater := binary.LittleEndian.Uint64(m[40:])
		if pageSize < 512 || pageSize&(pageSize-1) != 0 || highWater > uint64(len(data))/pageSize {
			return fmt.Errorf("damaged: the file is shorter than its meta page says (%d bytes, %d pages of %d)", len(data), highWater, pageSize)
		}
		valid = true
	}
	if !valid && len(data) >= 4096 {
		return errors.New("damaged: no valid bbolt meta page (not a state file?)")
	}
	return nil
}

// walk reads every key and value of b and its nested buckets.
func walk(b *bolt.Bucket) error {
	return b.ForEach(func(k, v []byte) error {
		if v == nil {
			if nested := b.Bucket(k); nested != nil {
				return walk(nested)
			}
		}
		return nil
	})
}

// check reads every page of the file and checks its schema, and sets up a
// new file. bbolt panics on some damaged pages; that is reported as an error.
func check(db *bolt.DB, existed bool) (err error) {
	defer recoverDamage(&err)
	// Read every page in this goroutine (bbolt's own Tx.Check panics in a
	// goroutine of its own on some damage, which nothing can recover).
	ready := false
	if err := db.View(func(tx *bolt.Tx) error {
		if err := tx.ForEach(func(_ []byte, b *bolt.Bucket) error { return walk(b) }); err != nil {
			return err
		}
		meta := tx.Bucket(metaBucket)
		ready = meta != nil && bytes.Equal(meta.Get(schemaKey), []byte(schema)) && tx.Bucket(tenantsBucket) != nil
		return nil
	}); err != nil {
		return fmt.Errorf("damaged: %w", err)
	}
	if ready {
		// No write: every commit rewrites a meta page, and a file the
		// caller then refuses (its documents damaged) is to stay as it is.
		return nil
	}
	return db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(metaBucket)
		if meta == nil {
			empty := true
			_ = tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
			if existed && !empty {
				return errors.New("not an entra_insights_exporter state file (no meta bucket)")
			}
			var err error
			if meta, err = tx.CreateBucket(metaBucket); err != nil {
				return err
			}
			if err := meta.Put(schemaKey, []byte(schema)); err != nil {
				return err
			}
		}
		if v := meta.Get(schemaKey); !bytes.Equal(v, []byte(schema)) {
			return fmt.Errorf("state file layout %q, this exporter reads %q", v, schema)
		}
		_, err := tx.CreateBucketIfNotExists(tenantsBucket)
		return err
	})
}

// Path is the file's path.
func (s *Store) Path() string { return s.path }

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Size is the file's size in bytes.
func (s *Store) Size() (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error { n = tx.Size(); return nil })
	return n, err
}

// View runs fn with a read-only view of tenant's state.
func (s *Store) View(tenant string, fn func(*Tx) error) (err error) {
	defer recoverDamage(&err)
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(tenantsBucket).Bucket([]byte(tenant))
		return fn(&Tx{b: b})
	})
}

// Claim makes the caller the only writer of tenant's state and runs fn
// (which reads it) in the same write transaction, so that no write of an
// earlier claim can land after what fn read. It returns the claim for
// Update.
func (s *Store) Claim(tenant string, fn func(*Tx) error) (claim uint64, err error) {
	defer recoverDamage(&err)
	err = s.db.Update(func(tx *bolt.Tx) error {
		s.mu.Lock()
		s.claims++
		claim = s.claims
		s.owners[tenant] = claim
		s.mu.Unlock()
		return fn(&Tx{b: tx.Bucket(tenantsBucket).Bucket([]byte(tenant))})
	})
	return claim, err
}

// Update runs fn in one read-write transaction on tenant's state; nothing of
// it is written unless fn returns nil and the commit succeeds. It fails
// with ErrSuperseded when claim is no longer the tenant's newest.
func (s *Store) Update(tenant string, claim uint64, fn func(*Tx) error) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		s.mu.Lock()
		owner := s.owners[tenant]
		s.mu.Unlock()
		if owner != claim {
			return ErrSuperseded
		}
		b, err := tx.Bucket(tenantsBucket).CreateBucketIfNotExists([]byte(tenant))
		if err != nil {
			return err
		}
		return fn(&Tx{b: b})
	})
}

// Tx is one tenant's state inside a transaction. Byte slices it returns
// are valid only until the transaction ends.
type Tx struct {
	b *bolt.Bucket // nil: the tenant has no state yet (read-only)
}

// Doc returns the tenant's document, nil when there is none.
func (t *Tx) Doc() []byte {
	if t.b == nil {
		return nil
	}
	return t.b.Get(docKey)
}

// SetDoc replaces the tenant's document.
func (t *Tx) SetDoc(v []byte) error { return t.b.Put(docKey, v) }

// Sets returns the names of the tenant's sets.
func (t *Tx) Sets() []string {
	sets := t.sets()
	if sets == nil {
		return nil
	}
	var names []string
	_ = sets.ForEachBucket(func(k []byte) error { names = append(names, string(k)); return nil })
	return names
}

func (t *Tx) sets() *bolt.Bucket {
	if t.b == nil {
		return nil
	}
	return t.b.Bucket(setsBucket)
}

func (t *Tx) set(name string) (*bolt.Bucket, error) {
	sets, err := t.b.CreateBucketIfNotExists(setsBucket)
	if err != nil {
		return nil, err
	}
	return sets.CreateBucketIfNotExists([]byte(name))
}

// ForEach calls fn for every key of set name, in key order.
func (t *Tx) ForEach(name string, fn func(k, v []byte) error) error {
	sets := t.sets()
	if sets == nil {
		return nil
	}
	b := sets.Bucket([]byte(name))
	if b == nil {
		return nil
	}
	return b.ForEach(fn)
}

// Put sets key k of set name to v, creating the set.
func (t *Tx) Put(name string, k, v []byte) error {
	b, err := t.set(name)
	if err != nil {
		return err
	}
	return b.Put(k, v)
}

// Delete removes key k from set name.
func (t *Tx) Delete(name string, k []byte) error {
	b, err := t.set(name)
	if err != nil {
		return err
	}
	return b.Delete(k)
}

// DropSet removes set name and its keys.
func (t *Tx) DropSet(name string) error {
	sets := t.sets()
	if sets == nil || sets.Bucket([]byte(name)) == nil {
		return nil
	}
	return sets.DeleteBucket([]byte(name))
}

// recoverDamage turns a bbolt panic on a damaged page into an error.
func recoverDamage(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("damaged: %v", r)
	}
}

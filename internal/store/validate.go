package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
)

// validate checks a bbolt file, read into memory, before bbolt maps it.
//
// Why: bbolt trusts its file. It mmaps it and follows page ids, element
// offsets and counts without bounds checks, so a damaged page kills the
// process with SIGSEGV/SIGBUS (no recover), or panics in a goroutine of
// its own (Tx.Check, and the free-page scan of a file without a freelist).
// The exporter must instead report a damaged store at start. So this walks
// everything bbolt reads of the meta page bbolt will select: the freelist
// and the B+tree of every bucket, with the same layout (bbolt v1.4.3,
// internal/common: page.go, meta.go, bucket.go; internal/freelist) and the
// invariants bbolt's own Tx.Check asserts (page types, one reference per
// page, key order). Anything off is an error naming the page.
func validate(data []byte) error {
	if len(data) == 0 {
		return nil // a new file: bbolt initialises it
	}
	v, err := newValidator(data)
	if err != nil {
		return err
	}
	return v.run()
}

// newValidator checks the meta pages of the file in data (not empty) and
// returns a validator for the tree of the one bbolt will use.
func newValidator(data []byte) (*validator, error) {
	pageSize, err := bboltPageSize(data)
	if err != nil {
		return nil, err
	}
	if pageSize < minPageSize || pageSize > maxPageSize || pageSize&(pageSize-1) != 0 {
		return nil, fmt.Errorf("meta page: page size %d is not a power of two in [%d, %d]", pageSize, minPageSize, maxPageSize)
	}
	if uint64(len(data)) < 2*pageSize {
		return nil, fmt.Errorf("the file (%d bytes) is shorter than its two meta pages of %d bytes", len(data), pageSize)
	}
	m, which, err := selectMeta(data, pageSize)
	if err != nil {
		return nil, err
	}
	for i := range uint64(2) { // bbolt writes them whole; its Tx.Check asserts them
		h := data[i*pageSize:]
		if id, flags := ne.Uint64(h), ne.Uint16(h[8:]); id != i || flags != metaFlag {
			return nil, fmt.Errorf("meta page %d: its header says page %d, flags %#x", i, id, flags)
		}
	}
	switch {
	case m.pageSize != pageSize:
		return nil, fmt.Errorf("meta page %d: page size %d, but bbolt reads the file with %d", which, m.pageSize, pageSize)
	case m.pgid < 4 || m.pgid > uint64(len(data))/pageSize:
		return nil, fmt.Errorf("meta page %d: high-water mark %d pages of %d bytes does not fit the file (%d bytes)", which, m.pgid, pageSize, len(data))
	case m.root < 2 || m.root >= m.pgid:
		return nil, fmt.Errorf("meta page %d: root page %d outside [2, %d)", which, m.root, m.pgid)
	case m.freelist != noFreelist && (m.freelist < 2 || m.freelist >= m.pgid):
		return nil, fmt.Errorf("meta page %d: freelist page %d outside [2, %d)", which, m.freelist, m.pgid)
	}
	return &validator{data: data, pageSize: pageSize, hwm: m.pgid, rootID: m.root, freelistID: m.freelist}, nil
}

// run checks the freelist and the tree.
func (v *validator) run() error {
	if err := v.checkFreelist(); err != nil {
		return err
	}
	_, err := v.page(v.rootID, nil, nil, true)
	return err
}

// checkFreelist checks the freelist page, if the file has one: what bbolt
// reads of the file at open besides the meta pages.
func (v *validator) checkFreelist() error {
	words := (v.hwm + 63) / 64
	v.used = make([]uint64, words)
	v.free = make([]uint64, words)
	v.used[0] |= 3 // the meta pages
	if v.freelistID == noFreelist {
		return nil
	}
	return v.freelist(v.freelistID)
}

// The bbolt on-disk layout (native byte order, as bbolt writes it).
const (
	bboltVersion = 2
	noFreelist   = ^uint64(0)

	pageHeaderSize = 16 // id u64, flags u16, count u16, overflow u32
	elementSize    = 16 // leaf: flags, pos, ksize, vsize u32; branch: pos, ksize u32, pgid u64
	bucketHeader   = 16 // root pgid u64, sequence u64
	metaSize       = 64 // magic, version, pageSize, flags u32; root bucket; freelist, pgid, txid, checksum u64
	checksummed    = 56 // the meta bytes the checksum covers

	branchFlag   = 0x01
	leafFlag     = 0x02
	metaFlag     = 0x04
	freelistFlag = 0x10
	bucketFlag   = 0x01 // leaf element flag: the value is a bucket

	minPageSize = 512
	maxPageSize = 1 << 24 // bbolt probes for the second meta page up to 16 MiB
)

var ne = binary.NativeEndian

type meta struct {
	magic, version, pageSize uint64
	root, freelist, pgid     uint64
	txid, checksum, sum      uint64
}

// readMeta reads the meta struct of the page at off; ok is false when the
// file ends before it.
func readMeta(data []byte, off uint64) (m meta, ok bool) {
	if off+pageHeaderSize+metaSize > uint64(len(data)) {
		return m, false
	}
	b := data[off+pageHeaderSize : off+pageHeaderSize+metaSize]
	h := fnv.New64a()
	h.Write(b[:checksummed])
	return meta{
		magic:    uint64(ne.Uint32(b[0:])),
		version:  uint64(ne.Uint32(b[4:])),
		pageSize: uint64(ne.Uint32(b[8:])),
		root:     ne.Uint64(b[16:]),
		freelist: ne.Uint64(b[32:]),
		pgid:     ne.Uint64(b[40:]),
		txid:     ne.Uint64(b[48:]),
		checksum: ne.Uint64(b[56:]),
		sum:      h.Sum64(),
	}, true
}

// valid is bbolt's Meta.Validate.
func (m meta) valid() bool {
	return m.magic == boltMagic && m.version == bboltVersion && m.checksum == m.sum
}

// bboltPageSize finds the page size the way bbolt's DB.getPageSize does:
// the first meta page if it is valid, else the second one probed at 1 KiB
// ... 16 MiB, else the OS page size if either could be read.
func bboltPageSize(data []byte) (uint64, error) {
	size := uint64(len(data))
	canRead := size >= 4096
	if m, ok := readMeta(data, 0); ok && canRead && m.valid() {
		return m.pageSize, nil
	}
	for i := 0; i <= 14; i++ {
		pos := uint64(1024) << i
		if pos+1024 >= size {
			break
		}
		canRead = true
		if m, ok := readMeta(data, pos); ok && m.valid() {
			return m.pageSize, nil
		}
	}
	if !canRead {
		return 0, errors.New("no valid bbolt meta page (not a state file?)")
	}
	return uint64(os.Getpagesize()), nil
}

// selectMeta is bbolt's DB.meta: of the two meta pages the valid one with
// the higher transaction id.
func selectMeta(data []byte, pageSize uint64) (meta, int, error) {
	m0, _ := readMeta(data, 0)
	m1, _ := readMeta(data, pageSize)
	a, b, ia, ib := m0, m1, 0, 1
	if m1.txid > m0.txid {
		a, b, ia, ib = m1, m0, 1, 0
	}
	switch {
	case a.valid():
		return a, ia, nil
	case b.valid():
		return b, ib, nil
	}
	return meta{}, 0, errors.New("no valid bbolt meta page (bad magic, version or checksum in both)")
}

type validator struct {
	data               []byte
	pageSize, hwm      uint64 // hwm: the meta page's high-water mark (pages)
	rootID, freelistID uint64
	used               []uint64 // bit per page: reached (meta, freelist, tree)
	free               []uint64 // bit per page: on the freelist
}

func isSet(bits []uint64, id uint64) bool { return bits[id/64]&(1<<(id%64)) != 0 }
func set(bits []uint64, id uint64)        { bits[id/64] |= 1 << (id % 64) }

// span checks page id's header (its id, and its overflow pages inside the
// high-water mark and the file), marks its pages used and returns its bytes
// and header fields.
func (v *validator) span(id uint64) (p []byte, flags, count uint16, err error) {
	off := id * v.pageSize
	h := v.data[off : off+pageHeaderSize]
	if got := ne.Uint64(h); got != id {
		return nil, 0, 0, fmt.Errorf("page %d: its header says page %d", id, got)
	}
	flags, count = ne.Uint16(h[8:]), ne.Uint16(h[10:])
	last := id + uint64(ne.Uint32(h[12:]))
	if last >= v.hwm {
		return nil, 0, 0, fmt.Errorf("page %d: %d overflow pages run past the high-water mark %d", id, last-id, v.hwm)
	}
	for i := id; i <= last; i++ {
		switch {
		case isSet(v.used, i):
			return nil, 0, 0, fmt.Errorf("page %d: reached twice (a cycle or a shared page)", i)
		case isSet(v.free, i):
			return nil, 0, 0, fmt.Errorf("page %d: in use and on the freelist", i)
		}
		set(v.used, i)
	}
	return v.data[off : (last+1)*v.pageSize], flags, count, nil
}

// freelist checks the freelist page: every id once, in [2, high water),
// not the freelist itself.
func (v *validator) freelist(id uint64) error {
	p, flags, count, err := v.span(id)
	if err != nil {
		return err
	}
	if flags != freelistFlag {
		return fmt.Errorf("page %d: flags %#x, want a freelist page", id, flags)
	}
	ids := p[pageHeaderSize:]
	n := uint64(count)
	if count == 0xFFFF { // the real count is the first id slot
		if len(ids) < 8 {
			return fmt.Errorf("page %d: freelist count does not fit the page", id)
		}
		n, ids = ne.Uint64(ids), ids[8:]
	}
	if n > uint64(len(ids))/8 {
		return fmt.Errorf("page %d: %d freelist ids do not fit the page", id, n)
	}
	for i := uint64(0); i < n; i++ {
		free := ne.Uint64(ids[i*8:])
		switch {
		case free < 2 || free >= v.hwm:
			return fmt.Errorf("page %d: freelist id %d: page %d outside [2, %d)", id, i, free, v.hwm)
		case isSet(v.free, free):
			return fmt.Errorf("page %d: freelist id %d: page %d freed twice", id, i, free)
		case isSet(v.used, free):
			return fmt.Errorf("page %d: freelist id %d: page %d is in use", id, i, free)
		}
		set(v.free, free)
	}
	return nil
}

// page checks tree page id (in [2, high water)) of a bucket and its
// subtree: keys inside the page, in order and within [minKey, maxKey)
// (bbolt's Tx.Check rule), children and nested buckets. It returns the
// subtree's largest key. root is set for the root bucket, whose elements
// must all be buckets.
func (v *validator) page(id uint64, minKey, maxKey []byte, root bool) ([]byte, error) {
	p, flags, count, err := v.span(id)
	if err != nil {
		return nil, err
	}
	switch flags {
	case leafFlag:
		return v.leaf(p, count, fmt.Sprintf("page %d", id), minKey, maxKey, root, false)
	case branchFlag:
	default:
		return nil, fmt.Errorf("page %d: flags %#x, want a branch or leaf page", id, flags)
	}
	if count == 0 {
		return nil, fmt.Errorf("page %d: branch page without elements", id)
	}
	if pageHeaderSize+uint64(count)*elementSize > uint64(len(p)) {
		return nil, fmt.Errorf("page %d: %d branch elements overflow the page", id, count)
	}
	keys := make([][]byte, count)
	for i := range keys {
		e := pageHeaderSize + uint64(i)*elementSize
		start := e + uint64(ne.Uint32(p[e:]))
		end := start + uint64(ne.Uint32(p[e+4:]))
		switch {
		case end > uint64(len(p)):
			return nil, fmt.Errorf("page %d: branch element %d key outside the page", id, i)
		case end == start:
			return nil, fmt.Errorf("page %d: branch element %d has an empty key", id, i)
		}
		keys[i] = p[start:end]
	}
	running := minKey
	for i, k := range keys {
		if err := keyOrder(i, k, running, maxKey); err != nil {
			return nil, fmt.Errorf("page %d: branch element %d %w", id, i, err)
		}
		next := maxKey
		if i+1 < len(keys) {
			next = keys[i+1]
		}
		child := ne.Uint64(p[pageHeaderSize+uint64(i)*elementSize+8:])
		if child < 2 || child >= v.hwm {
			return nil, fmt.Errorf("page %d: branch element %d refers to page %d outside [2, %d)", id, i, child, v.hwm)
		}
		if running, err = v.page(child, k, next, root); err != nil {
			return nil, err
		}
	}
	return running, nil
}

// leaf checks the elements of leaf page p (a page of the file, or the
// inline page of a bucket value); where names it in errors.
func (v *validator) leaf(p []byte, count uint16, where string, minKey, maxKey []byte, root, inline bool) ([]byte, error) {
	if pageHeaderSize+uint64(count)*elementSize > uint64(len(p)) {
		return nil, fmt.Errorf("%s: %d leaf elements overflow the page", where, count)
	}
	last := minKey
	for i := 0; i < int(count); i++ {
		e := pageHeaderSize + uint64(i)*elementSize
		flags := ne.Uint32(p[e:])
		start := e + uint64(ne.Uint32(p[e+4:]))
		kend := start + uint64(ne.Uint32(p[e+8:]))
		vend := kend + uint64(ne.Uint32(p[e+12:]))
		switch {
		case kend > uint64(len(p)):
			return nil, fmt.Errorf("%s: leaf element %d key outside the page", where, i)
		case vend > uint64(len(p)):
			return nil, fmt.Errorf("%s: leaf element %d value outside the page", where, i)
		case kend == start:
			return nil, fmt.Errorf("%s: leaf element %d has an empty key", where, i)
		}
		k := p[start:kend]
		if err := keyOrder(i, k, last, maxKey); err != nil {
			return nil, fmt.Errorf("%s: leaf element %d %w", where, i, err)
		}
		last = k
		if flags&bucketFlag == 0 {
			if root {
				return nil, fmt.Errorf("%s: leaf element %d of the root bucket is not a bucket", where, i)
			}
			continue
		}
		if inline {
			return nil, fmt.Errorf("%s: leaf element %d is a bucket inside an inline bucket", where, i)
		}
		if err := v.bucket(p[kend:vend], fmt.Sprintf("%s: leaf element %d", where, i)); err != nil {
			return nil, err
		}
	}
	return last, nil
}

// bucket checks a nested bucket whose header is value: a root page, or
// (root 0) an inline leaf page inside the value.
func (v *validator) bucket(value []byte, where string) error {
	if len(value) < bucketHeader {
		return fmt.Errorf("%s: bucket header does not fit the value", where)
	}
	rootID := ne.Uint64(value)
	if rootID != 0 {
		if rootID < 2 || rootID >= v.hwm {
			return fmt.Errorf("%s: bucket root page %d outside [2, %d)", where, rootID, v.hwm)
		}
		_, err := v.page(rootID, nil, nil, false)
		return err
	}
	p := value[bucketHeader:]
	if len(p) < pageHeaderSize {
		return fmt.Errorf("%s: inline bucket page header does not fit the value", where)
	}
	// bbolt writes inline pages with id 0, and would free a non-zero id's
	// page when the bucket outgrows the inline page.
	if id, overflow := ne.Uint64(p), ne.Uint32(p[12:]); id != 0 || overflow != 0 {
		return fmt.Errorf("%s: inline bucket page header says page %d with %d overflow pages, want 0 and 0", where, id, overflow)
	}
	if flags := ne.Uint16(p[8:]); flags != leafFlag {
		return fmt.Errorf("%s: inline bucket page flags %#x, want a leaf page", where, flags)
	}
	_, err := v.leaf(p, ne.Uint16(p[10:]), where+": inline bucket", nil, nil, false, true)
	return err
}

// keyOrder is bbolt's verifyKeyOrder: key i of a page is above the previous
// one (at i = 0: not below the lower bound) and below the upper bound.
func keyOrder(i int, key, prev, maxKey []byte) error {
	if prev != nil {
		c := bytes.Compare(prev, key)
		if i == 0 && c > 0 || i > 0 && c >= 0 {
			return errors.New("key out of order")
		}
	}
	if maxKey != nil && bytes.Compare(key, maxKey) >= 0 {
		return errors.New("key not below the next key of the parent branch")
	}
	return nil
}

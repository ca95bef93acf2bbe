package logs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
)

// userKey identifies a user in 16 bytes: the userId GUID itself, or a hash
// of an id that is not a GUID.
type userKey [16]byte

func userKeyOf(id string) userKey {
	var k userKey
	if len(id) == 36 && id[8] == '-' && id[13] == '-' && id[18] == '-' && id[23] == '-' {
		if _, err := hex.Decode(k[:], []byte(strings.ReplaceAll(id, "-", ""))); err == nil {
			return k
		}
	}
	sum := sha256.Sum256([]byte(id))
	copy(k[:], sum[:])
	return k
}

// userSet is the distinct users of one open period: per user the tuples
// (tupleDims) of their successful sign-ins, and, kept up to date
// as users arrive, the number of users per projection of those tuples on
// the configured dimensions. Most users have one tuple, which costs one map
// entry of 20 bytes; only the others have a slice.
type userSet struct {
	dims []string // the dimensions kept (the projection)

	first map[userKey]uint32   // id of each user's first tuple
	more  map[userKey][]uint32 // ids of each user's further tuples

	tuples  []tuple // by id
	tupleID map[tuple]uint32
	proj    []uint32 // projected id of each tuple id

	projKeys []string // by projected id
	projID   map[string]uint32
	users    []int64 // distinct users by projected id
}

func newUserSet(dims []string) *userSet {
	return &userSet{
		dims:  slices.Clone(dims),
		first: map[userKey]uint32{}, more: map[userKey][]uint32{},
		tupleID: map[tuple]uint32{}, projID: map[string]uint32{},
	}
}

// intern returns the id of t, adding it and its projection when new.
func (u *userSet) intern(t tuple) uint32 {
	if id, ok := u.tupleID[t]; ok {
		return id
	}
	key := u.project(t)
	p, ok := u.projID[key]
	if !ok {
		p = uint32(len(u.projKeys))
		u.projID[key] = p
		u.projKeys = append(u.projKeys, key)
		u.users = append(u.users, 0)
	}
	id := uint32(len(u.tuples))
	u.tupleID[t] = id
	u.tuples = append(u.tuples, t)
	u.proj = append(u.proj, p)
	return id
}

// project joins the values of t's kept dimensions; dimensions a sign-in
// does not have (language) are empty.
func (u *userSet) project(t tuple) string {
	values := make([]string, len(u.dims))
	for i, d := range u.dims {
		if j := slices.Index(tupleDims[:], d); j >= 0 {
			values[i] = t[j]
		}
	}
	return strings.Join(values, keySep)
}

// add records that user k signed in with tuple t and reports whether k's
// tuples grew.
func (u *userSet) add(k userKey, t tuple) bool {
	id := u.intern(t)
	first, ok := u.first[k]
	if !ok {
		u.first[k] = id
		u.users[u.proj[id]]++
		return true
	}
	more := u.more[k]
	if first == id || slices.Contains(more, id) {
		return false
	}
	p := u.proj[id]
	counted := u.proj[first] == p
	for _, m := range more {
		counted = counted || u.proj[m] == p
	}
	if !counted {
		u.users[p]++
	}
	u.more[k] = append(more, id)
	return true
}

// len is the number of distinct users.
func (u *userSet) len() int64 { return int64(len(u.first)) }

// counts returns the distinct users per projected tuple.
func (u *userSet) counts() map[string]int64 {
	out := make(map[string]int64, len(u.projKeys))
	for p, key := range u.projKeys {
		if u.users[p] > 0 {
			out[key] = u.users[p]
		}
	}
	return out
}

// tuplesOf returns the tuples of user k.
func (u *userSet) tuplesOf(k userKey) []tuple {
	first, ok := u.first[k]
	if !ok {
		return nil
	}
	out := []tuple{u.tuples[first]}
	for _, id := range u.more[k] {
		out = append(out, u.tuples[id])
	}
	return out
}

// keySep joins label values into one key; label values are valid UTF-8
// and never hold it.
const keySep = "\x1f"

// tupleSep separates the tuples of one user in the store.
const tupleSep = "\x1e"

// splitKey splits a projected key of n values.
func splitKey(key string, n int) []string {
	if n == 0 {
		return nil
	}
	return strings.SplitN(key, keySep, n)
}

// encodeTuples is the store's value for a user: their tuples.
func encodeTuples(ts []tuple) []byte {
	var b strings.Builder
	for i, t := range ts {
		if i > 0 {
			b.WriteString(tupleSep)
		}
		b.WriteString(strings.Join(t[:], keySep))
	}
	return []byte(b.String())
}

var errBadTuples = errors.New("bad user tuples")

func decodeTuples(v []byte) ([]tuple, error) {
	if len(v) == 0 {
		return nil, errBadTuples
	}
	parts := strings.Split(string(v), tupleSep)
	out := make([]tuple, 0, len(parts))
	for _, p := range parts {
		f := strings.Split(p, keySep)
		if len(f) != len(tuple{}) {
			return nil, errBadTuples
		}
		out = append(out, tuple(f))
	}
	return out, nil
}

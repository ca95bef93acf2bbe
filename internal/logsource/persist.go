package logsource

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/entra-insights/entra_insights_exporter/internal/store"
)

// encode renders the state's document.
func (s *Source) encode() ([]byte, error) {
	d := doc{Schema: docSchema, SignIns: s.signIns, SignUps: s.signUps, Users: s.users, Registrations: s.registrations}
	for _, k := range slices.SortedFunc(maps.Keys(s.periods), func(a, b periodKey) int {
		if c := strings.Compare(string(a.g), string(b.g)); c != 0 {
			return c
		}
		return a.start.Compare(b.start)
	}) {
		d.Periods = append(d.Periods, s.periods[k].doc())
	}
	return json.Marshal(d)
}

// load reads the tenant's state from tx into s (empty when there is none).
func (s *Source) load(tx *store.Tx) error {
	s.reset()
	data := tx.Doc()
	if data == nil {
		return nil
	}
	d, err := decodeDoc(data)
	if err != nil {
		return err
	}
	s.signIns, s.signUps, s.users, s.registrations = d.SignIns, d.SignUps, d.Users, d.Registrations
	for i, pd := range d.Periods {
		p, err := periodFromDoc(pd, s.opts.ActiveUserDims[pd.Granularity])
		if err != nil {
			return fmt.Errorf("periods[%d]: %w", i, err)
		}
		k := periodKey{p.g, p.start}
		if _, dup := s.periods[k]; dup {
			return fmt.Errorf("periods[%d]: %s %s listed twice", i, p.g, p.start)
		}
		s.periods[k] = p
		if !p.open() {
			continue
		}
		if err := tx.ForEach(usersSet(p), func(k, v []byte) error {
			if len(k) != len(userKey{}) {
				return fmt.Errorf("%s: bad user key %x", usersSet(p), k)
			}
			tuples, err := decodeTuples(v)
			if err != nil {
				return fmt.Errorf("%s: user %x: %w", usersSet(p), k, err)
			}
			for _, t := range tuples {
				p.users.add(userKey(k), t)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	for _, name := range []string{feedSignIns, feedSignUps} {
		if err := tx.ForEach(seenSet(name), func(k, v []byte) error {
			created, err := decodeTime(v)
			if err != nil {
				return fmt.Errorf("%s: id %q: %w", seenSet(name), k, err)
			}
			s.seen[name][string(k)] = created
			return nil
		}); err != nil {
			return err
		}
	}
	return s.checkSets(tx)
}

// checkSets fails on a user set without an open period: a document and
// sets that disagree mean damage.
func (s *Source) checkSets(tx *store.Tx) error {
	open := map[string]bool{}
	for _, p := range s.periods {
		if p.open() {
			open[usersSet(p)] = true
		}
	}
	for _, set := range tx.Sets() {
		if strings.HasPrefix(set, "users/") && !open[set] {
			return fmt.Errorf("set %s belongs to no open period", set)
		}
		if strings.HasPrefix(set, "seen/") && set != seenSet(feedSignIns) && set != seenSet(feedSignUps) {
			return fmt.Errorf("unknown set %s", set)
		}
	}
	return nil
}

// reload replaces the in-memory state with the store's.
func (s *Source) reload() error {
	return s.opts.Store.View(s.opts.Tenant, s.load)
}

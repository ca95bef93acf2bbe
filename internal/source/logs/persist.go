package logs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/entra-insights/entra_insights_exporter/internal/store"
)

// migrate readies a state read from an earlier layout, whose periods
// decodePeriod converted as it read them, for the next commit to write it
// whole in layout docSchema (s.migratingFrom). A layout-1 state's sign-ups
// are dropped on the way (migrateSignUps).
func (s *Source) migrate(layout int) {
	s.migratingFrom = layout
	if layout == 1 {
		s.migrateSignUps()
	}
	s.opts.Logger.Info("the state was written in an earlier layout; the next refresh writes it in this release's",
		"path", s.storePath(), "layout", layout, "new_layout", docSchema)
}

// migrateSignUps moves a layout-1 state to layout 2. Layout 1 counted every
// sign-up event as a sign-up, and Graph logs one per stage of a flow: its
// sign-up numbers are dropped and the sign-ups feed starts again, so what
// Graph still keeps (7 days in external tenants) is counted anew as flows.
// The next commit drops the seen sign-up ids too.
func (s *Source) migrateSignUps() {
	for _, p := range s.periods {
		p.signU = map[string]*counts{}
	}
	s.signUps = feed{}
	s.seen[feedSignUps] = map[string]time.Time{}
	s.opts.Logger.Info("the state was written by an earlier release that counted each stage of a sign-up as a sign-up;"+
		" its sign-up numbers are dropped and the sign-ups Graph still keeps are read again", "path", s.storePath())
}

func (s *Source) storePath() string {
	if s.opts.Store == nil {
		return ""
	}
	return s.opts.Store.Path()
}

// write stores what change c changed.
func (s *Source) write(tx *store.Tx, c *change) error {
	if s.migratingFrom != 0 {
		for _, p := range s.periods {
			c.periods[p] = true
		}
	}
	if s.migratingFrom == 1 { // migrateSignUps
		if err := tx.DropSet(seenSet(feedSignUps)); err != nil {
			return err
		}
	}
	for name, ids := range c.seen {
		f := s.feed(name)
		for id, created := range ids {
			if created.Before(f.SeenSince) {
				continue // already out of the window
			}
			if err := tx.Put(seenSet(name), []byte(id), encodeTime(created)); err != nil {
				return err
			}
		}
	}
	for name, ids := range c.pruned {
		for _, id := range ids {
			if err := tx.Delete(seenSet(name), []byte(id)); err != nil {
				return err
			}
		}
	}
	for p, users := range c.users {
		if !p.open() {
			continue // closed in this round: its set is dropped below
		}
		for k := range users {
			if err := tx.Put(usersSet(p), k[:], encodeTuples(p.users.tuplesOf(k))); err != nil {
				return err
			}
		}
	}
	for p, flows := range c.flows {
		if !p.open() {
			continue
		}
		for id := range flows {
			if err := tx.Put(flowsSet(p), []byte(id), []byte{byte(p.flows[id])}); err != nil {
				return err
			}
		}
	}
	for _, p := range c.closed {
		c.periods[p] = true
		if err := dropSets(tx, p); err != nil {
			return err
		}
	}
	for _, p := range c.dropped {
		delete(c.periods, p)
		if err := dropSets(tx, p); err != nil {
			return err
		}
		if err := tx.Delete(periodsSet, periodKey{p.g, p.start}.storeKey()); err != nil {
			return err
		}
	}
	for p := range c.periods {
		data, err := json.Marshal(p.doc())
		if err != nil {
			return err
		}
		if err := tx.Put(periodsSet, periodKey{p.g, p.start}.storeKey(), data); err != nil {
			return err
		}
	}
	s.migratingFrom = 0 // written with this transaction; a failed one reloads and migrates again
	data, err := json.Marshal(doc{Schema: docSchema, SignIns: s.signIns, SignUps: s.signUps, Users: s.users,
		Registrations: s.registrations, Inactive: s.inactive})
	if err != nil {
		return err
	}
	return tx.SetDoc(data)
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
	s.signIns, s.signUps, s.users, s.registrations, s.inactive = d.SignIns, d.SignUps, d.Users, d.Registrations, d.Inactive
	if err := tx.ForEach(periodsSet, func(key, v []byte) error {
		p, err := decodePeriod(v, d.Schema, s.opts.ActiveUserDims)
		if err != nil {
			return fmt.Errorf("%s/%s: %w", periodsSet, key, err)
		}
		k := periodKey{p.g, p.start}
		if !bytes.Equal(k.storeKey(), key) {
			return fmt.Errorf("%s/%s: holds period %s", periodsSet, key, k.storeKey())
		}
		s.periods[k] = p
		return nil
	}); err != nil {
		return err
	}
	for _, p := range s.periods {
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
		if err := tx.ForEach(flowsSet(p), func(k, v []byte) error {
			if len(v) != 1 {
				return fmt.Errorf("%s: flow %q: bad stages %x", flowsSet(p), k, v)
			}
			p.flows[string(k)] = flowMask(v[0])
			return nil
		}); err != nil {
			return err
		}
	}
	if d.Schema < docSchema {
		s.migrate(d.Schema)
	}
	for _, name := range []string{feedSignIns, feedSignUps} {
		if s.migratingFrom == 1 && name == feedSignUps {
			continue // re-read from scratch (migrateSignUps)
		}
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
			open[usersSet(p)], open[flowsSet(p)] = true, true
		}
	}
	for _, set := range tx.Sets() {
		if (strings.HasPrefix(set, "users/") || strings.HasPrefix(set, "flows/")) && !open[set] {
			return fmt.Errorf("set %s belongs to no open period", set)
		}
		if strings.HasPrefix(set, "seen/") && set != seenSet(feedSignIns) && set != seenSet(feedSignUps) {
			return fmt.Errorf("unknown set %s", set)
		}
	}
	return nil
}

// dropSets drops the sets of a period that closed or is dropped.
func dropSets(tx *store.Tx, p *period) error {
	if err := tx.DropSet(usersSet(p)); err != nil {
		return err
	}
	return tx.DropSet(flowsSet(p))
}

// reload replaces the in-memory state with the store's.
func (s *Source) reload() error {
	return s.opts.Store.View(s.opts.Tenant, s.load)
}

// Reclaim makes s its tenant's writer again after a newer source claimed
// the state and was then dropped (a reload that failed): it claims anew and
// reloads what that source may have committed meanwhile, so the running
// source neither stops saving nor overwrites it. The newer source must
// have stopped.
func (s *Source) Reclaim() error {
	if s.opts.Store == nil {
		return nil
	}
	s.syncing.Lock()
	defer s.syncing.Unlock()
	claim, err := s.opts.Store.Claim(s.opts.Tenant, s.load)
	if err != nil {
		return fmt.Errorf("%s: tenant %q: reclaim: %w", s.opts.Store.Path(), s.opts.Tenant, err)
	}
	s.claim = claim
	s.publish()
	return nil
}

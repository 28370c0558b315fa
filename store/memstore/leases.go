package memstore

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/p2sgw/p2sgw/store"
)

// Leases returns every lease of pool, active or released, sorted by address. A pool is
// known by its masked prefix; a pool with no leases, or an invalid prefix, has none.
func (s *Store) Leases(ctx context.Context, pool netip.Prefix) ([]store.Lease, error) {
	if err := s.lock(ctx); err != nil {
		return nil, fmt.Errorf("store: list leases of %s: %w", pool, err)
	}
	defer s.mu.Unlock()
	if !pool.IsValid() {
		return nil, nil
	}
	byAddr := s.leases[pool.Masked()]
	var out []store.Lease
	for _, a := range slices.SortedFunc(maps.Keys(byAddr), netip.Addr.Compare) {
		var l store.Lease
		if err := json.Unmarshal(byAddr[a], &l); err != nil {
			return nil, fmt.Errorf("store: list leases of %s: record %s: %w", pool, a, err)
		}
		out = append(out, l)
	}
	return out, nil
}

// PutLease creates or replaces the lease of l.Addr in l.Pool. It is an error if l.Pool is not
// a valid prefix or does not contain l.Addr.
func (s *Store) PutLease(ctx context.Context, l store.Lease) error {
	if err := store.CheckLease(l.Pool, l.Addr); err != nil {
		return fmt.Errorf("store: put lease: %w", err)
	}
	val, err := json.Marshal(l)
	if err == nil {
		err = s.lock(ctx)
	}
	if err != nil {
		return fmt.Errorf("store: put lease %s in %s: %w", l.Addr, l.Pool, err)
	}
	defer s.mu.Unlock()
	pool := l.Pool.Masked()
	if s.leases == nil {
		s.leases = make(map[netip.Prefix]map[netip.Addr][]byte)
	}
	if s.leases[pool] == nil {
		s.leases[pool] = make(map[netip.Addr][]byte)
	}
	s.leases[pool][l.Addr] = val
	return nil
}

// DeleteLease forgets the lease of addr in pool; store.ErrNotFound if there is none.
func (s *Store) DeleteLease(ctx context.Context, pool netip.Prefix, addr netip.Addr) error {
	err := s.lock(ctx)
	if err == nil {
		err = s.deleteLeaseLocked(pool, addr)
		s.mu.Unlock()
	}
	if err != nil {
		return fmt.Errorf("store: delete lease %s in %s: %w", addr, pool, err)
	}
	return nil
}

func (s *Store) deleteLeaseLocked(pool netip.Prefix, addr netip.Addr) error {
	if store.CheckLease(pool, addr) != nil {
		return store.ErrNotFound
	}
	byAddr := s.leases[pool.Masked()]
	if _, ok := byAddr[addr]; !ok {
		return store.ErrNotFound
	}
	delete(byAddr, addr)
	if len(byAddr) == 0 {
		delete(s.leases, pool.Masked())
	}
	return nil
}

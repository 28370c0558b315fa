// Package memstore is an in-memory store.Store: the test double for code that keeps state in a
// store, with the semantics of the durable backends (package store/bolt) checked by the same
// conformance suite (package store/storetest). It is not for production: nothing survives the
// process.
//
// Records are held in their JSON encoding, as the durable backends hold them, so what a test
// reads back is what it would read back from bolt: DER bytes copied, times without their
// monotonic reading, records that cannot be encoded refused.
package memstore

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sync"

	"github.com/p2sgw/p2sgw/store"
)

var _ store.Store = (*Store)(nil)

// Store is an in-memory store.Store. The zero value is an empty store ready to use. Its
// methods are safe for concurrent use.
type Store struct {
	mu sync.Mutex
	// Guarded by mu. Values are JSON-encoded records; maps are made on first write.
	closed   bool
	roots    map[string][]byte                      // by name
	revoked  map[string][]byte                      // by name
	leases   map[netip.Prefix]map[netip.Addr][]byte // by masked pool, then address
	sessions map[string][]byte                      // by id
}

// New returns an empty Store.
func New() *Store { return new(Store) }

// Close empties the store. Calls after the first return store.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	s.closed = true
	s.roots, s.revoked, s.leases, s.sessions = nil, nil, nil, nil
	return nil
}

// lock takes s.mu unless ctx is done or the store is closed; on a nil error the caller must
// unlock.
func (s *Store) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return store.ErrClosed
	}
	return nil
}

// decodeAll decodes the records of m sorted by key.
func decodeAll[T any](m map[string][]byte) ([]T, error) {
	var out []T
	for _, k := range slices.Sorted(maps.Keys(m)) {
		var rec T
		if err := json.Unmarshal(m[k], &rec); err != nil {
			return nil, fmt.Errorf("record %q: %w", k, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

// list returns the records of the map that field points at, sorted by key.
func list[T any](s *Store, ctx context.Context, field *map[string][]byte) ([]T, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	return decodeAll[T](*field)
}

// put stores rec under key in the map that field points at, making the map if need be. With
// replace false it fails with store.ErrExists if the key is taken.
func put(s *Store, ctx context.Context, field *map[string][]byte, key string, rec any, replace bool) error {
	val, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if *field == nil {
		*field = make(map[string][]byte)
	}
	if _, ok := (*field)[key]; ok && !replace {
		return store.ErrExists
	}
	(*field)[key] = val
	return nil
}

// remove deletes key from the map that field points at; store.ErrNotFound if it is not there.
func remove(s *Store, ctx context.Context, field *map[string][]byte, key string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := (*field)[key]; !ok {
		return store.ErrNotFound
	}
	delete(*field, key)
	return nil
}

// RootCerts returns every trusted root, sorted by name.
func (s *Store) RootCerts(ctx context.Context) ([]store.RootCert, error) {
	rs, err := list[store.RootCert](s, ctx, &s.roots)
	if err != nil {
		return nil, fmt.Errorf("store: list roots: %w", err)
	}
	return rs, nil
}

// AddRootCert adds r; store.ErrExists if a root with r.Name exists. An empty name, or one that
// is not valid UTF-8, is an error.
func (s *Store) AddRootCert(ctx context.Context, r store.RootCert) error {
	if err := store.CheckKey("name", r.Name); err != nil {
		return fmt.Errorf("store: add root: %w", err)
	}
	if err := put(s, ctx, &s.roots, r.Name, r, false); err != nil {
		return fmt.Errorf("store: add root %q: %w", r.Name, err)
	}
	return nil
}

// RemoveRootCert removes the root called name; store.ErrNotFound if there is none.
func (s *Store) RemoveRootCert(ctx context.Context, name string) error {
	if err := remove(s, ctx, &s.roots, name); err != nil {
		return fmt.Errorf("store: remove root %q: %w", name, err)
	}
	return nil
}

// RevokedCerts returns every revoked certificate entry, sorted by name.
func (s *Store) RevokedCerts(ctx context.Context) ([]store.RevokedCert, error) {
	rs, err := list[store.RevokedCert](s, ctx, &s.revoked)
	if err != nil {
		return nil, fmt.Errorf("store: list revoked: %w", err)
	}
	return rs, nil
}

// AddRevokedCert adds r; store.ErrExists if an entry with r.Name exists. An empty name, or one
// that is not valid UTF-8, is an error.
func (s *Store) AddRevokedCert(ctx context.Context, r store.RevokedCert) error {
	if err := store.CheckKey("name", r.Name); err != nil {
		return fmt.Errorf("store: add revoked: %w", err)
	}
	if err := put(s, ctx, &s.revoked, r.Name, r, false); err != nil {
		return fmt.Errorf("store: add revoked %q: %w", r.Name, err)
	}
	return nil
}

// RemoveRevokedCert removes the entry called name; store.ErrNotFound if there is none.
func (s *Store) RemoveRevokedCert(ctx context.Context, name string) error {
	if err := remove(s, ctx, &s.revoked, name); err != nil {
		return fmt.Errorf("store: remove revoked %q: %w", name, err)
	}
	return nil
}

// Sessions returns every session record, sorted by id.
func (s *Store) Sessions(ctx context.Context) ([]store.Session, error) {
	ss, err := list[store.Session](s, ctx, &s.sessions)
	if err != nil {
		return nil, fmt.Errorf("store: list sessions: %w", err)
	}
	return ss, nil
}

// PutSession creates or replaces the record of sess.ID. An empty id, or one that is
// not valid UTF-8, is an error.
func (s *Store) PutSession(ctx context.Context, sess store.Session) error {
	if err := store.CheckKey("id", sess.ID); err != nil {
		return fmt.Errorf("store: put session: %w", err)
	}
	if err := put(s, ctx, &s.sessions, sess.ID, sess, true); err != nil {
		return fmt.Errorf("store: put session %q: %w", sess.ID, err)
	}
	return nil
}

// DeleteSession removes the record of id; store.ErrNotFound if there is none.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if err := remove(s, ctx, &s.sessions, id); err != nil {
		return fmt.Errorf("store: delete session %q: %w", id, err)
	}
	return nil
}

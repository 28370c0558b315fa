package bolt

import (
	"context"
	"fmt"

	"github.com/p2sgw/p2sgw/store"
)

// RootCerts returns every trusted root, sorted by name.
func (s *Store) RootCerts(ctx context.Context) ([]store.RootCert, error) {
	rs, err := list(s, ctx, bucketRoots, decodeRoot)
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
	if err := s.put(ctx, bucketRoots, []byte(r.Name), r, false); err != nil {
		return fmt.Errorf("store: add root %q: %w", r.Name, err)
	}
	return nil
}

// RemoveRootCert removes the root called name; store.ErrNotFound if there is none.
func (s *Store) RemoveRootCert(ctx context.Context, name string) error {
	if err := s.remove(ctx, bucketRoots, []byte(name)); err != nil {
		return fmt.Errorf("store: remove root %q: %w", name, err)
	}
	return nil
}

// RevokedCerts returns every revoked certificate entry, sorted by name.
func (s *Store) RevokedCerts(ctx context.Context) ([]store.RevokedCert, error) {
	rs, err := list(s, ctx, bucketRevoked, decodeRevoked)
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
	if err := s.put(ctx, bucketRevoked, []byte(r.Name), r, false); err != nil {
		return fmt.Errorf("store: add revoked %q: %w", r.Name, err)
	}
	return nil
}

// RemoveRevokedCert removes the entry called name; store.ErrNotFound if there is none.
func (s *Store) RemoveRevokedCert(ctx context.Context, name string) error {
	if err := s.remove(ctx, bucketRevoked, []byte(name)); err != nil {
		return fmt.Errorf("store: remove revoked %q: %w", name, err)
	}
	return nil
}

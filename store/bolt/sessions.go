package bolt

import (
	"context"
	"fmt"

	"github.com/p2sgw/p2sgw/store"
)

// Sessions returns every session record, sorted by id.
func (s *Store) Sessions(ctx context.Context) ([]store.Session, error) {
	ss, err := list(s, ctx, bucketSessions, decodeSession)
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
	if err := s.put(ctx, bucketSessions, []byte(sess.ID), sess, true); err != nil {
		return fmt.Errorf("store: put session %q: %w", sess.ID, err)
	}
	return nil
}

// DeleteSession removes the record of id; store.ErrNotFound if there is none.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if err := s.remove(ctx, bucketSessions, []byte(id)); err != nil {
		return fmt.Errorf("store: delete session %q: %w", id, err)
	}
	return nil
}

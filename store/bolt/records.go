package bolt

import (
	"context"
	"encoding/json"

	"github.com/p2sgw/p2sgw/store"
	"go.etcd.io/bbolt"
)

// The helpers below are the three shapes of access the flat buckets (roots, revoked,
// sessions) need; leases nest a bucket per pool and have their own in leases.go.

// list decodes every record of bucket in key order.
func list[T any](s *Store, ctx context.Context, bucket []byte, decode func(key, val []byte) (T, error)) ([]T, error) {
	var out []T
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			rec, err := decode(k, v)
			if err != nil {
				return err
			}
			out = append(out, rec)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// put stores rec under key in bucket. With replace false it fails with store.ErrExists if the
// key is taken.
func (s *Store) put(ctx context.Context, bucket, key []byte, rec any, replace bool) error {
	val, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return s.update(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucket)
		if !replace && b.Get(key) != nil {
			return store.ErrExists
		}
		return b.Put(key, val)
	})
}

// remove deletes key from bucket; store.ErrNotFound if it is not there.
func (s *Store) remove(ctx context.Context, bucket, key []byte) error {
	return s.update(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucket)
		if b.Get(key) == nil {
			return store.ErrNotFound
		}
		return b.Delete(key)
	})
}

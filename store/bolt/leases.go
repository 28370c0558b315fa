package bolt

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"

	"github.com/p2sgw/p2sgw/store"
	"go.etcd.io/bbolt"
)

// Leases returns every lease of pool, active or released, sorted by address. A pool is
// known by its masked prefix; a pool with no leases, or an invalid prefix, has none.
func (s *Store) Leases(ctx context.Context, pool netip.Prefix) ([]store.Lease, error) {
	var out []store.Lease
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		if !pool.IsValid() {
			return nil
		}
		pk := poolKey(pool)
		b := tx.Bucket(bucketLeases).Bucket(pk)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			l, err := decodeLease(pk, k, v)
			if err != nil {
				return err
			}
			out = append(out, l)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: list leases of %s: %w", pool, err)
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
		err = s.update(ctx, func(tx *bbolt.Tx) error {
			b, err := tx.Bucket(bucketLeases).CreateBucketIfNotExists(poolKey(l.Pool))
			if err != nil {
				return err
			}
			return b.Put(addrKey(l.Addr), val)
		})
	}
	if err != nil {
		return fmt.Errorf("store: put lease %s in %s: %w", l.Addr, l.Pool, err)
	}
	return nil
}

// DeleteLease forgets the lease of addr in pool; store.ErrNotFound if there is none. The
// pool's bucket goes with its last lease.
func (s *Store) DeleteLease(ctx context.Context, pool netip.Prefix, addr netip.Addr) error {
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		if store.CheckLease(pool, addr) != nil {
			return store.ErrNotFound
		}
		leases, pk, ak := tx.Bucket(bucketLeases), poolKey(pool), addrKey(addr)
		b := leases.Bucket(pk)
		if b == nil || b.Get(ak) == nil {
			return store.ErrNotFound
		}
		if err := b.Delete(ak); err != nil {
			return err
		}
		if k, _ := b.Cursor().First(); k == nil {
			return leases.DeleteBucket(pk)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete lease %s in %s: %w", addr, pool, err)
	}
	return nil
}

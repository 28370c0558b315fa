// Package storetest is the conformance suite for store.Store implementations: every backend
// (store/bolt, store/memstore, a future etcd) runs Run from its own tests, so callers and test
// doubles can rely on one behaviour. It is not a test helper for callers of a Store; they use
// store/memstore.
//
// Beyond the store.Store comments, the suite pins down these choices:
//
//   - Names and ids are compared as bytes: listings sort in byte order and names differing only
//     in case are distinct. A name or id that is empty or not valid UTF-8 is refused by adds and
//     puts (with ErrInvalid) and is simply not found by
//     removes. Other strings should be UTF-8 too: invalid bytes in them may come back as U+FFFD.
//   - DER bytes come back exactly as given, and the store keeps no alias of a caller's slice in
//     either direction.
//   - Times keep their instant to the nanosecond. Compare them with time.Time.Equal: the
//     monotonic reading is dropped and the Location may come back as a fixed zone or UTC.
//   - netip values round-trip exactly, zero values included.
//   - A pool is known by its masked prefix: 100.64.0.9/16 and 100.64.0.0/16 name one pool;
//     100.64.0.0/16 and 100.64.0.0/24 are two pools, even though one contains the other.
//     PutLease refuses a lease whose pool is invalid or does not contain its address (an
//     IPv4-mapped IPv6 address is not in an IPv4 pool); reads and deletes treat such a pool or
//     address as holding nothing.
//   - Leases list in numeric address order; a lease is replaced whole by PutLease.
//   - A cancelled context fails every method with the context's error and writes nothing.
//   - After Close every method, Close included, fails with ErrClosed.
package storetest

import (
	"errors"
	"testing"

	"github.com/p2sgw/p2sgw/store"
)

// Run runs the conformance suite against the stores open makes. Every subtest calls open for a
// fresh, empty store and closes it when done (an ErrClosed from that Close is ignored); open
// may use t for temporary directories and must fail t if it cannot open a store.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	for _, k := range namedKinds {
		t.Run(k.name, func(t *testing.T) { testNamed(t, open, k) })
	}
	t.Run("RootCerts", func(t *testing.T) { testRootCerts(t, open) })
	t.Run("RevokedCerts", func(t *testing.T) { testRevokedCerts(t, open) })
	t.Run("Leases", func(t *testing.T) { testLeases(t, open) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, open) })
	t.Run("Times", func(t *testing.T) { testTimes(t, open) })
	t.Run("Cancelled", func(t *testing.T) { testCancelled(t, open) })
	t.Run("Closed", func(t *testing.T) { testClosed(t, open) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, open) })
}

// newStore opens a store for one subtest and closes it at the subtest's end.
func newStore(t *testing.T, open func(t *testing.T) store.Store) store.Store {
	t.Helper()
	s := open(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// wantIs fails t unless err wraps want.
func wantIs(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}

// wantInvalid fails t unless err is a refusal of bad input: non-nil and none of the sentinels.
func wantInvalid(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrInvalid) {
		t.Errorf("%s: err = %v, want store.ErrInvalid", what, err)
	}
}

// must fails t at once if err is not nil.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

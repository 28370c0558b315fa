package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/store"
)

func testTimes(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	s := newStore(t, open)
	times := []time.Time{
		testTime,
		time.Date(2025, 3, 1, 12, 34, 56, 987654321, time.FixedZone("IST", 5*3600+30*60)),
		time.Date(2025, 1, 1, 0, 0, 0, 1, time.FixedZone("", -(3*3600+30*60))),
		time.Now(), // carries a monotonic reading, which the store drops
		{},
		time.Date(1970, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
	}
	for i, tm := range times {
		name := fmt.Sprintf("t%d", i)
		addr := netip.AddrFrom4([4]byte{100, 64, 0, byte(i + 1)})
		must(t, "add root", s.AddRootCert(ctx, store.RootCert{Name: name, AddedAt: tm}))
		must(t, "add revoked", s.AddRevokedCert(ctx, store.RevokedCert{Name: name, Thumbprint: sha1Thumb, AddedAt: tm}))
		must(t, "put lease", s.PutLease(ctx, store.Lease{Pool: pool4, Addr: addr, UpdatedAt: tm}))
		must(t, "put session", s.PutSession(ctx, store.Session{ID: name, StartedAt: tm}))
	}
	roots, err := s.RootCerts(ctx)
	must(t, "list roots", err)
	revoked, err := s.RevokedCerts(ctx)
	must(t, "list revoked", err)
	leases, err := s.Leases(ctx, pool4)
	must(t, "list leases", err)
	sessions, err := s.Sessions(ctx)
	must(t, "list sessions", err)
	if len(roots) != len(times) || len(revoked) != len(times) || len(leases) != len(times) || len(sessions) != len(times) {
		t.Fatalf("got %d roots, %d revoked, %d leases, %d sessions; want %d of each",
			len(roots), len(revoked), len(leases), len(sessions), len(times))
	}
	// Names t0…t6 and addresses .1….7 sort in the order of times.
	for i, want := range times {
		for what, got := range map[string]time.Time{
			"root AddedAt":      roots[i].AddedAt,
			"revoked AddedAt":   revoked[i].AddedAt,
			"lease UpdatedAt":   leases[i].UpdatedAt,
			"session StartedAt": sessions[i].StartedAt,
		} {
			if !got.Equal(want) {
				t.Errorf("%s = %v, want %v (%d ns off)", what, got, want, got.Sub(want))
			}
		}
	}
}

// op is one call of each Store method but Close, on records that seed put there, so that
// every call would succeed on a seeded store.
type op struct {
	name string
	call func(ctx context.Context, s store.Store) error
}

var (
	seedLease = store.Lease{Pool: pool4, Addr: netip.MustParseAddr("100.64.0.1"), Identity: "seed"}
	ops       = []op{
		{"RootCerts", func(ctx context.Context, s store.Store) error { _, err := s.RootCerts(ctx); return err }},
		{"AddRootCert", func(ctx context.Context, s store.Store) error {
			return s.AddRootCert(ctx, store.RootCert{Name: "new", DER: []byte{1}})
		}},
		{"RemoveRootCert", func(ctx context.Context, s store.Store) error { return s.RemoveRootCert(ctx, "seed") }},
		{"RevokedCerts", func(ctx context.Context, s store.Store) error { _, err := s.RevokedCerts(ctx); return err }},
		{"AddRevokedCert", func(ctx context.Context, s store.Store) error {
			return s.AddRevokedCert(ctx, store.RevokedCert{Name: "new", Thumbprint: sha1Thumb})
		}},
		{"RemoveRevokedCert", func(ctx context.Context, s store.Store) error { return s.RemoveRevokedCert(ctx, "seed") }},
		{"Leases", func(ctx context.Context, s store.Store) error { _, err := s.Leases(ctx, pool4); return err }},
		{"PutLease", func(ctx context.Context, s store.Store) error {
			return s.PutLease(ctx, lease(pool4, "100.64.0.2", "new"))
		}},
		{"DeleteLease", func(ctx context.Context, s store.Store) error {
			return s.DeleteLease(ctx, seedLease.Pool, seedLease.Addr)
		}},
		{"Sessions", func(ctx context.Context, s store.Store) error { _, err := s.Sessions(ctx); return err }},
		{"PutSession", func(ctx context.Context, s store.Store) error { return s.PutSession(ctx, session("new", "new")) }},
		{"DeleteSession", func(ctx context.Context, s store.Store) error { return s.DeleteSession(ctx, "seed") }},
	}
)

// seed puts one record of each kind into s.
func seed(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	must(t, "seed root", s.AddRootCert(ctx, store.RootCert{Name: "seed", DER: []byte{0x30}}))
	must(t, "seed revoked", s.AddRevokedCert(ctx, store.RevokedCert{Name: "seed", Thumbprint: sha1Thumb}))
	must(t, "seed lease", s.PutLease(ctx, seedLease))
	must(t, "seed session", s.PutSession(ctx, session("seed", "seed")))
}

// checkSeedOnly fails t unless s holds exactly what seed put there.
func checkSeedOnly(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	roots, err1 := s.RootCerts(ctx)
	revoked, err2 := s.RevokedCerts(ctx)
	leases, err3 := s.Leases(ctx, pool4)
	sessions, err4 := s.Sessions(ctx)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		t.Fatal(err)
	}
	if len(roots) != 1 || roots[0].Name != "seed" || len(revoked) != 1 || revoked[0].Name != "seed" ||
		len(leases) != 1 || leases[0].Addr != seedLease.Addr || len(sessions) != 1 || sessions[0].ID != "seed" {
		t.Errorf("store changed: roots %v, revoked %v, leases %v, sessions %v", roots, revoked, leases, sessions)
	}
}

func testCancelled(t *testing.T, open func(t *testing.T) store.Store) {
	s := newStore(t, open)
	seed(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, o := range ops {
		wantIs(t, o.name, o.call(ctx, s), context.Canceled)
	}
	checkSeedOnly(t, s)
}

func testClosed(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	seed(t, s)
	must(t, "Close", s.Close())
	for _, o := range ops {
		wantIs(t, o.name, o.call(t.Context(), s), store.ErrClosed)
	}
	wantIs(t, "second Close", s.Close(), store.ErrClosed)
}

func testConcurrent(t *testing.T, open func(t *testing.T) store.Store) {
	const writers, perWriter = 8, 12
	ctx := t.Context()

	t.Run("DistinctWriters", func(t *testing.T) {
		s := newStore(t, open)
		der := make([]byte, 2048)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range perWriter {
					name := fmt.Sprintf("w%d-%02d", w, i)
					addr := netip.AddrFrom4([4]byte{100, 64, byte(w), byte(i)})
					err := errors.Join(
						s.AddRootCert(ctx, store.RootCert{Name: name, DER: der}),
						s.PutLease(ctx, store.Lease{Pool: pool4, Addr: addr, Identity: name}),
						s.PutSession(ctx, store.Session{ID: "IKEv2_" + name}),
					)
					if err != nil {
						t.Errorf("writer %d: %v", w, err)
						return
					}
				}
			})
		}
		done := make(chan struct{})
		var readers sync.WaitGroup
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				case <-time.After(time.Millisecond):
				}
				checkListings(t, s, -1)
			}
		})
		wg.Wait()
		close(done)
		readers.Wait()
		checkListings(t, s, writers*perWriter)
	})
	t.Run("SameName", func(t *testing.T) {
		s := newStore(t, open)
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() { errs[w] = s.AddRootCert(ctx, store.RootCert{Name: "same", DER: []byte{byte(w)}}) })
		}
		wg.Wait()
		var ok int
		for w, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, store.ErrExists):
				t.Errorf("writer %d: err = %v, want nil or ErrExists", w, err)
			}
		}
		if ok != 1 {
			t.Errorf("%d writers added the root, want 1", ok)
		}
	})
}

// checkListings fails t unless every listing of s is sorted and, when want is not negative,
// holds want records.
func checkListings(t *testing.T, s store.Store, want int) {
	ctx := t.Context()
	roots, err1 := s.RootCerts(ctx)
	leases, err2 := s.Leases(ctx, pool4)
	sessions, err3 := s.Sessions(ctx)
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Errorf("list: %v", err)
		return
	}
	if want >= 0 && (len(roots) != want || len(leases) != want || len(sessions) != want) {
		t.Errorf("got %d roots, %d leases, %d sessions; want %d of each", len(roots), len(leases), len(sessions), want)
	}
	if !slices.IsSortedFunc(roots, func(a, b store.RootCert) int { return strings.Compare(a.Name, b.Name) }) {
		t.Errorf("roots not sorted by name")
	}
	if !slices.IsSortedFunc(leases, func(a, b store.Lease) int { return a.Addr.Compare(b.Addr) }) {
		t.Errorf("leases not sorted by address")
	}
	if !slices.IsSortedFunc(sessions, func(a, b store.Session) int { return strings.Compare(a.ID, b.ID) }) {
		t.Errorf("sessions not sorted by id")
	}
}

package pool

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/store"
	"github.com/p2sgw/p2sgw/store/memstore"
)

var ctx = context.Background()

// clock is a test clock that moves one second per reading, so lease ages are distinct.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { c.t = c.t.Add(time.Second); return c.t }

func newPool(t *testing.T, prefix string, st store.Store) *Pool {
	t.Helper()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	p, err := New(ctx, netip.MustParsePrefix(prefix), st, "node1", c.now)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSizeAndReservedAddresses(t *testing.T) {
	p := newPool(t, "100.64.0.0/29", memstore.New())
	if p.Size() != 5 || p.Gateway() != netip.MustParseAddr("100.64.0.1") {
		t.Fatalf("/29: size %d gateway %s, want 5 and 100.64.0.1", p.Size(), p.Gateway())
	}
	seen := map[netip.Addr]bool{}
	for i := 0; i < 5; i++ {
		a, err := p.Acquire(ctx, "", "s"+string(rune('a'+i)))
		if err != nil {
			t.Fatal(err)
		}
		if a == p.Gateway() || a == netip.MustParseAddr("100.64.0.0") || a == netip.MustParseAddr("100.64.0.7") || seen[a] {
			t.Fatalf("leased reserved or duplicate address %s", a)
		}
		seen[a] = true
	}
	if _, err := p.Acquire(ctx, "", "overflow"); !errors.Is(err, ErrExhausted) {
		t.Fatalf("6th Acquire on a /29 = %v, want ErrExhausted", err)
	}
	if p.InUse() != 5 {
		t.Errorf("InUse = %d, want 5", p.InUse())
	}
}

func TestStickyLease(t *testing.T) {
	p := newPool(t, "100.64.0.0/24", memstore.New())
	a1, _ := p.Acquire(ctx, "alice", "s1")
	b1, _ := p.Acquire(ctx, "bob", "s2")
	if err := p.Release(ctx, a1, "s1"); err != nil {
		t.Fatal(err)
	}
	// Someone new does not take alice's released address while never-used ones are left.
	c1, _ := p.Acquire(ctx, "carol", "s3")
	if c1 == a1 || c1 == b1 {
		t.Fatalf("carol got %s, an address held or remembered for another identity", c1)
	}
	a2, _ := p.Acquire(ctx, "alice", "s4")
	if a2 != a1 {
		t.Fatalf("alice got %s after reconnecting, want her previous %s", a2, a1)
	}
}

func TestReleaseOnlyByHolder(t *testing.T) {
	p := newPool(t, "100.64.0.0/24", memstore.New())
	a, _ := p.Acquire(ctx, "alice", "s1")
	if err := p.Release(ctx, a, "other-session"); err != nil {
		t.Fatal(err)
	}
	if p.InUse() != 1 {
		t.Fatalf("release by a non-holder freed the address")
	}
	p.Release(ctx, a, "s1")
	p.Release(ctx, a, "s1") // twice is harmless
	if p.InUse() != 0 {
		t.Fatalf("InUse = %d after release, want 0", p.InUse())
	}
}

func TestReuseOldestReleasedWhenFull(t *testing.T) {
	p := newPool(t, "100.64.0.0/29", memstore.New())
	var addrs []netip.Addr
	for i, who := range []string{"a", "b", "c", "d", "e"} {
		a, _ := p.Acquire(ctx, who, "s"+who)
		addrs = append(addrs, a)
		_ = i
	}
	p.Release(ctx, addrs[3], "sd")
	p.Release(ctx, addrs[1], "sb")
	got, err := p.Acquire(ctx, "f", "sf")
	if err != nil {
		t.Fatal(err)
	}
	if got != addrs[3] {
		t.Fatalf("full pool gave %s, want the address released longest ago %s", got, addrs[3])
	}
}

func TestAcquireAddr(t *testing.T) {
	p := newPool(t, "100.64.0.0/24", memstore.New())
	want := netip.MustParseAddr("100.64.0.77")
	if err := p.AcquireAddr(ctx, want, "radius-user", "s1"); err != nil {
		t.Fatal(err)
	}
	if err := p.AcquireAddr(ctx, want, "other", "s2"); !errors.Is(err, ErrInUse) {
		t.Fatalf("second AcquireAddr = %v, want ErrInUse", err)
	}
	for _, bad := range []string{"100.64.0.1", "100.64.0.0", "100.64.0.255", "10.0.0.1"} {
		if err := p.AcquireAddr(ctx, netip.MustParseAddr(bad), "x", "s3"); !errors.Is(err, ErrOutside) {
			t.Errorf("AcquireAddr(%s) = %v, want ErrOutside", bad, err)
		}
	}
}

func TestLeasesSurviveRestart(t *testing.T) {
	st := memstore.New()
	p := newPool(t, "100.64.0.0/24", st)
	a, _ := p.Acquire(ctx, "alice", "s1")
	b, _ := p.Acquire(ctx, "bob", "s2")
	p.Release(ctx, b, "s2")

	// A restart: the node's sessions are gone, so its active leases come back released —
	// and still remembered for their identities.
	p2 := newPool(t, "100.64.0.0/24", st)
	if p2.InUse() != 0 {
		t.Fatalf("after restart InUse = %d, want 0", p2.InUse())
	}
	if got, _ := p2.Acquire(ctx, "alice", "s3"); got != a {
		t.Errorf("alice got %s after restart, want %s", got, a)
	}
	if got, _ := p2.Acquire(ctx, "bob", "s4"); got != b {
		t.Errorf("bob got %s after restart, want %s", got, b)
	}
}

func TestLeasesOfOtherNodesStayActive(t *testing.T) {
	st := memstore.New()
	pfx := netip.MustParsePrefix("100.64.0.0/29")
	st.PutLease(ctx, store.Lease{Pool: pfx, Addr: netip.MustParseAddr("100.64.0.2"), Identity: "x", SessionID: "remote", Node: "node2"})
	p := newPool(t, "100.64.0.0/29", st)
	if p.InUse() != 1 {
		t.Fatalf("InUse = %d, want 1: another node's live lease must be respected", p.InUse())
	}
	for i := 0; i < 4; i++ {
		a, err := p.Acquire(ctx, "", "s"+string(rune('a'+i)))
		if err != nil || a == netip.MustParseAddr("100.64.0.2") {
			t.Fatalf("Acquire = %s, %v", a, err)
		}
	}
}

func TestSetPrefersStickyPool(t *testing.T) {
	st := memstore.New()
	s := Set{newPool(t, "100.64.0.0/29", st), newPool(t, "100.65.0.0/29", st)}
	// Fill the first pool; alice lands in the second.
	for i := 0; i < 5; i++ {
		s.Acquire(ctx, "", "f"+string(rune('a'+i)))
	}
	a, err := s.Acquire(ctx, "alice", "s1")
	if err != nil || !s[1].Contains(a) {
		t.Fatalf("alice got %s, %v; want an address of the second pool", a, err)
	}
	s.Release(ctx, a, "s1")
	s.Release(ctx, netip.MustParseAddr("100.64.0.2"), "fa") // room in the first pool now
	if got, _ := s.Acquire(ctx, "alice", "s2"); got != a {
		t.Fatalf("alice got %s, want her previous %s from the second pool", got, a)
	}
	if s.Find(a) != s[1] || s.Find(netip.MustParseAddr("10.0.0.1")) != nil {
		t.Errorf("Find is wrong")
	}
}

func TestNewRefusesBadPrefixes(t *testing.T) {
	for _, bad := range []string{"2001:db8::/64", "100.64.0.0/31", "0.0.0.0/0"} {
		if _, err := New(ctx, netip.MustParsePrefix(bad), memstore.New(), "n", nil); err == nil {
			t.Errorf("New(%s) succeeded", bad)
		}
	}
}

func TestSetStickyPoolFullFallsBack(t *testing.T) {
	st := memstore.New()
	s := Set{newPool(t, "100.64.0.0/29", st), newPool(t, "100.65.0.0/29", st)}
	a, _ := s.Acquire(ctx, "alice", "s1")
	s.Release(ctx, a, "s1")
	for i := 0; i < 5; i++ { // others fill alice's old pool
		if _, err := s[0].Acquire(ctx, "", "f"+string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Acquire(ctx, "alice", "s2")
	if err != nil || !s[1].Contains(got) {
		t.Fatalf("alice got %s, %v; want an address of the other pool", got, err)
	}
}

// slowStore holds every PutLease until release is closed, and fails those for addresses in
// fail, so tests can see the pool while writes are in flight.
type slowStore struct {
	store.Store
	release chan struct{}
	started chan netip.Addr
	fail    map[netip.Addr]bool
}

func (s *slowStore) PutLease(ctx context.Context, l store.Lease) error {
	if s.started != nil {
		s.started <- l.Addr
	}
	if s.release != nil {
		<-s.release
	}
	if s.fail[l.Addr] {
		return errors.New("disk full")
	}
	return s.Store.PutLease(ctx, l)
}

// TestConcurrentAcquireWritesOutsideLock: sessions acquiring at once each get a distinct
// address while their writes are all in flight together (the pool does not hold its lock over
// the store write, so a grouping store can commit them as one).
func TestConcurrentAcquireWritesOutsideLock(t *testing.T) {
	st := &slowStore{Store: memstore.New(), release: make(chan struct{}), started: make(chan netip.Addr, 64)}
	p := newPool(t, "100.64.0.0/24", st)
	const n = 32
	got := make(chan netip.Addr, n)
	for i := range n {
		go func() {
			a, err := p.Acquire(ctx, fmt.Sprint("user", i), fmt.Sprint("s", i))
			if err != nil {
				t.Error(err)
			}
			got <- a
		}()
	}
	for range n { // every write has started before any is let through
		<-st.started
	}
	if p.InUse() != n {
		t.Errorf("InUse = %d with %d takes in flight, want %d", p.InUse(), n, n)
	}
	close(st.release)
	seen := map[netip.Addr]bool{}
	for range n {
		a := <-got
		if seen[a] || !p.leasable(a) {
			t.Fatalf("address %s handed out twice or not leasable", a)
		}
		seen[a] = true
	}
	leases, _ := st.Leases(ctx, p.Prefix())
	if len(leases) != n {
		t.Fatalf("store holds %d leases, want %d", len(leases), n)
	}
}

// TestAddressInFlightNotHandedOut: an address whose release is being written is not given to
// anyone, and AcquireAddr says so.
func TestAddressInFlightNotHandedOut(t *testing.T) {
	st := &slowStore{Store: memstore.New()}
	p := newPool(t, "100.64.0.0/30", st) // one leasable address
	a, err := p.Acquire(ctx, "alice", "s1")
	if err != nil {
		t.Fatal(err)
	}
	st.release, st.started = make(chan struct{}), make(chan netip.Addr, 1)
	done := make(chan error)
	go func() { done <- p.Release(ctx, a, "s1") }()
	<-st.started
	if _, err := p.Acquire(ctx, "bob", "s2"); !errors.Is(err, ErrExhausted) {
		t.Errorf("Acquire while the only address is being released = %v, want ErrExhausted", err)
	}
	if err := p.AcquireAddr(ctx, a, "bob", "s2"); !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "being released") {
		t.Errorf("AcquireAddr while it is being released = %v, want ErrInUse … being released", err)
	}
	close(st.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st.release, st.started = nil, nil
	if got, err := p.Acquire(ctx, "bob", "s2"); err != nil || got != a {
		t.Fatalf("Acquire after the release landed = %s, %v; want %s", got, err, a)
	}
}

// TestFailedWriteRestores: a lease the store refused to record is not held, and the address
// goes back to where it was — still alice's sticky address, still on the free queue.
func TestFailedWriteRestores(t *testing.T) {
	st := &slowStore{Store: memstore.New(), fail: map[netip.Addr]bool{}}
	p := newPool(t, "100.64.0.0/29", st)
	a, _ := p.Acquire(ctx, "alice", "s1")
	b, _ := p.Acquire(ctx, "bob", "s2")
	p.Release(ctx, a, "s1")
	p.Release(ctx, b, "s2")

	st.fail[a] = true
	if _, err := p.Acquire(ctx, "alice", "s3"); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Acquire with a failing store = %v, want the store's error", err)
	}
	if p.InUse() != 0 {
		t.Fatalf("InUse = %d after a failed take, want 0", p.InUse())
	}
	if err := p.Release(ctx, b, "s2"); err != nil { // a no-op, b is released
		t.Fatal(err)
	}
	c, _ := p.Acquire(ctx, "", "s4")
	d, _ := p.Acquire(ctx, "", "s5")
	e, _ := p.Acquire(ctx, "", "s6")
	if c == a || d == a || e == a || c == b || d == b || e == b {
		t.Fatalf("never-used addresses expected first, got %s %s %s", c, d, e)
	}
	// The pool is full of never-used addresses now; the free queue still has a (released first), then b.
	st.fail[a] = false
	if got, _ := p.Acquire(ctx, "carol", "s7"); got != a {
		t.Fatalf("full pool gave %s, want %s, released longest ago", got, a)
	}
	if got, _ := p.Acquire(ctx, "bob", "s8"); got != b {
		t.Fatalf("bob got %s, want his %s", got, b)
	}

	// A failed release keeps the session's lease.
	st.fail[b] = true
	if err := p.Release(ctx, b, "s8"); err == nil {
		t.Fatal("Release with a failing store succeeded")
	}
	if p.InUse() != 5 {
		t.Fatalf("InUse = %d after a failed release, want 5", p.InUse())
	}
}

// BenchmarkAcquireRelease: acquire and release in a pool of 100,000 addresses of which 99,000
// are held, with 50,000 identities remembered: the cost must not grow with the pool.
func BenchmarkAcquireRelease(b *testing.B) {
	p, err := New(ctx, netip.MustParsePrefix("100.64.0.0/15"), memstore.New(), "n", nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 99000 {
		if _, err := p.Acquire(ctx, fmt.Sprint("held", i%50000), fmt.Sprint("h", i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		id, sid := "user"+strconv.Itoa(i%1000), "s"+strconv.Itoa(i)
		a, err := p.Acquire(ctx, id, sid)
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Release(ctx, a, sid); err != nil {
			b.Fatal(err)
		}
	}
}

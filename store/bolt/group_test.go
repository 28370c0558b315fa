package bolt

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/store"
	"go.etcd.io/bbolt"
)

// recordTxs makes s record the size of each write transaction it begins.
func recordTxs(s *Store) (sizes func() []int) {
	var mu sync.Mutex
	var got []int
	s.testHookTx = func(n int) {
		mu.Lock()
		got = append(got, n)
		mu.Unlock()
	}
	return func() []int {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// holdLead starts a write that keeps the lead, and its transaction, until release is called,
// and returns once that write is running: writes made meanwhile queue up as the next group.
func holdLead(t *testing.T, s *Store) (release func()) {
	t.Helper()
	running, unblock := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	var once sync.Once
	go func() {
		errc <- s.update(context.Background(), func(*bbolt.Tx) error {
			once.Do(func() { close(running) })
			<-unblock
			return nil
		})
	}()
	<-running
	var released sync.Once
	release = func() {
		released.Do(func() {
			close(unblock)
			if err := <-errc; err != nil {
				t.Errorf("the write holding the lead: %v", err)
			}
		})
	}
	t.Cleanup(release) // before openT's Close, which would wait for it
	return release
}

func queued(s *Store) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// waitQueued waits until n writes are queued.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for queued(s) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", queued(s), n)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// enqueue calls write in a new goroutine and returns once it is queued, so that calls to
// enqueue queue their writes in the order of the calls.
func enqueue(t *testing.T, s *Store, write func() error) <-chan error {
	t.Helper()
	n := queued(s)
	errc := make(chan error, 1)
	go func() { errc <- write() }()
	waitQueued(t, s, n+1)
	return errc
}

var testPool = netip.MustParsePrefix("100.64.0.0/16")

func testLease(i int) store.Lease {
	n := i + 1
	return store.Lease{Pool: testPool, Addr: netip.AddrFrom4([4]byte{100, 64, byte(n >> 8), byte(n)}),
		Identity: fmt.Sprintf("user%d", i), SessionID: fmt.Sprintf("IKEv2_%d", i), Node: "gw1"}
}

func testSession(i int) store.Session {
	return store.Session{ID: fmt.Sprintf("IKEv2_%d", i), User: fmt.Sprintf("user%d", i), Protocol: "IKEv2",
		VPNAddr: testLease(i).Addr, Node: "gw1"}
}

// TestConcurrentWrites has many writers put a lease and a session each, as handshakes do, and
// some delete them again; every write must land, and be there after a reopen.
func TestConcurrentWrites(t *testing.T) {
	const writers, each = 64, 8
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "state.db")
	s := openT(t, path)
	txs := recordTxs(s)

	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for j := range each {
				i := w*each + j
				if err := s.PutLease(ctx, testLease(i)); err != nil {
					t.Errorf("PutLease %d: %v", i, err)
				}
				if err := s.PutSession(ctx, testSession(i)); err != nil {
					t.Errorf("PutSession %d: %v", i, err)
				}
				if i%4 == 3 { // the session ends and its lease is forgotten
					if err := s.DeleteSession(ctx, testSession(i).ID); err != nil {
						t.Errorf("DeleteSession %d: %v", i, err)
					}
					if err := s.DeleteLease(ctx, testPool, testLease(i).Addr); err != nil {
						t.Errorf("DeleteLease %d: %v", i, err)
					}
				}
			}
		})
	}
	wg.Wait()
	sizes := txs()
	t.Logf("%d writes in %d transactions, the largest of %d", writers*each*5/2, len(sizes), slices.Max(sizes))
	must(t, s.Close())

	s = openT(t, path)
	leases, err := s.Leases(ctx, testPool)
	must(t, err)
	sessions, err := s.Sessions(ctx)
	must(t, err)
	var wantLeases []store.Lease
	var wantSessions []store.Session
	for i := range writers * each {
		if i%4 != 3 {
			wantLeases = append(wantLeases, testLease(i))
			wantSessions = append(wantSessions, testSession(i))
		}
	}
	slices.SortFunc(wantSessions, func(a, b store.Session) int { return cmp.Compare(a.ID, b.ID) })
	if !slices.Equal(leases, wantLeases) {
		t.Errorf("after reopen: %d leases, want %d\ngot  %v\nwant %v", len(leases), len(wantLeases), leases, wantLeases)
	}
	if !slices.Equal(sessions, wantSessions) {
		t.Errorf("after reopen: %d sessions, want %d", len(sessions), len(wantSessions))
	}
}

// TestFailedWriteDoesNotFailItsGroup queues writes behind one that holds the lead, so that
// they form one group, and has some of them fail: each failure is its writer's alone, and the
// others are committed.
func TestFailedWriteDoesNotFailItsGroup(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "state.db")
	s := openT(t, path)
	txs := recordTxs(s)
	errBoom := errors.New("boom")
	root := store.RootCert{Name: "root", DER: []byte{0x30}}
	partial := func(id string) func(tx *bbolt.Tx) error { // a write that fails half done
		return func(tx *bbolt.Tx) error {
			if err := tx.Bucket(bucketSessions).Put([]byte(id), []byte("{}")); err != nil {
				return err
			}
			return errBoom
		}
	}

	release := holdLead(t, s)
	type write struct {
		name string
		errc <-chan error
		want error // nil: succeeds
	}
	var writes []write
	add := func(name string, want error, f func() error) {
		writes = append(writes, write{name, enqueue(t, s, f), want})
	}
	add("put lease 0", nil, func() error { return s.PutLease(ctx, testLease(0)) })
	add("delete missing lease", store.ErrNotFound, func() error {
		return s.DeleteLease(ctx, testPool, testLease(99).Addr)
	})
	add("put session 1", nil, func() error { return s.PutSession(ctx, testSession(1)) })
	add("half a write", errBoom, func() error { return s.update(ctx, partial("partial")) })
	add("put lease 2", nil, func() error { return s.PutLease(ctx, testLease(2)) })
	add("add root", nil, func() error { return s.AddRootCert(ctx, root) })
	add("add root again", store.ErrExists, func() error { return s.AddRootCert(ctx, root) })
	errPanicked := errors.New("panicked")
	add("panic", errPanicked, func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r != "fn panics" {
					t.Errorf("recovered %v, want the fn's panic", r)
				}
				err = errPanicked
			}
		}()
		return s.update(ctx, func(tx *bbolt.Tx) error {
			partial("partial-panic")(tx)
			panic("fn panics")
		})
	})
	add("put session 3", nil, func() error { return s.PutSession(ctx, testSession(3)) })
	release()

	for _, w := range writes {
		if err := <-w.errc; w.want == nil && err != nil || w.want != nil && !errors.Is(err, w.want) {
			t.Errorf("%s: err = %v, want %v", w.name, err, w.want)
		}
	}
	// The holder alone; then the group, less one failed write each time, till it commits.
	if got, want := txs(), []int{1, 9, 8, 7, 6, 5}; !slices.Equal(got, want) {
		t.Errorf("transaction sizes %v, want %v", got, want)
	}
	must(t, s.Close())

	s = openT(t, path)
	leases, err := s.Leases(ctx, testPool)
	must(t, err)
	if want := []store.Lease{testLease(0), testLease(2)}; !slices.Equal(leases, want) {
		t.Errorf("leases = %v, want %v", leases, want)
	}
	sessions, err := s.Sessions(ctx) // a "partial" record would not decode
	must(t, err)
	if want := []store.Session{testSession(1), testSession(3)}; !slices.Equal(sessions, want) {
		t.Errorf("sessions = %v, want %v", sessions, want)
	}
	roots, err := s.RootCerts(ctx)
	must(t, err)
	if len(roots) != 1 || roots[0].Name != root.Name {
		t.Errorf("roots = %v, want [%v]", roots, root)
	}
}

// TestGroupCap queues more writes than a group holds.
func TestGroupCap(t *testing.T) {
	ctx := t.Context()
	s := openT(t, filepath.Join(t.TempDir(), "state.db"))
	txs := recordTxs(s)
	release := holdLead(t, s)
	const n = maxGroup + 5
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- s.PutLease(ctx, testLease(i)) }()
	}
	waitQueued(t, s, n)
	release()
	for range n {
		must(t, <-errs)
	}
	if got, want := txs(), []int{1, maxGroup, 5}; !slices.Equal(got, want) {
		t.Errorf("transaction sizes %v, want %v", got, want)
	}
	leases, err := s.Leases(ctx, testPool)
	must(t, err)
	if len(leases) != n {
		t.Errorf("%d leases, want %d", len(leases), n)
	}
}

func TestLoneWriteCommitsAtOnce(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "state.db"))
	txs := recordTxs(s)
	for i := range 3 {
		must(t, s.PutLease(t.Context(), testLease(i)))
	}
	if got, want := txs(), []int{1, 1, 1}; !slices.Equal(got, want) {
		t.Errorf("transaction sizes %v, want %v", got, want)
	}
}

// TestContext: a write whose ctx is done is refused; once queued, it is committed.
func TestContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := openT(t, path)

	done, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.PutLease(done, testLease(0)); !errors.Is(err, context.Canceled) {
		t.Errorf("PutLease with a cancelled ctx: err = %v, want context.Canceled", err)
	}

	release := holdLead(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	errc := enqueue(t, s, func() error { return s.PutLease(ctx, testLease(1)) })
	cancel()
	release()
	if err := <-errc; err != nil {
		t.Errorf("PutLease queued before its ctx was cancelled: %v", err)
	}
	leases, err := s.Leases(t.Context(), testPool)
	must(t, err)
	if want := []store.Lease{testLease(1)}; !slices.Equal(leases, want) {
		t.Errorf("leases = %v, want %v", leases, want)
	}
}

// TestCloseCommitsQueuedWrites: Close waits for the queued writes, which commit; writes after
// Close fail with store.ErrClosed.
func TestCloseCommitsQueuedWrites(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "state.db")
	s := openT(t, path)
	release := holdLead(t, s)
	var queuedWrites []<-chan error
	for i := range 3 {
		queuedWrites = append(queuedWrites, enqueue(t, s, func() error { return s.PutLease(ctx, testLease(i)) }))
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	for !s.closed.Load() {
		time.Sleep(50 * time.Microsecond)
	}

	if err := s.PutLease(ctx, testLease(3)); !errors.Is(err, store.ErrClosed) {
		t.Errorf("PutLease while Close waits: err = %v, want store.ErrClosed", err)
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v before the queued writes committed", err)
	case <-time.After(20 * time.Millisecond):
	}
	release()
	must(t, <-closed)
	for i, errc := range queuedWrites {
		if err := <-errc; err != nil {
			t.Errorf("write %d queued before Close: %v", i, err)
		}
	}

	for name, err := range map[string]error{
		"PutLease":      s.PutLease(ctx, testLease(4)),
		"DeleteLease":   s.DeleteLease(ctx, testPool, testLease(0).Addr),
		"PutSession":    s.PutSession(ctx, testSession(4)),
		"DeleteSession": s.DeleteSession(ctx, "x"),
		"AddRootCert":   s.AddRootCert(ctx, store.RootCert{Name: "r"}),
		"Close":         s.Close(),
	} {
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close: err = %v, want store.ErrClosed", name, err)
		}
	}

	s = openT(t, path)
	leases, err := s.Leases(ctx, testPool)
	must(t, err)
	if want := []store.Lease{testLease(0), testLease(1), testLease(2)}; !slices.Equal(leases, want) {
		t.Errorf("after reopen: leases = %v, want %v", leases, want)
	}
}

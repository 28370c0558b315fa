// Package bolt is the embedded default store.Store: one bbolt file (state.db) in the gateway's
// state directory, locked by the process that opened it. It is for a single gateway node;
// several nodes that share a pool, a revocation list and a session registry need the
// clustered backend instead. It is not a cache: every call is a transaction on the file.
//
// # Key layout
//
// Buckets nest like the path segments of the keys the etcd backend will use, so both hold the
// same records under the same names:
//
//	meta/schema_version    the layout version, decimal ASCII ("1")
//	roots/<name>           store.RootCert
//	revoked/<name>         store.RevokedCert
//	leases/<pool>/<addr>   store.Lease; <pool> is the masked prefix in text form
//	                       ("100.64.0.0/16"), <addr> the address's 4 or 16 raw bytes, so byte
//	                       order is numeric order and a pool's leases list sorted as they lie
//	sessions/<id>          store.Session
//
// Values are the records' JSON encodings. A record that does not decode, or that disagrees with
// its key, is reported as ErrCorrupt naming the key; it never panics.
//
// # Writes
//
// Writes are grouped: the writes of concurrent callers that arrive while a transaction is
// committing are gathered and committed together, in arrival order, in the next single bbolt
// read-write transaction (at most 1000 of them), so that they share its two fdatasyncs. A lone
// writer commits at once; nothing waits on a timer. Every write is synced to disk before its
// method returns, and a transaction commits whole or not at all, so a crash (even SIGKILL or
// power loss) leaves either the old or the new state of every write, never half. One write
// failing (store.ErrNotFound, say) fails only that write: the others of its group are
// committed without it. A write whose ctx is done when it is called fails with ctx.Err();
// once queued, it goes ahead whatever becomes of ctx, and the method returns when it is
// committed.
package bolt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/p2sgw/p2sgw/store"
	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// schemaVersion is the key layout this package reads and writes. Open refuses a file with a
// higher version and would migrate one with a lower version (there is none yet).
const schemaVersion = 1

// DefaultLockTimeout is how long Open waits for another process to release the file.
const DefaultLockTimeout = time.Second

const (
	dirMode  = 0o700
	fileMode = 0o600
)

var _ store.Store = (*Store)(nil)

// Store is a store.Store on a bbolt file. Its methods are safe for concurrent use; concurrent
// writes are grouped into shared transactions (see update), reads run in parallel with them.
type Store struct {
	db     *bbolt.DB
	path   string
	closed atomic.Bool // set under mu; read without it by reads

	mu      sync.Mutex
	queue   []*call   // writes waiting for the next group, in arrival order
	leading bool      // a writer is committing a group; the queue has or will get a leader
	idle    sync.Cond // on mu: broadcast when leading turns false, for Close

	testHookTx func(calls int) // if set, called before each write transaction with its size
}

// Option configures Open.
type Option func(*options)

type options struct {
	lockTimeout time.Duration
}

// WithLockTimeout sets how long Open waits for another process to release the file before it
// fails with ErrLocked (DefaultLockTimeout if not given). Zero waits for ever.
func WithLockTimeout(d time.Duration) Option {
	return func(o *options) { o.lockTimeout = d }
}

// Open opens the state database at path, creating it (mode 0600) and its directory (mode
// 0700) if they do not exist. It fails with an error wrapping ErrLocked if another process
// holds the file, and ErrSchemaTooNew if a newer p2sgw wrote it. The caller must Close the
// Store to release the file.
func Open(path string, opts ...Option) (*Store, error) {
	o := options{lockTimeout: DefaultLockTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	bo := *bbolt.DefaultOptions
	bo.Timeout = o.lockTimeout
	db, err := bbolt.Open(path, fileMode, &bo)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, &userError{
			msg: fmt.Sprintf("state database %s is locked by another process (is p2sgw serve already running?)", path),
			err: ErrLocked,
		}
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error { return initSchema(tx, path) }); err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{db: db, path: path}
	s.idle.L = &s.mu
	return s, nil
}

// initSchema checks the file's layout version and creates the buckets a new file lacks.
func initSchema(tx *bbolt.Tx, path string) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		if k, _ := tx.Cursor().First(); k != nil {
			return fmt.Errorf("store: open %s: %w: buckets but no meta/schema_version "+
				"(not a p2sgw state database?)", path, ErrCorrupt)
		}
		var err error
		if meta, err = tx.CreateBucket(bucketMeta); err != nil {
			return fmt.Errorf("store: open %s: %w", path, err)
		}
		if err := meta.Put(keySchemaVersion, []byte(strconv.Itoa(schemaVersion))); err != nil {
			return fmt.Errorf("store: open %s: %w", path, err)
		}
	}
	raw := meta.Get(keySchemaVersion)
	v, err := strconv.Atoi(string(raw))
	if err != nil || v < 1 {
		return fmt.Errorf("store: open %s: %w meta/schema_version: %q is not a version", path, ErrCorrupt, raw)
	}
	if v > schemaVersion {
		return &userError{
			msg: fmt.Sprintf("state database %s has schema version %d, but this p2sgw understands "+
				"only up to version %d: run that newer p2sgw, or restore the state directory "+
				"from a backup", path, v, schemaVersion),
			err: ErrSchemaTooNew,
		}
	}
	for _, name := range dataBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("store: open %s: bucket %s: %w", path, name, err)
		}
	}
	return nil
}

// Path returns the file the Store was opened on.
func (s *Store) Path() string { return s.path }

// Close refuses new writes, waits for the writes already queued to commit (they succeed, or
// fail as writes do, but not with store.ErrClosed) and for reads in flight, then releases the
// file. Calls after the first, and writes and reads begun after it, return store.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return store.ErrClosed
	}
	s.closed.Store(true)
	for s.leading {
		s.idle.Wait()
	}
	s.mu.Unlock()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", s.path, err)
	}
	return nil
}

// view runs fn in a read-only transaction, unless the Store is closed or ctx is done.
func (s *Store) view(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	return closedErr(s.db.View(fn))
}

func (s *Store) ready(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return ctx.Err()
}

// closedErr maps bbolt's error for a transaction begun while Close ran to store.ErrClosed.
func closedErr(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return store.ErrClosed
	}
	return err
}

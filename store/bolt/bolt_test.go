package bolt

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/store"
	"github.com/p2sgw/p2sgw/store/storetest"
	"go.etcd.io/bbolt"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(filepath.Join(t.TempDir(), "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// openT opens path and closes the Store at the end of the test if the test has not.
func openT(t *testing.T, path string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawUpdate changes the file at path with bbolt directly, behind the Store's back.
func rawUpdate(t *testing.T, path string, fn func(tx *bbolt.Tx) error) {
	t.Helper()
	db, err := bbolt.Open(path, fileMode, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func TestOpenCreatesPrivateDirAndFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "var", "lib", "p2sgw")
	path := filepath.Join(dir, "state.db")
	s := openT(t, path)
	if s.Path() != path {
		t.Errorf("Path() = %q, want %q", s.Path(), path)
	}
	for p, want := range map[string]os.FileMode{dir: dirMode, path: fileMode} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", p, got, want)
		}
	}
}

func TestPersistsAcrossReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "state.db")
	at := time.Date(2025, 3, 1, 12, 34, 56, 123456789, time.UTC)
	pool := netip.MustParsePrefix("100.64.0.0/16")
	root := store.RootCert{Name: "root", DER: []byte{0x30, 0x82, 0x01, 0x0a}, AddedAt: at}
	revoked := store.RevokedCert{Name: "lost-laptop", Thumbprint: "A94A8FE5CCB19BA61C4C0873D391E987982FBBD3", AddedAt: at}
	lease := store.Lease{Pool: pool, Addr: netip.MustParseAddr("100.64.0.2"), Identity: "alice", SessionID: "IKEv2_1", Node: "gw1", UpdatedAt: at}
	sess := store.Session{ID: "IKEv2_1", User: "alice", Protocol: "IKEv2", AuthMethod: "certificate",
		PublicAddr: netip.MustParseAddrPort("198.18.0.7:4500"), VPNAddr: lease.Addr, Node: "gw1", StartedAt: at}

	s := openT(t, path)
	must(t, s.AddRootCert(ctx, root))
	must(t, s.AddRevokedCert(ctx, revoked))
	must(t, s.PutLease(ctx, lease))
	must(t, s.PutSession(ctx, sess))
	must(t, s.Close())

	s = openT(t, path)
	roots, err := s.RootCerts(ctx)
	must(t, err)
	revs, err := s.RevokedCerts(ctx)
	must(t, err)
	leases, err := s.Leases(ctx, pool)
	must(t, err)
	sessions, err := s.Sessions(ctx)
	must(t, err)
	// Times come back in UTC from the encoding, so == compares them too.
	if len(roots) != 1 || roots[0].Name != root.Name || string(roots[0].DER) != string(root.DER) || roots[0].AddedAt != at {
		t.Errorf("roots = %+v, want [%+v]", roots, root)
	}
	if len(revs) != 1 || revs[0] != revoked {
		t.Errorf("revoked = %+v, want [%+v]", revs, revoked)
	}
	if len(leases) != 1 || leases[0] != lease {
		t.Errorf("leases = %+v, want [%+v]", leases, lease)
	}
	if len(sessions) != 1 || sessions[0] != sess {
		t.Errorf("sessions = %+v, want [%+v]", sessions, sess)
	}
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	first := openT(t, path)
	wantMsg := "state database " + path + " is locked by another process (is p2sgw serve already running?)"

	for _, tc := range []struct {
		name    string
		opts    []Option
		maxWait time.Duration
	}{
		{"default timeout", nil, DefaultLockTimeout + time.Second},
		{"short timeout", []Option{WithLockTimeout(100 * time.Millisecond)}, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			s, err := Open(path, tc.opts...)
			if err == nil {
				s.Close()
				t.Fatal("second Open succeeded, want ErrLocked")
			}
			if elapsed := time.Since(start); elapsed > tc.maxWait {
				t.Errorf("second Open took %v, want under %v", elapsed, tc.maxWait)
			}
			if !errors.Is(err, ErrLocked) {
				t.Errorf("err = %v, want ErrLocked", err)
			}
			if err.Error() != wantMsg {
				t.Errorf("message = %q\nwant      %q", err, wantMsg)
			}
		})
	}

	must(t, first.Close())
	openT(t, path, WithLockTimeout(100*time.Millisecond))
}

func TestSchemaVersion(t *testing.T) {
	for _, tc := range []struct {
		name    string
		corrupt func(tx *bbolt.Tx) error
		want    error  // nil: opens
		msg     string // in the error
	}{
		{"current", func(*bbolt.Tx) error { return nil }, nil, ""},
		{"newer", setVersion("2"), ErrSchemaTooNew, "has schema version 2, but this p2sgw understands only up to version 1"},
		{"zero", setVersion("0"), ErrCorrupt, `meta/schema_version: "0" is not a version`},
		{"not a number", setVersion("v1"), ErrCorrupt, `meta/schema_version: "v1" is not a version`},
		{"missing", func(tx *bbolt.Tx) error { return tx.Bucket(bucketMeta).Delete(keySchemaVersion) }, ErrCorrupt, `"" is not a version`},
		{"no meta bucket", func(tx *bbolt.Tx) error { return tx.DeleteBucket(bucketMeta) }, ErrCorrupt, "not a p2sgw state database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			must(t, openT(t, path).Close())
			rawUpdate(t, path, tc.corrupt)
			before, err := os.ReadFile(path)
			must(t, err)

			s, err := Open(path)
			if tc.want == nil {
				must(t, err)
				must(t, s.Close())
				return
			}
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded, want %v", tc.want)
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), path) {
				t.Errorf("err = %v\nwant %v, naming %s and saying %q", err, tc.want, path, tc.msg)
			}
			after, err := os.ReadFile(path)
			must(t, err)
			if string(before) != string(after) {
				t.Errorf("a refused Open changed the file")
			}
		})
	}
}

func setVersion(v string) func(tx *bbolt.Tx) error {
	return func(tx *bbolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchemaVersion, []byte(v)) }
}

func TestOpenNotADatabase(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content []byte
	}{
		{"text", []byte("state_dir: /var/lib/p2sgw\n")},
		{"one page of zeros", make([]byte, 4096)},
		{"pages of pattern", []byte(strings.Repeat("p2sgw\x00\xff", 4096))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			must(t, os.WriteFile(path, tc.content, fileMode))
			s, err := Open(path)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("err = %v, want it to name %s", err, path)
			}
		})
	}
}

func TestOpenFailsOnUnusableDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	must(t, os.WriteFile(file, nil, fileMode))
	path := filepath.Join(file, "state.db") // its directory is a regular file
	if s, err := Open(path); err == nil {
		s.Close()
		t.Fatal("Open succeeded")
	} else if !strings.Contains(err.Error(), path) {
		t.Errorf("err = %v, want it to name %s", err, path)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

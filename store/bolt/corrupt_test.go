package bolt

import (
	"context"
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"go.etcd.io/bbolt"
)

// TestCorruptRecord writes bad records behind the Store's back and checks that listing them
// fails with ErrCorrupt naming the key, and that the other collections still list.
func TestCorruptRecord(t *testing.T) {
	pool := netip.MustParsePrefix("100.64.0.0/16")
	listRoots := func(ctx context.Context, s *Store) error { _, err := s.RootCerts(ctx); return err }
	listRevoked := func(ctx context.Context, s *Store) error { _, err := s.RevokedCerts(ctx); return err }
	listSessions := func(ctx context.Context, s *Store) error { _, err := s.Sessions(ctx); return err }
	listLeases := func(ctx context.Context, s *Store) error { _, err := s.Leases(ctx, pool); return err }

	for _, tc := range []struct {
		name   string
		bucket []string // path of buckets under the root
		key    []byte
		val    []byte
		list   func(context.Context, *Store) error
		msg    string // the key as the error must name it
	}{
		{"root not JSON", []string{"roots"}, []byte("bad"), []byte("\x30\x82"), listRoots, `roots/"bad"`},
		{"root truncated", []string{"roots"}, []byte("cut"), []byte(`{"name":"cut","der":"MIIB`), listRoots, `roots/"cut"`},
		{"root DER not base64", []string{"roots"}, []byte("b64"), []byte(`{"name":"b64","der":"!!"}`), listRoots, `roots/"b64"`},
		{"root under another name", []string{"roots"}, []byte("a"), []byte(`{"name":"b"}`), listRoots, `roots/"a"`},
		{"root bad time", []string{"roots"}, []byte("t"), []byte(`{"name":"t","added_at":"yesterday"}`), listRoots, `roots/"t"`},
		{"revoked not JSON", []string{"revoked"}, []byte("bad"), []byte("null}"), listRevoked, `revoked/"bad"`},
		{"session wrong id", []string{"sessions"}, []byte("IKEv2_1"), []byte(`{"id":"IKEv2_2"}`), listSessions, `sessions/"IKEv2_1"`},
		{"session bad address", []string{"sessions"}, []byte("IKEv2_1"), []byte(`{"id":"IKEv2_1","vpn_addr":"100.64.0.300"}`), listSessions, `sessions/"IKEv2_1"`},
		{"session empty value", []string{"sessions"}, []byte("IKEv2_1"), []byte{}, listSessions, `sessions/"IKEv2_1"`},
		{"lease key too short", []string{"leases", "100.64.0.0/16"}, []byte{100, 64, 0}, []byte(`{}`), listLeases, `leases/"100.64.0.0/16"/644000`},
		{"lease key outside pool", []string{"leases", "100.64.0.0/16"}, []byte{10, 0, 0, 1}, []byte(`{}`), listLeases, `leases/"100.64.0.0/16"/0a000001`},
		{"lease not JSON", []string{"leases", "100.64.0.0/16"}, []byte{100, 64, 0, 1}, []byte("{"), listLeases, "leases/100.64.0.0/16/100.64.0.1"},
		{"lease for other address", []string{"leases", "100.64.0.0/16"}, []byte{100, 64, 0, 1},
			[]byte(`{"pool":"100.64.0.0/16","addr":"100.64.0.2"}`), listLeases, "leases/100.64.0.0/16/100.64.0.1"},
		{"lease for other pool", []string{"leases", "100.64.0.0/16"}, []byte{100, 64, 0, 1},
			[]byte(`{"pool":"100.64.0.0/24","addr":"100.64.0.1"}`), listLeases, "leases/100.64.0.0/16/100.64.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			path := filepath.Join(t.TempDir(), "state.db")
			must(t, openT(t, path).Close())
			rawUpdate(t, path, func(tx *bbolt.Tx) error {
				b, err := tx.CreateBucketIfNotExists([]byte(tc.bucket[0]))
				for _, name := range tc.bucket[1:] {
					if err != nil {
						break
					}
					b, err = b.CreateBucketIfNotExists([]byte(name))
				}
				if err != nil {
					return err
				}
				return b.Put(tc.key, tc.val)
			})

			s := openT(t, path)
			err := tc.list(ctx, s)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v\nwant ErrCorrupt naming %s", err, tc.msg)
			}
			for _, list := range []func(context.Context, *Store) error{listRoots, listRevoked, listSessions, listLeases} {
				if err := list(ctx, s); err != nil && !errors.Is(err, ErrCorrupt) {
					t.Errorf("another listing failed with %v", err)
				}
			}
		})
	}
}

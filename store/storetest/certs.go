package storetest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/store"
)

// namedKind adapts the two collections keyed by an admin-chosen name (roots and revoked
// certificates) to one set of tests.
type namedKind struct {
	name   string
	add    func(ctx context.Context, s store.Store, name string) error
	remove func(ctx context.Context, s store.Store, name string) error
	names  func(ctx context.Context, s store.Store) ([]string, error)
}

var namedKinds = []namedKind{
	{
		name: "RootNames",
		add: func(ctx context.Context, s store.Store, name string) error {
			return s.AddRootCert(ctx, store.RootCert{Name: name, DER: []byte(name), AddedAt: testTime})
		},
		remove: func(ctx context.Context, s store.Store, name string) error {
			return s.RemoveRootCert(ctx, name)
		},
		names: func(ctx context.Context, s store.Store) ([]string, error) {
			rs, err := s.RootCerts(ctx)
			var out []string
			for _, r := range rs {
				out = append(out, r.Name)
			}
			return out, err
		},
	},
	{
		name: "RevokedNames",
		add: func(ctx context.Context, s store.Store, name string) error {
			return s.AddRevokedCert(ctx, store.RevokedCert{Name: name, Thumbprint: sha1Thumb, AddedAt: testTime})
		},
		remove: func(ctx context.Context, s store.Store, name string) error {
			return s.RemoveRevokedCert(ctx, name)
		},
		names: func(ctx context.Context, s store.Store) ([]string, error) {
			rs, err := s.RevokedCerts(ctx)
			var out []string
			for _, r := range rs {
				out = append(out, r.Name)
			}
			return out, err
		},
	},
}

var (
	testTime    = time.Date(2025, 3, 1, 12, 34, 56, 123456789, time.UTC)
	sha1Thumb   = "A94A8FE5CCB19BA61C4C0873D391E987982FBBD3"
	sha256Thumb = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
)

func testNamed(t *testing.T, open func(t *testing.T) store.Store, k namedKind) {
	ctx := t.Context()
	wantNames := func(t *testing.T, s store.Store, want ...string) {
		t.Helper()
		got, err := k.names(ctx, s)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("list = %q, want %q", got, want)
		}
	}

	t.Run("Empty", func(t *testing.T) {
		wantNames(t, newStore(t, open))
	})
	t.Run("SortedByteOrder", func(t *testing.T) {
		s := newStore(t, open)
		in := []string{"zeta", "alpha", "Alpha", "beta", "10", "9", "ünïcode", "a b", "a"}
		for _, n := range in {
			must(t, "add "+n, k.add(ctx, s, n))
		}
		wantNames(t, s, slices.Sorted(slices.Values(in))...)
	})
	t.Run("DuplicateIsErrExists", func(t *testing.T) {
		s := newStore(t, open)
		must(t, "add", k.add(ctx, s, "dup"))
		wantIs(t, "second add", k.add(ctx, s, "dup"), store.ErrExists)
		wantNames(t, s, "dup")
	})
	t.Run("Remove", func(t *testing.T) {
		s := newStore(t, open)
		for _, n := range []string{"a", "b", "c"} {
			must(t, "add "+n, k.add(ctx, s, n))
		}
		must(t, "remove b", k.remove(ctx, s, "b"))
		wantNames(t, s, "a", "c")
		must(t, "add b again", k.add(ctx, s, "b"))
		wantNames(t, s, "a", "b", "c")
	})
	t.Run("RemoveMissingIsErrNotFound", func(t *testing.T) {
		s := newStore(t, open)
		must(t, "add", k.add(ctx, s, "present"))
		for _, n := range []string{"absent", "Present", "", "present "} {
			wantIs(t, "remove "+n, k.remove(ctx, s, n), store.ErrNotFound)
		}
		must(t, "remove", k.remove(ctx, s, "present"))
		wantIs(t, "second remove", k.remove(ctx, s, "present"), store.ErrNotFound)
		wantNames(t, s)
	})
	t.Run("BadNameRefused", func(t *testing.T) {
		s := newStore(t, open)
		for _, n := range []string{"", "\xff\xfe", "caf\xc3"} {
			wantInvalid(t, fmt.Sprintf("add %q", n), k.add(ctx, s, n))
		}
		wantNames(t, s)
	})
}

func testRootCerts(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	// der is every byte value, repeated past a page so that nothing in the encoding path
	// (base64, page overflow) gets a chance to alter a byte.
	der := make([]byte, 10000)
	for i := range der {
		der[i] = byte(i)
	}

	t.Run("RecordRoundTrip", func(t *testing.T) {
		s := newStore(t, open)
		for _, r := range []store.RootCert{
			{Name: "big", DER: der, AddedAt: testTime},
			{Name: "empty-der", DER: nil, AddedAt: testTime},
			{Name: "one-byte", DER: []byte{0}, AddedAt: time.Time{}},
		} {
			must(t, "add "+r.Name, s.AddRootCert(ctx, r))
		}
		got, err := s.RootCerts(ctx)
		must(t, "list", err)
		if len(got) != 3 {
			t.Fatalf("got %d roots, want 3", len(got))
		}
		checkRoot(t, got[0], store.RootCert{Name: "big", DER: der, AddedAt: testTime})
		checkRoot(t, got[1], store.RootCert{Name: "empty-der", AddedAt: testTime})
		checkRoot(t, got[2], store.RootCert{Name: "one-byte", DER: []byte{0}})
	})
	t.Run("DuplicateKeepsOriginal", func(t *testing.T) {
		s := newStore(t, open)
		must(t, "add", s.AddRootCert(ctx, store.RootCert{Name: "r", DER: []byte("first"), AddedAt: testTime}))
		wantIs(t, "second add", s.AddRootCert(ctx, store.RootCert{Name: "r", DER: []byte("second")}), store.ErrExists)
		got, err := s.RootCerts(ctx)
		must(t, "list", err)
		if len(got) != 1 {
			t.Fatalf("got %d roots, want 1", len(got))
		}
		checkRoot(t, got[0], store.RootCert{Name: "r", DER: []byte("first"), AddedAt: testTime})
	})
	t.Run("NoAliasing", func(t *testing.T) {
		s := newStore(t, open)
		in := []byte{1, 2, 3}
		must(t, "add", s.AddRootCert(ctx, store.RootCert{Name: "r", DER: in}))
		in[0] = 0xff
		got, err := s.RootCerts(ctx)
		must(t, "list", err)
		if !bytes.Equal(got[0].DER, []byte{1, 2, 3}) {
			t.Fatalf("after the caller changed its slice, DER = %x, want 010203", got[0].DER)
		}
		got[0].DER[1] = 0xff
		again, err := s.RootCerts(ctx)
		must(t, "list", err)
		if !bytes.Equal(again[0].DER, []byte{1, 2, 3}) {
			t.Errorf("after the caller changed a listed slice, DER = %x, want 010203", again[0].DER)
		}
	})
}

func checkRoot(t *testing.T, got, want store.RootCert) {
	t.Helper()
	if got.Name != want.Name || !bytes.Equal(got.DER, want.DER) || !got.AddedAt.Equal(want.AddedAt) {
		t.Errorf("root = {%q, %d bytes of DER, %v}, want {%q, %d bytes, %v}",
			got.Name, len(got.DER), got.AddedAt, want.Name, len(want.DER), want.AddedAt)
	}
}

func testRevokedCerts(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	t.Run("RecordRoundTrip", func(t *testing.T) {
		s := newStore(t, open)
		want := []store.RevokedCert{
			{Name: "laptop-sha1", Thumbprint: sha1Thumb, AddedAt: testTime},
			{Name: "phone-sha256", Thumbprint: sha256Thumb, AddedAt: testTime.Add(time.Nanosecond)},
		}
		for _, r := range slices.Backward(want) {
			must(t, "add "+r.Name, s.AddRevokedCert(ctx, r))
		}
		got, err := s.RevokedCerts(ctx)
		must(t, "list", err)
		if len(got) != len(want) {
			t.Fatalf("got %d entries, want %d", len(got), len(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Name != w.Name || g.Thumbprint != w.Thumbprint || !g.AddedAt.Equal(w.AddedAt) {
				t.Errorf("entry %d = %+v, want %+v", i, g, w)
			}
		}
	})
	t.Run("DuplicateKeepsOriginal", func(t *testing.T) {
		s := newStore(t, open)
		must(t, "add", s.AddRevokedCert(ctx, store.RevokedCert{Name: "r", Thumbprint: sha1Thumb}))
		wantIs(t, "second add", s.AddRevokedCert(ctx, store.RevokedCert{Name: "r", Thumbprint: sha256Thumb}), store.ErrExists)
		got, err := s.RevokedCerts(ctx)
		must(t, "list", err)
		if len(got) != 1 || got[0].Thumbprint != sha1Thumb {
			t.Errorf("list = %+v, want the first entry only", got)
		}
	})
}

package storetest

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/store"
)

// session returns a session record of user with the given id.
func session(id, user string) store.Session {
	return store.Session{
		ID:         id,
		User:       user,
		Protocol:   "IKEv2",
		AuthMethod: "certificate",
		PublicAddr: netip.MustParseAddrPort("198.18.7.9:4500"),
		VPNAddr:    netip.MustParseAddr("100.64.0.9"),
		Node:       "gw1",
		StartedAt:  testTime,
	}
}

// sameSession reports whether a and b are equal, their times compared as instants.
func sameSession(a, b store.Session) bool {
	if !a.StartedAt.Equal(b.StartedAt) {
		return false
	}
	a.StartedAt, b.StartedAt = time.Time{}, time.Time{}
	return a == b
}

func testSessions(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	wantSessions := func(t *testing.T, s store.Store, want ...store.Session) {
		t.Helper()
		got, err := s.Sessions(ctx)
		if err != nil {
			t.Fatalf("Sessions: %v", err)
		}
		if len(got) != len(want) {
			t.Fatalf("Sessions = %d records, want %d", len(got), len(want))
		}
		for i := range want {
			if !sameSession(got[i], want[i]) {
				t.Errorf("Sessions[%d] = %+v, want %+v", i, got[i], want[i])
			}
		}
	}

	t.Run("Empty", func(t *testing.T) {
		wantSessions(t, newStore(t, open))
	})
	t.Run("RecordRoundTrip", func(t *testing.T) {
		s := newStore(t, open)
		v4 := session("IKEv2_1", "alice")
		v6 := session("IKEv2_2", "bob")
		v6.Protocol, v6.AuthMethod = "SSTP", "radius"
		v6.PublicAddr = netip.MustParseAddrPort("[2001:db8::1]:443")
		v6.VPNAddr = netip.MustParseAddr("2001:db8:64::9")
		zero := store.Session{ID: "IKEv2_3"} // every other field its zero value
		for _, sess := range []store.Session{v4, v6, zero} {
			must(t, "put "+sess.ID, s.PutSession(ctx, sess))
		}
		wantSessions(t, s, v4, v6, zero)
	})
	t.Run("SortedByID", func(t *testing.T) {
		s := newStore(t, open)
		ids := []string{
			"SSTP_0b7c4e1a-1d7e-4c39-9d61-1f3a5b0c2d4e",
			"IKEv2_f47ac10b-58cc-4372-a567-0e02b2c3d479",
			"OVPN_6fa459ea-ee8a-3ca4-894e-db77e160355e",
			"IKEv2_0e02b2c3-58cc-4372-a567-f47ac10bd479",
		}
		for _, id := range ids {
			must(t, "put", s.PutSession(ctx, session(id, "u")))
		}
		var want []store.Session
		for _, id := range slices.Sorted(slices.Values(ids)) {
			want = append(want, session(id, "u"))
		}
		wantSessions(t, s, want...)
	})
	t.Run("PutReplaces", func(t *testing.T) {
		s := newStore(t, open)
		first := session("IKEv2_1", "alice")
		second := first
		second.Node, second.PublicAddr = "gw2", netip.MustParseAddrPort("198.18.7.10:61000")
		must(t, "put", s.PutSession(ctx, first))
		must(t, "put again", s.PutSession(ctx, second))
		wantSessions(t, s, second)
	})
	t.Run("Delete", func(t *testing.T) {
		s := newStore(t, open)
		a, b := session("IKEv2_a", "a"), session("IKEv2_b", "b")
		must(t, "put a", s.PutSession(ctx, a))
		must(t, "put b", s.PutSession(ctx, b))
		must(t, "delete a", s.DeleteSession(ctx, a.ID))
		wantSessions(t, s, b)
		wantIs(t, "delete again", s.DeleteSession(ctx, a.ID), store.ErrNotFound)
		wantIs(t, "delete never", s.DeleteSession(ctx, "SSTP_none"), store.ErrNotFound)
		wantIs(t, "delete empty id", s.DeleteSession(ctx, ""), store.ErrNotFound)
		wantSessions(t, s, b)
	})
	t.Run("BadIDRefused", func(t *testing.T) {
		s := newStore(t, open)
		for _, id := range []string{"", "IKEv2_\xff"} {
			wantInvalid(t, fmt.Sprintf("put %q", id), s.PutSession(ctx, session(id, "alice")))
		}
		wantSessions(t, s)
	})
}

package storetest

import (
	"net/netip"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/store"
)

var (
	pool4 = netip.MustParsePrefix("100.64.0.0/16")
	pool6 = netip.MustParsePrefix("2001:db8:64::/64")
)

// lease returns an active lease of addr in pool.
func lease(pool netip.Prefix, addr, identity string) store.Lease {
	return store.Lease{
		Pool:      pool,
		Addr:      netip.MustParseAddr(addr),
		Identity:  identity,
		SessionID: "IKEv2_" + identity,
		Node:      "gw1",
		UpdatedAt: testTime,
	}
}

// sameLease reports whether a and b are equal, their times compared as instants.
func sameLease(a, b store.Lease) bool {
	if !a.UpdatedAt.Equal(b.UpdatedAt) {
		return false
	}
	a.UpdatedAt, b.UpdatedAt = time.Time{}, time.Time{}
	return a == b
}

// leaseAddrs returns the addresses of ls in order.
func leaseAddrs(ls []store.Lease) []netip.Addr {
	var out []netip.Addr
	for _, l := range ls {
		out = append(out, l.Addr)
	}
	return out
}

func testLeases(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := t.Context()
	wantLeases := func(t *testing.T, s store.Store, pool netip.Prefix, want ...store.Lease) {
		t.Helper()
		got, err := s.Leases(ctx, pool)
		if err != nil {
			t.Fatalf("Leases(%s): %v", pool, err)
		}
		if len(got) != len(want) {
			t.Fatalf("Leases(%s) = %v, want %v", pool, leaseAddrs(got), leaseAddrs(want))
		}
		for i := range want {
			if !sameLease(got[i], want[i]) {
				t.Errorf("Leases(%s)[%d] = %+v, want %+v", pool, i, got[i], want[i])
			}
		}
	}

	t.Run("UnknownPoolIsEmpty", func(t *testing.T) {
		s := newStore(t, open)
		wantLeases(t, s, pool4)
		wantLeases(t, s, netip.Prefix{})
	})
	t.Run("RecordRoundTrip", func(t *testing.T) {
		s := newStore(t, open)
		l4 := lease(pool4, "100.64.3.4", "CN=alice,O=Example")
		l6 := lease(pool6, "2001:db8:64::beef", "bob@example.com")
		l6.SessionID, l6.Node = "", "" // released, granted by a nameless node
		must(t, "put v4", s.PutLease(ctx, l4))
		must(t, "put v6", s.PutLease(ctx, l6))
		wantLeases(t, s, pool4, l4)
		wantLeases(t, s, pool6, l6)
	})
	t.Run("SortedNumerically", func(t *testing.T) {
		for _, tc := range []struct {
			pool  netip.Prefix
			addrs []string // in numeric order
		}{
			{pool4, []string{"100.64.0.1", "100.64.0.2", "100.64.0.10", "100.64.0.100", "100.64.0.255",
				"100.64.1.0", "100.64.1.1", "100.64.10.0", "100.64.255.255"}},
			{pool6, []string{"2001:db8:64::1", "2001:db8:64::2", "2001:db8:64::a", "2001:db8:64::10",
				"2001:db8:64::ff", "2001:db8:64::100", "2001:db8:64::1:0", "2001:db8:64:0:ffff:ffff:ffff:ffff"}},
		} {
			t.Run(tc.pool.String(), func(t *testing.T) {
				s := newStore(t, open)
				var want []store.Lease
				for _, a := range tc.addrs {
					want = append(want, lease(tc.pool, a, "id-"+a))
				}
				// Put in an order that is neither numeric nor lexical.
				for _, i := range []int{3, 7, 0, 5, 1, 8, 2, 6, 4} {
					if i < len(want) {
						must(t, "put", s.PutLease(ctx, want[i]))
					}
				}
				wantLeases(t, s, tc.pool, want...)
			})
		}
	})
	t.Run("PutReplaces", func(t *testing.T) {
		s := newStore(t, open)
		first := lease(pool4, "100.64.0.7", "alice")
		second := lease(pool4, "100.64.0.7", "bob")
		second.SessionID, second.Node, second.UpdatedAt = "", "gw2", testTime.Add(time.Hour)
		must(t, "put", s.PutLease(ctx, first))
		must(t, "put again", s.PutLease(ctx, second))
		wantLeases(t, s, pool4, second)
	})
	t.Run("Active", func(t *testing.T) {
		s := newStore(t, open)
		l := lease(pool4, "100.64.0.7", "alice")
		must(t, "put", s.PutLease(ctx, l))
		got, err := s.Leases(ctx, pool4)
		must(t, "list", err)
		if len(got) != 1 || !got[0].Active() {
			t.Fatalf("after put with a session: %+v, want one active lease", got)
		}
		l.SessionID = "" // released, remembered for the next session of alice
		must(t, "release", s.PutLease(ctx, l))
		got, err = s.Leases(ctx, pool4)
		must(t, "list", err)
		if len(got) != 1 || got[0].Active() || got[0].Identity != "alice" {
			t.Errorf("after release: %+v, want one inactive lease of alice", got)
		}
	})
	t.Run("SeparatedByPool", func(t *testing.T) {
		s := newStore(t, open)
		p24a := netip.MustParsePrefix("100.64.0.0/24")
		p24b := netip.MustParsePrefix("100.64.1.0/24")
		inA := lease(p24a, "100.64.0.5", "a")
		inB := lease(p24b, "100.64.1.5", "b")
		in16 := lease(pool4, "100.64.0.5", "wide") // the same address, in the enclosing pool
		in6 := lease(pool6, "2001:db8:64::5", "six")
		for _, l := range []store.Lease{inA, inB, in16, in6} {
			must(t, "put", s.PutLease(ctx, l))
		}
		wantLeases(t, s, p24a, inA)
		wantLeases(t, s, p24b, inB)
		wantLeases(t, s, pool4, in16)
		wantLeases(t, s, pool6, in6)
		wantLeases(t, s, netip.MustParsePrefix("100.64.2.0/24"))

		must(t, "delete", s.DeleteLease(ctx, p24a, inA.Addr))
		wantLeases(t, s, p24a)
		wantLeases(t, s, pool4, in16)
	})
	t.Run("PoolIsMaskedPrefix", func(t *testing.T) {
		s := newStore(t, open)
		l := lease(netip.MustParsePrefix("100.64.0.9/16"), "100.64.0.7", "alice")
		must(t, "put", s.PutLease(ctx, l))
		wantLeases(t, s, pool4, l)
		wantLeases(t, s, netip.MustParsePrefix("100.64.200.1/16"), l)
		must(t, "delete", s.DeleteLease(ctx, netip.MustParsePrefix("100.64.1.1/16"), l.Addr))
		wantLeases(t, s, pool4)
	})
	t.Run("Delete", func(t *testing.T) {
		s := newStore(t, open)
		a, b, c := lease(pool4, "100.64.0.1", "a"), lease(pool4, "100.64.0.2", "b"), lease(pool4, "100.64.0.3", "c")
		for _, l := range []store.Lease{a, b, c} {
			must(t, "put", s.PutLease(ctx, l))
		}
		must(t, "delete", s.DeleteLease(ctx, pool4, b.Addr))
		wantLeases(t, s, pool4, a, c)
		wantIs(t, "delete again", s.DeleteLease(ctx, pool4, b.Addr), store.ErrNotFound)
		must(t, "delete a", s.DeleteLease(ctx, pool4, a.Addr))
		must(t, "delete c", s.DeleteLease(ctx, pool4, c.Addr))
		wantLeases(t, s, pool4)
		must(t, "put after emptying the pool", s.PutLease(ctx, b))
		wantLeases(t, s, pool4, b)
	})
	t.Run("DeleteMissingIsErrNotFound", func(t *testing.T) {
		s := newStore(t, open)
		must(t, "put", s.PutLease(ctx, lease(pool4, "100.64.0.1", "a")))
		for _, tc := range []struct {
			name string
			pool netip.Prefix
			addr netip.Addr
		}{
			{"missing address", pool4, netip.MustParseAddr("100.64.0.2")},
			{"unknown pool", pool6, netip.MustParseAddr("2001:db8:64::1")},
			{"other pool", netip.MustParsePrefix("100.64.0.0/24"), netip.MustParseAddr("100.64.0.1")},
			{"address outside pool", pool4, netip.MustParseAddr("100.65.0.1")},
			{"invalid pool", netip.Prefix{}, netip.MustParseAddr("100.64.0.1")},
			{"invalid address", pool4, netip.Addr{}},
		} {
			wantIs(t, tc.name, s.DeleteLease(ctx, tc.pool, tc.addr), store.ErrNotFound)
		}
		wantLeases(t, s, pool4, lease(pool4, "100.64.0.1", "a"))
	})
	t.Run("InvalidRefused", func(t *testing.T) {
		s := newStore(t, open)
		linkLocal := netip.MustParsePrefix("fe80::/64")
		for _, tc := range []struct {
			name string
			l    store.Lease
		}{
			{"zero pool", store.Lease{Addr: netip.MustParseAddr("100.64.0.1")}},
			{"zero address", store.Lease{Pool: pool4}},
			{"address outside pool", lease(pool4, "100.65.0.1", "x")},
			{"IPv6 address in IPv4 pool", lease(pool4, "2001:db8:64::1", "x")},
			{"IPv4-mapped address in IPv4 pool", lease(pool4, "::ffff:100.64.0.1", "x")},
			{"IPv4 address in IPv6 pool", lease(pool6, "100.64.0.1", "x")},
			{"zoned address", lease(linkLocal, "fe80::1%eth0", "x")},
		} {
			wantInvalid(t, tc.name, s.PutLease(ctx, tc.l))
		}
		for _, p := range []netip.Prefix{pool4, pool6, linkLocal} {
			wantLeases(t, s, p)
		}
	})
}

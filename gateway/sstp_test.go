package gateway

import (
	"net/netip"
	"testing"
)

// TestPreAuthLimits: connections still negotiating are bounded per source and in all, and a
// place given back (however often release is called) is free again.
func TestPreAuthLimits(t *testing.T) {
	s := &sstpListener{preBy: make(map[netip.Addr]int)}
	a, b := netip.MustParseAddr("198.18.1.1"), netip.MustParseAddr("198.18.1.2")
	var releases []func()
	for range maxPreAuthPerSource {
		r, ok := s.admitPreAuth(a)
		if !ok {
			t.Fatal("refused below the per-source limit")
		}
		releases = append(releases, r)
	}
	if _, ok := s.admitPreAuth(a); ok {
		t.Fatal("a source passed its limit")
	}
	if r, ok := s.admitPreAuth(b); !ok {
		t.Fatal("another source was refused")
	} else {
		r()
	}
	releases[0]()
	releases[0]() // once only
	if _, ok := s.admitPreAuth(a); !ok {
		t.Fatal("a released place was not free again")
	}
	if _, ok := s.admitPreAuth(a); ok {
		t.Fatal("a double release freed two places")
	}
	s.pre = maxPreAuth
	if _, ok := s.admitPreAuth(b); ok {
		t.Fatal("the total limit was passed")
	}
}

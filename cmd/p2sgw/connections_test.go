package main

import (
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/api"
)

// TestConnFilterAndSort: --user and --protocol match in any case and combine; --sort orders
// stably, the biggest first for traffic.
func TestConnFilterAndSort(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	conns := []api.Connection{
		{ID: "a", User: "alice@example.com", Protocol: "IKEv2", ConnectedAt: t0, EgressBytes: 10},
		{ID: "b", User: "bob", Protocol: "SSTP", ConnectedAt: t0.Add(time.Minute), EgressBytes: 30},
		{ID: "c", User: "Alice@example.com", Protocol: "SSTP", ConnectedAt: t0.Add(2 * time.Minute), EgressBytes: 20},
	}
	ids := func(cs []api.Connection) (s string) {
		for _, c := range cs {
			s += c.ID
		}
		return s
	}
	for _, tc := range []struct {
		f    connFilter
		want string
	}{
		{connFilter{}, "abc"},
		{connFilter{user: "ALICE@example.com"}, "ac"},
		{connFilter{protocol: "sstp"}, "bc"},
		{connFilter{user: "alice@example.com", protocol: "SSTP"}, "c"},
		{connFilter{user: "carol"}, ""},
	} {
		if got := ids(tc.f.apply(conns)); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.f, got, tc.want)
		}
	}
	if ids(conns) != "abc" {
		t.Fatal("apply changed its input")
	}
	for key, want := range map[string]string{"connected": "abc", "out": "bca", "protocol": "abc", "user": "acb"} {
		cs := append([]api.Connection(nil), conns...)
		sortConnections(cs, key)
		if got := ids(cs); got != want {
			t.Errorf("--sort %s: %q, want %q", key, got, want)
		}
	}
}

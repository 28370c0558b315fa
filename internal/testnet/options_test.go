package testnet

import (
	"net/netip"
	"testing"
)

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		ok   bool
	}{
		{"zero", Options{}, true},
		{"max clients", Options{Clients: MaxClients}, true},
		{"too many clients", Options{Clients: MaxClients + 1}, false},
		{"negative clients", Options{Clients: -1}, false},
		{"mtu 1280", Options{MTU: 1280}, true},
		{"mtu too small", Options{MTU: 67}, false},
		{"mtu too large", Options{MTU: 65536}, false},
		{"negative mtu", Options{MTU: -1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.o.validate(); (err == nil) != tc.ok {
				t.Errorf("validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestClientAddr(t *testing.T) {
	for i, want := range map[int]string{0: "198.18.1.1", 1: "198.18.1.2", MaxClients - 1: "198.18.1.254"} {
		if got := ClientAddr(i); got != netip.MustParseAddr(want) || !InternetPrefix.Contains(got) {
			t.Errorf("ClientAddr(%d) = %v, want %s", i, got, want)
		}
	}
	for _, i := range []int{-1, MaxClients} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("ClientAddr(%d) did not panic", i)
				}
			}()
			ClientAddr(i)
		}()
	}
}

func TestPrefixesDisjoint(t *testing.T) {
	ps := []netip.Prefix{InternetPrefix, VNetPrefix, PoolPrefix}
	for i, a := range ps {
		for _, b := range ps[i+1:] {
			if a.Overlaps(b) {
				t.Errorf("%v overlaps %v", a, b)
			}
		}
	}
	if !InternetPrefix.Contains(GatewayAddr) || !VNetPrefix.Contains(GatewayVNetAddr) || !VNetPrefix.Contains(VNetHostAddr) {
		t.Error("a fixed address is outside its prefix")
	}
}

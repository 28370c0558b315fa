package testnet

import (
	"net/netip"
	"testing"
)

func TestParseSocketAddr(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" for a parse error
	}{
		{"0100007F:0277", "127.0.0.1:631"},
		{"0A0013C6:0050", "198.19.0.10:80"},
		{"00000000:0714", "0.0.0.0:1812"},
		{"00000000000000000000000000000000:01F4", "[::]:500"},
		{"00000000000000000000000001000000:0016", "[::1]:22"},
		{"0000000000000000FFFF00000A0013C6:0050", "[::ffff:198.19.0.10]:80"},
		{"0100007F", ""},
		{"0100007:0277", ""},
		{"0100007F:10000", ""},
		{"ZZ00007F:0277", ""},
	} {
		got, ok := parseSocketAddr(tc.in)
		if tc.want == "" {
			if ok {
				t.Errorf("parseSocketAddr(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if !ok || got != netip.MustParseAddrPort(tc.want) {
			t.Errorf("parseSocketAddr(%q) = %v, %v; want %s", tc.in, got, ok, tc.want)
		}
	}
}

func TestHasSocket(t *testing.T) {
	const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0A0013C6:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0A0013C6:0050 0A0112C6:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1
   2: 00000000:2329 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0
   3: 0A0013C6:1F90 0A0112C6:C351 01 00000000:00000000 00:00000000 00000000     0        0 4 1 0 20 4 30 10 -1
`
	vnet := netip.MustParseAddr("198.19.0.10")
	for _, tc := range []struct {
		name string
		ip   netip.Addr
		port uint16
		want bool
	}{
		{"exact", vnet, 80, true},
		{"wildcard socket", vnet, 9001, true},
		{"any address", netip.Addr{}, 80, true},
		{"other address", netip.MustParseAddr("198.19.0.11"), 80, false},
		{"established only", vnet, 8080, false},
		{"nothing", vnet, 443, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := hasSocket([]byte(tcp), stateListen, tc.ip, tc.port); got != tc.want {
				t.Errorf("hasSocket(%v, %d) = %v, want %v", tc.ip, tc.port, got, tc.want)
			}
		})
	}
}

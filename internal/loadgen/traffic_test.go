package loadgen

import (
	"net/netip"
	"testing"
)

func TestEcho(t *testing.T) {
	src, dst := netip.MustParseAddr("100.64.0.7"), netip.MustParseAddr("198.19.0.10")
	p := appendEcho(nil, src, dst, icmpEcho, 0x1234, 3)
	if len(p) != echoLen {
		t.Fatalf("%d octets, want %d", len(p), echoLen)
	}
	if c := checksum(p[:ipv4HeaderLen]); c != 0 {
		t.Errorf("IPv4 header checksum does not verify (%#x)", c)
	}
	if c := checksum(p[ipv4HeaderLen:]); c != 0 {
		t.Errorf("ICMP checksum does not verify (%#x)", c)
	}
	typ, id, s, d, ok := parseEcho(p)
	if !ok || typ != icmpEcho || id != 0x1234 || s != src || d != dst {
		t.Fatalf("parseEcho = %d %#x %s %s %v", typ, id, s, d, ok)
	}
	for _, bad := range [][]byte{nil, p[:ipv4HeaderLen+icmpHeaderLen-1], append([]byte{0x60}, p[1:]...)} {
		if _, _, _, _, ok := parseEcho(bad); ok {
			t.Errorf("parseEcho took %x", bad)
		}
	}
	udp := append([]byte(nil), p...)
	udp[9] = 17
	if _, _, _, _, ok := parseEcho(udp); ok {
		t.Error("parseEcho took a UDP packet")
	}
}

// TestChecksum is RFC 1071's example (§3): the one's complement sum of 0001 f203 f4f5 f6f7 is
// ddf2, so the checksum is its complement.
func TestChecksum(t *testing.T) {
	if c := checksum([]byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}); c != ^uint16(0xddf2) {
		t.Fatalf("checksum = %#04x, want %#04x", c, ^uint16(0xddf2))
	}
	if c := checksum([]byte{0xff}); c != ^uint16(0xff00) {
		t.Fatalf("odd length: %#04x", c)
	}
}

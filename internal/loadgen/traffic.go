package loadgen

import (
	"encoding/binary"
	"net/netip"
	"sync/atomic"

	"github.com/p2sgw/p2sgw/esp"
)

// The traffic check: each session sends a few ICMP echo requests from its VPN address through
// its CHILD SA (ESP in UDP, sealed with the CHILD SA's outbound keys) and counts the echo
// replies that come back through it. The ESP SAs exist only for the check.

// Sizes of the echo request.
const (
	ipv4HeaderLen = 20
	icmpHeaderLen = 8
	echoDataLen   = 16
	echoLen       = ipv4HeaderLen + icmpHeaderLen + echoDataLen
	protoICMP     = 1
	icmpEcho      = 8
	icmpEchoReply = 0
)

// flow is one session's ESP SAs during the traffic check.
type flow struct {
	in      *esp.Inbound
	out     *esp.Outbound
	vpnAddr netip.Addr // the session's address, the source of its echo requests
	dst     netip.Addr // what it pings
	id      uint16     // the echo identifier
	replies atomic.Int64
}

// request returns an ESP packet carrying echo request seq of the flow.
func (f *flow) request(seq uint16) ([]byte, error) {
	buf := make([]byte, esp.Headroom+echoLen+esp.Tailroom)
	appendEcho(buf[esp.Headroom:esp.Headroom], f.vpnAddr, f.dst, icmpEcho, f.id, seq)
	return f.out.Seal(buf, esp.Headroom, echoLen)
}

// reply opens an ESP packet of the flow and reports whether it is one of its echo replies.
// It is called from the demux goroutine only.
func (f *flow) reply(pkt []byte) bool {
	inner, _, drop := f.in.Open(pkt)
	if drop != esp.DropNone {
		return false
	}
	typ, id, src, dst, ok := parseEcho(inner)
	if !ok || typ != icmpEchoReply || id != f.id || src != f.dst || dst != f.vpnAddr {
		return false
	}
	f.replies.Add(1)
	return true
}

// appendEcho appends an IPv4 ICMP echo message (request or reply) with echoDataLen octets of
// data to b.
func appendEcho(b []byte, src, dst netip.Addr, typ uint8, id, seq uint16) []byte {
	start := len(b)
	s, d := src.As4(), dst.As4()
	b = append(b,
		0x45, 0, byte(echoLen>>8), byte(echoLen&0xff), // version, IHL, TOS, total length
		byte(seq>>8), byte(seq), 0x40, 0, // identification, DF
		64, protoICMP, 0, 0, // TTL, protocol, checksum
	)
	b = append(b, s[:]...)
	b = append(b, d[:]...)
	binary.BigEndian.PutUint16(b[start+10:], checksum(b[start:start+ipv4HeaderLen]))
	icmp := len(b)
	b = append(b, typ, 0, 0, 0, byte(id>>8), byte(id), byte(seq>>8), byte(seq))
	for i := range echoDataLen {
		b = append(b, byte('p'+i))
	}
	binary.BigEndian.PutUint16(b[icmp+2:], checksum(b[icmp:]))
	return b
}

// parseEcho reads an IPv4 ICMP echo message; ok is false for anything else.
func parseEcho(p []byte) (typ uint8, id uint16, src, dst netip.Addr, ok bool) {
	if len(p) < ipv4HeaderLen || p[0]>>4 != 4 {
		return 0, 0, src, dst, false
	}
	ihl := int(p[0]&0x0f) * 4
	if ihl < ipv4HeaderLen || len(p) < ihl+icmpHeaderLen || p[9] != protoICMP {
		return 0, 0, src, dst, false
	}
	src = netip.AddrFrom4([4]byte(p[12:16]))
	dst = netip.AddrFrom4([4]byte(p[16:20]))
	icmp := p[ihl:]
	if icmp[0] != icmpEcho && icmp[0] != icmpEchoReply {
		return 0, 0, src, dst, false
	}
	return icmp[0], binary.BigEndian.Uint16(icmp[4:]), src, dst, true
}

// checksum is the Internet checksum (RFC 1071) of b.
func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

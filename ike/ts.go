package ike

import (
	"net/netip"

	"github.com/p2sgw/p2sgw/ike/message"
)

// hostSelector is the traffic selector of one IPv4 address, any protocol and port.
func hostSelector(a netip.Addr) message.Selector {
	return message.Selector{Type: message.TSIPv4AddrRange, EndPort: 0xffff, StartAddr: a, EndAddr: a}
}

// prefixSelector is the traffic selector of an IPv4 prefix, any protocol and port.
func prefixSelector(p netip.Prefix) message.Selector {
	first, last := prefixRange(p)
	return message.Selector{Type: message.TSIPv4AddrRange, EndPort: 0xffff, StartAddr: first, EndAddr: last}
}

// narrowTS narrows the client's TSr to the VNet prefixes (RFC 7296 §2.9): for each prefix,
// the part that one of the client's selectors covers, with the selector's protocol and ports.
// A client asking for 0.0.0.0/0 gets exactly the VNet prefixes. IPv6 selectors are left out.
func narrowTS(asked []message.Selector, vnet []netip.Prefix) []message.Selector {
	var out []message.Selector
	for _, p := range vnet {
		if !p.Addr().Is4() {
			continue
		}
		pf, pl := prefixRange(p)
		for _, s := range asked {
			if s.Type != message.TSIPv4AddrRange || s.StartPort > s.EndPort {
				continue
			}
			lo, hi := maxAddr(pf, s.StartAddr), minAddr(pl, s.EndAddr)
			if lo.Compare(hi) > 0 {
				continue
			}
			out = append(out, message.Selector{Type: message.TSIPv4AddrRange, IPProtocol: s.IPProtocol,
				StartPort: s.StartPort, EndPort: s.EndPort, StartAddr: lo, EndAddr: hi})
			if len(out) == message.MaxSelectors {
				return out
			}
		}
	}
	return out
}

// prefixRange returns the first and last address of an IPv4 prefix.
func prefixRange(p netip.Prefix) (first, last netip.Addr) {
	p = p.Masked()
	a := p.Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	if p.Bits() < 32 {
		v |= ^uint32(0) >> p.Bits()
	}
	return p.Addr(), netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func maxAddr(a, b netip.Addr) netip.Addr {
	if a.Compare(b) >= 0 {
		return a
	}
	return b
}

func minAddr(a, b netip.Addr) netip.Addr {
	if a.Compare(b) <= 0 {
		return a
	}
	return b
}

// selectorsCover reports whether the selectors cover every address of p.
func selectorsCover(sel []message.Selector, p netip.Prefix) bool {
	first, last := prefixRange(p)
	for _, s := range sel {
		if s.StartAddr.Compare(first) <= 0 && s.EndAddr.Compare(last) >= 0 {
			return true
		}
	}
	return false
}

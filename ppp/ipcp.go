package ppp

import (
	"net/netip"
)

// IPCP configuration options (RFC 1332, RFC 1877).
const (
	ipcpAddresses   = 1 // deprecated
	ipcpCompression = 2
	ipcpAddress     = 3
	ipcpDNS1        = 129
	ipcpNBNS1       = 130
	ipcpDNS2        = 131
	ipcpNBNS2       = 132
)

// ipcpServer is the server's IPCP policy: the peer gets the address Assign chose and our DNS
// servers, and nothing else (no VJ compression, no NBNS). We ask for our own address.
type ipcpServer struct {
	s         *Server
	noAddress bool // the peer rejected our IP-Address
}

func (c *ipcpServer) request(b []byte) []byte {
	if c.noAddress {
		return b
	}
	a := c.s.local.As4()
	return appendOption(b, ipcpAddress, a[:]...)
}

func (c *ipcpServer) check(opts []option) (uint8, []byte) {
	var nak, rej []byte
	sawAddress := false
	for _, o := range opts {
		switch {
		case o.typ == ipcpAddress && len(o.data) == 4:
			sawAddress = true
			if netip.AddrFrom4([4]byte(o.data)) != c.s.peer {
				nak = appendAddr(nak, ipcpAddress, c.s.peer)
			}
		case (o.typ == ipcpDNS1 || o.typ == ipcpDNS2) && len(o.data) == 4:
			i := 0
			if o.typ == ipcpDNS2 {
				i = 1
			}
			if i >= len(c.s.dns) {
				rej = appendOption(rej, o.typ, o.data...)
			} else if netip.AddrFrom4([4]byte(o.data)) != c.s.dns[i] {
				nak = appendAddr(nak, o.typ, c.s.dns[i])
			}
		default: // VJ compression, NBNS, IP-Addresses, and anything unknown
			rej = appendOption(rej, o.typ, o.data...)
		}
	}
	if !sawAddress && rej == nil {
		// A peer that asks for no address still gets one (an unsolicited Nak, RFC 1661 §5.3).
		nak = appendAddr(nak, ipcpAddress, c.s.peer)
	}
	switch {
	case rej != nil:
		return codeConfRej, rej
	case nak != nil:
		return codeConfNak, nak
	}
	return codeConfAck, nil
}

func appendAddr(b []byte, typ uint8, a netip.Addr) []byte {
	v := a.As4()
	return appendOption(b, typ, v[:]...)
}

// nak: the peer wants us to have another address. Ours is not negotiable; we ask again, and
// the automaton gives up if the peer insists.
func (c *ipcpServer) nak([]option) error { return nil }

func (c *ipcpServer) reject(opts []option) error {
	for _, o := range opts {
		if o.typ == ipcpAddress {
			c.noAddress = true
		}
	}
	return nil
}

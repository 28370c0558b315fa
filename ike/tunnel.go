package ike

import (
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/p2sgw/p2sgw/esp"
	"github.com/p2sgw/p2sgw/netio"
)

// Tunnel is one client's ESP in UDP: what the data plane sends through and the hooks see.
type Tunnel struct {
	srv     *Server
	addr    netip.Addr  // the client's VPN address
	control chan string // its SA goroutine's disconnect requests (handle.control)

	lastSeen atomic.Int64 // Unix nanoseconds of the last authentic packet from the client

	mu      sync.Mutex    // guards the fields below
	in      *esp.Inbound  // the current CHILD SA's inbound SA
	out     *esp.Outbound // the current CHILD SA's outbound SA: Send seals with it
	retired struct{ in, out esp.Stats }
	remote  netip.AddrPort
	local   netip.AddrPort
	pkts    []netio.Packet // scratch for Send, reused under mu
}

// inboundSA is an inbound ESP SA and the tunnel it belongs to. During a rekey a tunnel has
// two: the old one until the client deletes it, and the new one.
type inboundSA struct {
	t  *Tunnel
	in *esp.Inbound
}

// Addr returns the client's VPN address.
func (t *Tunnel) Addr() netip.Addr { return t.addr }

// Remote returns the client's public address and port as last seen.
func (t *Tunnel) Remote() netip.AddrPort {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.remote
}

// Stats returns the traffic counters of the tunnel's ESP SAs, rekeyed ones included.
func (t *Tunnel) Stats() (in, out esp.Stats) {
	t.mu.Lock()
	defer t.mu.Unlock()
	in, out = t.in.Stats(), t.out.Stats()
	in.Packets += t.retired.in.Packets
	in.Bytes += t.retired.in.Bytes
	out.Packets += t.retired.out.Packets
	out.Bytes += t.retired.out.Bytes
	return in, out
}

// Send seals each packet bufs[i][offset:] in place and sends the batch to the client. Each
// buffer must have esp.Headroom before offset and esp.Tailroom capacity after its end (the
// data plane's Headroom and Tailroom are larger). It implements dataplane.Sender.
func (t *Tunnel) Send(bufs [][]byte, offset int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pkts = t.pkts[:0]
	for _, b := range bufs {
		n := len(b) - offset
		pkt, err := t.out.Seal(b[:cap(b)], offset, n)
		if err != nil {
			t.srv.log.Debug("ESP seal failed", "vpn_address", t.addr, "len", n, "err", err) // also counted by the SA
			continue
		}
		t.pkts = append(t.pkts, netio.Packet{Buf: pkt, Remote: t.remote, Local: t.local})
	}
	if len(t.pkts) > 0 {
		if _, err := t.srv.natt.WriteBatch(t.pkts); err != nil {
			t.srv.log.Debug("ESP send failed", "vpn_address", t.addr, "remote", t.remote, "err", err)
		}
	}
}

// moveTo points the tunnel at the client's new address (MOBIKE).
func (t *Tunnel) moveTo(remote, local netip.AddrPort) {
	t.mu.Lock()
	t.remote, t.local = remote, local
	t.mu.Unlock()
}

// follow updates the client's address when an authentic packet arrives from a new one (NAT
// rebinding).
func (t *Tunnel) follow(remote, local netip.AddrPort) {
	t.mu.Lock()
	if t.remote != remote {
		t.remote, t.local = remote, local
	}
	t.mu.Unlock()
}

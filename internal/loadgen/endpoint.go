package loadgen

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/p2sgw/p2sgw/esp"
	"github.com/p2sgw/p2sgw/ike"
	"github.com/p2sgw/p2sgw/ike/message"
	"github.com/p2sgw/p2sgw/netio"
)

// Read sizes: a few datagrams per system call, each as large as an unfragmented IKE message
// from a gateway gets (an IKE_AUTH answer with a certificate chain; larger ones come in
// fragments, which we announce support for). 32 KiB per source address.
const (
	readBatch   = 4
	readBufSize = 8 << 10
	inboxSize   = 4
)

// kind is what a datagram from the gateway carries.
type kind uint8

const (
	kindDrop kind = iota // nothing for us: too short, a keepalive, or an unknown port
	kindIKE
	kindESP
)

func (k kind) String() string {
	switch k {
	case kindIKE:
		return "ike"
	case kindESP:
		return "esp"
	}
	return "drop"
}

// classify tells what a datagram from the gateway carries: from its IKE port an IKE message;
// from its NAT-T port an IKE message behind the non-ESP marker (returned without it) or an ESP
// packet (returned whole, with its SPI).
func classify(d []byte, natt bool) (k kind, msg []byte, spi uint32) {
	if !natt {
		if len(d) < message.HeaderLen {
			return kindDrop, nil, 0
		}
		return kindIKE, d, 0
	}
	switch esp.Classify(d) {
	case esp.KindIKE:
		msg, _ := esp.IKEMessage(d)
		if len(msg) < message.HeaderLen {
			return kindDrop, nil, 0
		}
		return kindIKE, msg, 0
	case esp.KindESP:
		spi, _ := esp.SPI(d)
		return kindESP, d, spi
	}
	return kindDrop, nil, 0
}

// session is one IKE SA of the generator. While its worker shakes hands the demux passes the
// gateway's messages to inbox; once established, inbox is nil and the demux owns the SA.
type session struct {
	sa    *ike.SA
	inbox chan []byte
	// replaced: the gateway rekeyed the IKE SA and its successor carries the session; this one
	// only waits for its Delete.
	replaced bool
}

// counters are what the demux goroutines count, for the report.
type counters struct {
	liveness    atomic.Int64 // the gateway's liveness checks (empty INFORMATIONAL) answered
	deletedByGW atomic.Int64 // established sessions the gateway deleted
	deleteAcks  atomic.Int64 // our Deletes (teardown) the gateway answered
	unknown     atomic.Int64 // IKE messages for no SA of ours (late answers to failed handshakes)
	dropped     atomic.Int64 // IKE messages a full inbox or an established SA dropped
	espReplies  atomic.Int64 // echo replies received through the tunnels
	espDropped  atomic.Int64 // ESP packets that did not open or were not our echo replies
	ikeRekeys   atomic.Int64 // IKE SA rekeys the gateway started
}

// endpoint is one source address: its socket, the demux goroutine that reads it, and the
// tables of the SAs and ESP flows that use it.
type endpoint struct {
	conn        netio.Conn
	local       netip.AddrPort
	gwIKE       netip.AddrPort
	gwNATT      netip.AddrPort
	ctr         *counters
	established *atomic.Int64 // live sessions of the whole generator

	// mu guards the tables below and every call into an established SA: the demux (Handle) and
	// the teardown (Delete) take turns, as ike.SA allows one goroutine at a time.
	mu    sync.Mutex
	ike   map[uint64]*session // by our SPI of the IKE SA
	flows map[uint32]*flow    // by our inbound ESP SPI, during the traffic check

	pkts []netio.Packet // the demux goroutine's read buffers
}

func newEndpoint(conn netio.Conn, gwIKE, gwNATT netip.AddrPort, ctr *counters, established *atomic.Int64) *endpoint {
	ep := &endpoint{
		conn: conn, local: conn.LocalAddr(), gwIKE: gwIKE, gwNATT: gwNATT, ctr: ctr, established: established,
		ike: map[uint64]*session{}, flows: map[uint32]*flow{}, pkts: make([]netio.Packet, readBatch),
	}
	for i := range ep.pkts {
		ep.pkts[i].Buf = make([]byte, 0, readBufSize)
	}
	return ep
}

// register adds a session whose handshake starts, under our SPI.
func (ep *endpoint) register(spi uint64, s *session) {
	ep.mu.Lock()
	ep.ike[spi] = s
	ep.mu.Unlock()
}

// forget removes a session.
func (ep *endpoint) forget(spi uint64) {
	ep.mu.Lock()
	delete(ep.ike, spi)
	ep.mu.Unlock()
}

// establish hands a session the worker brought up to the demux; the worker must not touch its
// SA afterwards.
func (ep *endpoint) establish(spi uint64) {
	ep.mu.Lock()
	if s := ep.ike[spi]; s != nil {
		s.inbox = nil
	}
	ep.mu.Unlock()
	ep.established.Add(1)
}

// sendIKE sends an IKE message to the gateway: to its IKE port as is, or to its NAT-T port
// behind the non-ESP marker.
func (ep *endpoint) sendIKE(msg []byte, natt bool) error {
	if !natt {
		return ep.write(msg, ep.gwIKE)
	}
	buf := esp.AppendMarker(make([]byte, 0, esp.NonESPMarkerLen+len(msg)))
	return ep.write(append(buf, msg...), ep.gwNATT)
}

func (ep *endpoint) write(buf []byte, to netip.AddrPort) error {
	_, err := ep.conn.WriteBatch([]netio.Packet{{Buf: buf, Remote: to}})
	return err
}

// read is the demux goroutine: it reads the socket until it is closed.
func (ep *endpoint) read() error {
	pkts := ep.pkts
	for {
		for i := range pkts {
			pkts[i].Buf = pkts[i].Buf[:0]
		}
		n, err := ep.conn.ReadBatch(pkts)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		for i := range n {
			ep.dispatch(pkts[i].Buf, pkts[i].Remote.Port() == ep.gwNATT.Port())
		}
	}
}

// dispatch routes one datagram from the gateway. d is the read buffer, reused after return.
func (ep *endpoint) dispatch(d []byte, natt bool) {
	k, msg, spi := classify(d, natt)
	switch k {
	case kindIKE:
		ep.dispatchIKE(msg)
	case kindESP:
		ep.mu.Lock()
		f := ep.flows[spi]
		ep.mu.Unlock()
		if f == nil || !f.reply(msg) {
			ep.ctr.espDropped.Add(1)
			return
		}
		ep.ctr.espReplies.Add(1)
	}
}

// dispatchIKE passes an IKE message to the worker shaking hands, or lets the established SA
// answer it.
func (ep *endpoint) dispatchIKE(msg []byte) {
	h, err := message.DecodeHeader(msg)
	if err != nil {
		ep.ctr.unknown.Add(1)
		return
	}
	key := ike.LocalSPIOf(h)
	ep.mu.Lock()
	s := ep.ike[key]
	switch {
	case s == nil:
		ep.mu.Unlock()
		ep.ctr.unknown.Add(1)
		return
	case s.inbox != nil:
		inbox := s.inbox
		ep.mu.Unlock()
		select {
		case inbox <- bytes.Clone(msg):
		default:
			ep.ctr.dropped.Add(1)
		}
		return
	}
	out := ep.handle(key, s, h, msg)
	ep.mu.Unlock()
	for _, m := range out {
		ep.sendIKE(m, true)
	}
}

// handle lets an established SA answer a message and acts on what happened. ep.mu is held.
// It returns the datagrams to send.
func (ep *endpoint) handle(key uint64, s *session, h message.Header, msg []byte) [][]byte {
	ours := s.sa.State() == ike.StateDeleting
	resp, ev, err := s.sa.Handle(msg)
	var out [][]byte
	if resp != nil {
		out = append(append(out, resp), s.sa.Extra()...)
	}
	if err != nil && resp == nil {
		ep.ctr.dropped.Add(1)
	}
	switch ev {
	case ike.EventNone:
		if resp != nil && h.Exchange == message.ExchangeInformational && !h.IsResponse() {
			ep.ctr.liveness.Add(1)
		}
	case ike.EventDeleted:
		delete(ep.ike, key)
		switch {
		case s.replaced:
		case ours:
			ep.ctr.deleteAcks.Add(1)
			ep.established.Add(-1)
		default:
			ep.ctr.deletedByGW.Add(1)
			ep.established.Add(-1)
		}
	case ike.EventIKERekeyed:
		next := s.sa.RekeyedIKE
		s.sa.RekeyedIKE = nil
		s.replaced = true
		ep.ike[next.LocalSPI()] = &session{sa: next}
		ep.ctr.ikeRekeys.Add(1)
	case ike.EventChildRekeyed:
		s.sa.InstallRekeyed()
	}
	return out
}

// each calls fn for every established session that carries a session (not one a rekey
// replaced), with ep.mu held.
func (ep *endpoint) each(fn func(spi uint64, s *session)) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	for spi, s := range ep.ike {
		if s.inbox == nil && !s.replaced && s.sa.State() == ike.StateEstablished {
			fn(spi, s)
		}
	}
}

// Package dataplane moves client traffic between the tunnels and the kernel. It owns the one
// TUN device that holds the client pools' gateway addresses: packets the kernel routes to the
// pools are read from the TUN in batches and handed to the session that holds each destination
// address; packets a session decrypted are checked (anti-spoofing, policy) and written to the TUN
// in batches.
//
// It knows nothing of IKE, ESP or SSTP: a session attaches a Sender for its VPN address, and its
// protocol calls Deliver with what it received. The pipeline:
//
//	downlink: TUN.Read (batch, GSO split) → dst lookup → group per session → Sender.Send(batch)
//	uplink:   session decrypts a batch → Deliver → src == lease? dst allowed? → TUN.Write (batch)
//
// The hot paths allocate nothing per packet and count drops by reason instead of returning
// errors.
package dataplane

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.zx2c4.com/wireguard/tun"
)

// Headroom is the space the data plane leaves before every packet it hands to a Sender, so
// the sender can build its outer headers in place (ESP: SPI, sequence number and IV), and the
// space Deliver needs before every packet it gets (the TUN's virtio-net header).
const Headroom = 64

// Tailroom is the space the data plane leaves after every packet it hands to a Sender, for
// trailers (ESP: padding, pad length, next header and ICV).
const Tailroom = 64

// bufSize is the size of one downlink buffer: a 64 KiB TUN read is split into MTU-sized
// packets, each in its own buffer.
const bufSize = Headroom + 65535 + Tailroom

// A Sender transmits packets to one client. The data plane calls Send from one goroutine (its
// TUN reader) with a batch of packets; each packet p is bufs[i][offset:], with at least
// Headroom bytes before it and Tailroom bytes of capacity after it, which the Sender may use.
// The buffers belong to the data plane again when Send returns, so Send must finish with them
// (seal and write, or copy) before returning.
type Sender interface {
	Send(bufs [][]byte, offset int)
}

// Policy is what clients may reach.
type Policy struct {
	// Allowed are the destination prefixes clients may send to (the VNet address space).
	Allowed []netip.Prefix
	// Pools are the client address pools. Client-to-client traffic (a destination in a pool)
	// is dropped unless ClientToClient is set.
	Pools          []netip.Prefix
	ClientToClient bool
}

// Plane is the data plane. Create it with New; its methods are safe for concurrent use.
type Plane struct {
	dev   tun.Device
	log   *slog.Logger
	batch int

	policy atomic.Pointer[Policy]

	mu    sync.RWMutex // guards peers
	peers map[netip.Addr]*peer

	// up and down limit the throughput from and to the clients; nil: unlimited.
	up, down atomic.Pointer[limiter]
	rate     atomic.Int64 // bits per second; 0: unlimited
	rateMu   sync.Mutex   // serialises SetRate
	// stray is the fair share of packets Deliver gets from an address no session holds.
	stray peer

	writeMu sync.Mutex // serialises TUN writes and guards wbufs
	wbufs   [][]byte

	drops   [numDropReasons]atomic.Uint64
	counter Counters
}

// peer is an attached session: its sender and its fair shares of the throughput limit.
type peer struct {
	s        Sender
	up, down share
}

// Counters are the data plane's totals.
type Counters struct {
	FromClientPackets, FromClientBytes atomic.Uint64 // written to the TUN
	ToClientPackets, ToClientBytes     atomic.Uint64 // handed to a Sender
}

// New returns a data plane on dev with the given policy.
func New(dev tun.Device, p Policy, log *slog.Logger) *Plane {
	pl := &Plane{dev: dev, log: log, batch: max(dev.BatchSize(), 1), peers: make(map[netip.Addr]*peer)}
	pl.SetPolicy(p)
	return pl
}

// SetPolicy replaces the policy; packets in flight may see either.
func (p *Plane) SetPolicy(pol Policy) {
	cp := Policy{
		Allowed:        append([]netip.Prefix(nil), pol.Allowed...),
		Pools:          append([]netip.Prefix(nil), pol.Pools...),
		ClientToClient: pol.ClientToClient,
	}
	p.policy.Store(&cp)
}

// SetRate limits the throughput in each direction — from all clients together, and to all
// clients together — to bitsPerSecond, shared fairly among the sessions that use it; 0 lifts
// the limit. Over the rate, Run waits before it reads the TUN again and Deliver waits before
// it returns (the caller's next batch queues meanwhile), and packets of a session beyond its
// fair share are dropped (DropRateLimit). It may be called at any time.
func (p *Plane) SetRate(bitsPerSecond int64) {
	p.rateMu.Lock()
	defer p.rateMu.Unlock()
	p.rate.Store(max(bitsPerSecond, 0))
	for _, lp := range []*atomic.Pointer[limiter]{&p.up, &p.down} {
		l := lp.Load()
		switch {
		case bitsPerSecond <= 0:
			lp.Store(nil)
		case l == nil:
			lp.Store(newLimiter(bitsPerSecond, monotime))
		default:
			l.mu.Lock()
			l.setRate(bitsPerSecond)
			l.mu.Unlock()
		}
	}
}

// Rate returns the throughput limit in bits per second in each direction; 0: unlimited.
func (p *Plane) Rate() int64 { return p.rate.Load() }

// Attach routes packets for addr to s. It returns ErrAddrInUse if another sender holds addr.
func (p *Plane) Attach(addr netip.Addr, s Sender) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.peers[addr]; ok {
		return fmt.Errorf("%w: %s", ErrAddrInUse, addr)
	}
	p.peers[addr] = &peer{s: s}
	return nil
}

// Detach stops routing packets for addr to s. Detaching a sender that does not hold addr
// (any more) does nothing.
func (p *Plane) Detach(addr netip.Addr, s Sender) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pe := p.peers[addr]; pe != nil && pe.s == s {
		delete(p.peers, addr)
	}
}

// Counters returns the plane's totals.
func (p *Plane) Counters() *Counters { return &p.counter }

// Drops returns the number of packets dropped for reason r.
func (p *Plane) Drops(r DropReason) uint64 { return p.drops[r].Load() }

func (p *Plane) drop(r DropReason) { p.drops[r].Add(1) }

// Deliver takes packets that the client holding address from sent (decrypted) and writes the
// acceptable ones to the TUN; it returns how many it wrote. Each packet is bufs[i][offset:];
// offset must leave room for the TUN's virtio-net header (at least 10 bytes; Headroom is
// always enough), and the bytes before offset may be overwritten. A packet whose source is not
// from (spoofing), whose destination the policy does not allow, that is not an IPv4 packet, or
// that is over the rate limit, is dropped and counted. Deliver may reorder bufs.
func (p *Plane) Deliver(from netip.Addr, bufs [][]byte, offset int) int {
	pol := p.policy.Load()
	keep := bufs[:0]
	var bytes uint64
	for _, b := range bufs {
		pkt := b[offset:]
		src, dst, ok := ipv4Addrs(pkt)
		switch {
		case !ok:
			p.drop(notIPv4OrMalformed(pkt))
			continue
		case src != from:
			p.drop(DropSpoofed)
			continue
		case !pol.allows(dst):
			p.drop(DropPolicy)
			continue
		}
		keep = append(keep, b)
		bytes += uint64(len(pkt))
	}
	var wait time.Duration
	if lim := p.up.Load(); lim != nil && len(keep) > 0 {
		p.mu.RLock()
		pe := p.peers[from]
		p.mu.RUnlock()
		if pe == nil {
			pe = &p.stray
		}
		var dropped int
		keep, bytes, dropped, wait = lim.admit(&pe.up, keep, offset)
		p.drops[DropRateLimit].Add(uint64(dropped))
	}
	if wait > 0 {
		// Pace the caller once the batch is written (see limiter).
		defer time.Sleep(wait)
	}
	if len(keep) == 0 {
		return 0
	}
	p.writeMu.Lock()
	n, err := p.dev.Write(keep, offset)
	p.writeMu.Unlock()
	if err != nil {
		p.drops[DropTUNWrite].Add(uint64(len(keep) - n))
		if !errors.Is(err, os.ErrClosed) {
			p.log.Debug("TUN write failed", "err", err)
		}
	}
	p.counter.FromClientPackets.Add(uint64(n))
	p.counter.FromClientBytes.Add(bytes)
	return n
}

func (pol *Policy) allows(dst netip.Addr) bool {
	for _, pfx := range pol.Allowed {
		if pfx.Contains(dst) {
			return true
		}
	}
	if pol.ClientToClient {
		for _, pfx := range pol.Pools {
			if pfx.Contains(dst) {
				return true
			}
		}
	}
	return false
}

// Run reads packets from the TUN and hands them to the senders of their destinations until
// ctx is done or the TUN is closed.
func (p *Plane) Run(ctx context.Context) error {
	n := p.batch
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = make([]byte, bufSize)
	}
	sizes := make([]int, n)
	// Per-batch grouping by destination, reused across batches.
	groups := make(map[*peer][][]byte)
	var order []*peer
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			p.dev.Close()
		case <-done:
		}
	}()
	for {
		count, err := p.dev.Read(bufs, sizes, Headroom)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, os.ErrClosed) {
				return nil
			}
			if errors.Is(err, tun.ErrTooManySegments) {
				p.drop(DropTUNRead)
				continue
			}
			return fmt.Errorf("dataplane: read TUN: %w", err)
		}
		p.mu.RLock()
		for i := 0; i < count; i++ {
			pkt := bufs[i][Headroom : Headroom+sizes[i]]
			_, dst, ok := ipv4Addrs(pkt)
			if !ok {
				p.drop(notIPv4OrMalformed(pkt))
				continue
			}
			pe, ok := p.peers[dst]
			if !ok {
				p.drop(DropNoSession)
				p.log.Debug("TUN packet dropped", "reason", DropNoSession, "dst", dst)
				continue
			}
			if len(groups[pe]) == 0 {
				order = append(order, pe)
			}
			groups[pe] = append(groups[pe], bufs[i][:Headroom+sizes[i]:Headroom+sizes[i]+Tailroom])
		}
		p.mu.RUnlock()
		lim := p.down.Load()
		var wait time.Duration
		for _, pe := range order {
			g := groups[pe]
			var bytes uint64
			if lim != nil {
				var dropped int
				g, bytes, dropped, wait = lim.admit(&pe.down, g, Headroom)
				p.drops[DropRateLimit].Add(uint64(dropped))
			} else {
				for _, b := range g {
					bytes += uint64(len(b) - Headroom)
				}
			}
			if len(g) > 0 {
				p.counter.ToClientPackets.Add(uint64(len(g)))
				p.counter.ToClientBytes.Add(bytes)
				pe.s.Send(g, Headroom)
			}
			groups[pe] = groups[pe][:0]
		}
		order = order[:0]
		if wait > 0 {
			// Over the rate: let the kernel queue what comes next (see limiter).
			pace(ctx, wait)
		}
		// Forget sessions that got nothing this time, so a detached one is not kept alive.
		if len(groups) > 4*n {
			clear(groups)
		}
	}
}

// pace waits d or until ctx is done.
func pace(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// notIPv4OrMalformed says why ipv4Addrs refused pkt.
func notIPv4OrMalformed(pkt []byte) DropReason {
	if len(pkt) > 0 && pkt[0]>>4 != 4 {
		return DropNotIPv4
	}
	return DropMalformed
}

// ipv4Addrs returns the source and destination of an IPv4 packet, or ok false if pkt is not
// a well-formed one.
func ipv4Addrs(pkt []byte) (src, dst netip.Addr, ok bool) {
	const minHeader = 20
	if len(pkt) < minHeader || pkt[0]>>4 != 4 {
		return src, dst, false
	}
	ihl := int(pkt[0]&0x0f) * 4
	total := int(pkt[2])<<8 | int(pkt[3])
	if ihl < minHeader || total < ihl || total > len(pkt) {
		return src, dst, false
	}
	src = netip.AddrFrom4([4]byte(pkt[12:16]))
	dst = netip.AddrFrom4([4]byte(pkt[16:20]))
	return src, dst, true
}

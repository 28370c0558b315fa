// Package pool hands out client addresses from the client address pools (Azure's
// VpnClientAddressPool). Leases are sticky: an identity gets back the address it last held
// while that address is free, so a reconnecting client keeps its address.
//
// Leases are written through to a store.Store so they survive restarts (and, with a shared
// store, are seen by other nodes). The pool knows nothing of protocols or sessions beyond the
// session id a lease is held for.
package pool

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/p2sgw/p2sgw/store"
)

// Pool is one client address pool. Its methods are safe for concurrent use.
//
// The network address, the broadcast address and the first host address (the gateway's own
// address on its TUN device, see Gateway) are never leased.
type Pool struct {
	prefix  netip.Prefix
	gateway netip.Addr
	first   netip.Addr // first leasable address
	last    netip.Addr // last leasable address
	size    int
	st      store.Store
	node    string
	now     func() time.Time

	mu     sync.Mutex // guards the fields below
	leases map[netip.Addr]store.Lease
	active int
	next   netip.Addr // where the search for a never-used address resumes
}

// New loads the leases of prefix from st. Leases this node held as active are released:
// at New the node has no sessions, so they belong to sessions that died with a previous run.
// now may be nil (time.Now).
func New(ctx context.Context, prefix netip.Prefix, st store.Store, node string, now func() time.Time) (*Pool, error) {
	if !prefix.Addr().Is4() || prefix.Bits() > 30 || prefix.Bits() < 8 {
		return nil, fmt.Errorf("pool: %s: want an IPv4 prefix from /8 to /30", prefix)
	}
	prefix = prefix.Masked()
	if now == nil {
		now = time.Now
	}
	n := 1 << (32 - prefix.Bits())
	net := prefix.Addr()
	p := &Pool{
		prefix:  prefix,
		gateway: net.Next(),
		first:   net.Next().Next(),
		last:    addAddr(net, n-2),
		size:    n - 3,
		st:      st,
		node:    node,
		now:     now,
		leases:  make(map[netip.Addr]store.Lease),
	}
	p.next = p.first
	leases, err := st.Leases(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("pool %s: load leases: %w", prefix, err)
	}
	for _, l := range leases {
		if !p.leasable(l.Addr) {
			continue // from an older, different pool layout; never hand it out
		}
		if l.Active() && l.Node == node {
			l.SessionID = ""
			l.UpdatedAt = now()
			if err := st.PutLease(ctx, l); err != nil {
				return nil, fmt.Errorf("pool %s: release stale lease %s: %w", prefix, l.Addr, err)
			}
		}
		if l.Active() {
			p.active++
		}
		p.leases[l.Addr] = l
	}
	return p, nil
}

// Prefix returns the pool's prefix.
func (p *Pool) Prefix() netip.Prefix { return p.prefix }

// Gateway returns the gateway's own address in the pool (held by the TUN device).
func (p *Pool) Gateway() netip.Addr { return p.gateway }

// Size returns how many addresses the pool can lease.
func (p *Pool) Size() int { return p.size }

// InUse returns how many addresses are leased to live sessions.
func (p *Pool) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.active
}

// Acquire leases an address to sessionID for identity: the address identity held last if it
// is free, else a never-used address, else the address released longest ago. It returns
// ErrExhausted when every address is held by a live session.
func (p *Pool) Acquire(ctx context.Context, identity, sessionID string) (netip.Addr, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	addr, ok := p.choose(identity)
	if !ok {
		return netip.Addr{}, fmt.Errorf("%w: %s has %d of %d addresses in use", ErrExhausted, p.prefix, p.active, p.size)
	}
	return addr, p.take(ctx, addr, identity, sessionID)
}

// AcquireAddr leases the given address (e.g. a RADIUS Framed-IP-Address). It returns
// ErrInUse if a live session holds it and ErrOutside if the pool cannot lease it.
func (p *Pool) AcquireAddr(ctx context.Context, addr netip.Addr, identity, sessionID string) error {
	if !p.leasable(addr) {
		return fmt.Errorf("%w: %s is not a leasable address of %s", ErrOutside, addr, p.prefix)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if l, ok := p.leases[addr]; ok && l.Active() {
		return fmt.Errorf("%w: %s is held by session %s", ErrInUse, addr, l.SessionID)
	}
	return p.take(ctx, addr, identity, sessionID)
}

// Release frees addr if sessionID holds it; the lease is remembered for its identity. Releasing
// an address the session does not hold is a no-op, so teardown paths may call it twice.
func (p *Pool) Release(ctx context.Context, addr netip.Addr, sessionID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.leases[addr]
	if !ok || l.SessionID != sessionID || sessionID == "" {
		return nil
	}
	l.SessionID = ""
	l.UpdatedAt = p.now()
	if err := p.st.PutLease(ctx, l); err != nil {
		return fmt.Errorf("pool %s: release %s: %w", p.prefix, addr, err)
	}
	p.leases[addr] = l
	p.active--
	return nil
}

// Contains reports whether addr belongs to the pool's prefix.
func (p *Pool) Contains(addr netip.Addr) bool { return p.prefix.Contains(addr) }

// choose picks an address for identity. p.mu is held.
func (p *Pool) choose(identity string) (netip.Addr, bool) {
	if p.active >= p.size {
		return netip.Addr{}, false
	}
	var oldest store.Lease
	for _, l := range p.leases {
		if l.Active() {
			continue
		}
		if identity != "" && l.Identity == identity {
			return l.Addr, true
		}
		if !oldest.Addr.IsValid() || l.UpdatedAt.Before(oldest.UpdatedAt) {
			oldest = l
		}
	}
	if len(p.leases) < p.size {
		a := p.next
		for i := 0; i < p.size; i++ {
			if _, used := p.leases[a]; !used {
				p.next = p.step(a)
				return a, true
			}
			a = p.step(a)
		}
	}
	return oldest.Addr, oldest.Addr.IsValid()
}

// take records the lease. p.mu is held.
func (p *Pool) take(ctx context.Context, addr netip.Addr, identity, sessionID string) error {
	l := store.Lease{Pool: p.prefix, Addr: addr, Identity: identity, SessionID: sessionID, Node: p.node, UpdatedAt: p.now()}
	if err := p.st.PutLease(ctx, l); err != nil {
		return fmt.Errorf("pool %s: lease %s: %w", p.prefix, addr, err)
	}
	if old, ok := p.leases[addr]; !ok || !old.Active() {
		p.active++
	}
	p.leases[addr] = l
	return nil
}

func (p *Pool) step(a netip.Addr) netip.Addr {
	if a == p.last {
		return p.first
	}
	return a.Next()
}

func (p *Pool) leasable(a netip.Addr) bool {
	return p.prefix.Contains(a) && a.Compare(p.first) >= 0 && a.Compare(p.last) <= 0
}

func addAddr(a netip.Addr, n int) netip.Addr {
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += uint32(n)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

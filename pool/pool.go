// Package pool hands out client addresses from the client address pools (Azure's
// VpnClientAddressPool). Leases are sticky: an identity gets back the address it last held
// while that address is free, so a reconnecting client keeps its address.
//
// Leases are written through to a store.Store so they survive restarts (and, with a shared
// store, are seen by other nodes). The pool knows nothing of protocols or sessions beyond the
// session id a lease is held for.
//
// Every operation is O(1) in the pool's size apart from New: an index by identity finds a
// sticky address, a queue in release order finds the address released longest ago, and a
// cursor finds never-used ones. The store write happens outside the pool's lock, so many
// sessions can acquire at once and a store that groups concurrent writes into one commit
// (store/bolt does) syncs once for all of them; an address whose write is in flight is
// neither handed out nor released again until the write lands.
package pool

import (
	"container/list"
	"context"
	"fmt"
	"net/netip"
	"slices"
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

	mu       sync.Mutex // guards the fields below
	leases   map[netip.Addr]store.Lease
	active   int                          // leases held by live sessions, or being taken
	pending  map[netip.Addr]bool          // a store write for the address is in flight
	identity map[string][]netip.Addr      // the addresses whose lease names the identity
	free     *list.List                   // released leases' addresses, longest ago first
	inFree   map[netip.Addr]*list.Element // their places in free
	next     netip.Addr                   // where the search for a never-used address resumes
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
		prefix:   prefix,
		gateway:  net.Next(),
		first:    net.Next().Next(),
		last:     addAddr(net, n-2),
		size:     n - 3,
		st:       st,
		node:     node,
		now:      now,
		leases:   make(map[netip.Addr]store.Lease),
		pending:  make(map[netip.Addr]bool),
		identity: make(map[string][]netip.Addr),
		free:     list.New(),
		inFree:   make(map[netip.Addr]*list.Element),
	}
	p.next = p.first
	leases, err := st.Leases(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("pool %s: load leases: %w", prefix, err)
	}
	var released []store.Lease
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
		} else {
			released = append(released, l)
		}
		p.leases[l.Addr] = l
		p.index(l)
	}
	slices.SortStableFunc(released, func(a, b store.Lease) int { return a.UpdatedAt.Compare(b.UpdatedAt) })
	for _, l := range released {
		p.inFree[l.Addr] = p.free.PushBack(l.Addr)
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
	addr, ok := p.choose(identity)
	if !ok {
		err := fmt.Errorf("%w: %s has %d of %d addresses in use", ErrExhausted, p.prefix, p.active, p.size)
		p.mu.Unlock()
		return netip.Addr{}, err
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
	if l, ok := p.leases[addr]; ok && (l.Active() || p.pending[addr]) {
		p.mu.Unlock()
		if !l.Active() {
			return fmt.Errorf("%w: %s is being released", ErrInUse, addr)
		}
		return fmt.Errorf("%w: %s is held by session %s", ErrInUse, addr, l.SessionID)
	}
	return p.take(ctx, addr, identity, sessionID)
}

// Release frees addr if sessionID holds it; the lease is remembered for its identity. Releasing
// an address the session does not hold is a no-op, so teardown paths may call it twice.
func (p *Pool) Release(ctx context.Context, addr netip.Addr, sessionID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	old, ok := p.leases[addr]
	if !ok || old.SessionID != sessionID || sessionID == "" || p.pending[addr] {
		return nil
	}
	l := old
	l.SessionID = ""
	l.UpdatedAt = p.now()
	p.leases[addr] = l
	if err := p.write(ctx, l); err != nil {
		p.leases[addr] = old
		return fmt.Errorf("pool %s: release %s: %w", p.prefix, addr, err)
	}
	p.active--
	p.inFree[addr] = p.free.PushBack(addr)
	return nil
}

// Contains reports whether addr belongs to the pool's prefix.
func (p *Pool) Contains(addr netip.Addr) bool { return p.prefix.Contains(addr) }

// choose picks an address for identity. p.mu is held.
func (p *Pool) choose(identity string) (netip.Addr, bool) {
	if p.active >= p.size {
		return netip.Addr{}, false
	}
	if a, ok := p.released(identity); ok {
		return a, true
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
	if e := p.free.Front(); e != nil {
		return e.Value.(netip.Addr), true
	}
	// Every address is leased, and the ones not held are being released: full for now.
	return netip.Addr{}, false
}

// released returns a free address whose lease names identity. p.mu is held.
func (p *Pool) released(identity string) (netip.Addr, bool) {
	if identity == "" {
		return netip.Addr{}, false
	}
	for _, a := range p.identity[identity] {
		if _, free := p.inFree[a]; free {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// take records the lease: in memory at once (so no one else takes addr), then in the store
// with p.mu released (write); a failed write puts the old lease back. p.mu is held on entry
// and released on return.
func (p *Pool) take(ctx context.Context, addr netip.Addr, identity, sessionID string) error {
	l := store.Lease{Pool: p.prefix, Addr: addr, Identity: identity, SessionID: sessionID, Node: p.node, UpdatedAt: p.now()}
	defer p.mu.Unlock()
	old, had := p.leases[addr]
	p.set(l)
	p.active++
	err := p.write(ctx, l)
	if err == nil {
		return nil
	}
	p.active--
	p.unindex(l)
	delete(p.leases, addr)
	if had {
		p.set(old)
		p.requeue(old)
	}
	return fmt.Errorf("pool %s: lease %s: %w", p.prefix, addr, err)
}

// write records l in the store with p.mu released meanwhile — so that many sessions' writes
// can be in flight together — and l's address marked in flight, so that no one takes or
// releases it before the write lands. p.mu is held on entry and on return.
func (p *Pool) write(ctx context.Context, l store.Lease) error {
	p.pending[l.Addr] = true
	p.mu.Unlock()
	err := p.st.PutLease(ctx, l)
	p.mu.Lock()
	delete(p.pending, l.Addr)
	return err
}

// set makes l the lease of its address, taking the address off the free queue and moving it
// to l's identity in the index. p.mu is held.
func (p *Pool) set(l store.Lease) {
	if old, ok := p.leases[l.Addr]; ok {
		p.unindex(old)
	}
	if e, ok := p.inFree[l.Addr]; ok {
		p.free.Remove(e)
		delete(p.inFree, l.Addr)
	}
	p.leases[l.Addr] = l
	p.index(l)
}

// requeue puts the released lease l back on the free queue in the order of release (after a
// failed take; O(n), on the error path only). p.mu is held.
func (p *Pool) requeue(l store.Lease) {
	for e := p.free.Back(); e != nil; e = e.Prev() {
		if !p.leases[e.Value.(netip.Addr)].UpdatedAt.After(l.UpdatedAt) {
			p.inFree[l.Addr] = p.free.InsertAfter(l.Addr, e)
			return
		}
	}
	p.inFree[l.Addr] = p.free.PushFront(l.Addr)
}

func (p *Pool) index(l store.Lease) {
	if l.Identity != "" {
		p.identity[l.Identity] = append(p.identity[l.Identity], l.Addr)
	}
}

func (p *Pool) unindex(l store.Lease) {
	as := p.identity[l.Identity]
	if i := slices.Index(as, l.Addr); i >= 0 {
		as = slices.Delete(as, i, i+1)
	}
	if len(as) == 0 {
		delete(p.identity, l.Identity)
	} else {
		p.identity[l.Identity] = as
	}
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

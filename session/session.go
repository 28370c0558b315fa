// Package session is the registry of live client sessions, whatever their protocol. A
// protocol (IKEv2, SSTP, OpenVPN) registers a Session once the client is authenticated and
// has an address, updates its counters from the data plane, and removes it when the tunnel
// ends; the admin API lists and disconnects sessions through the registry alone.
//
// Records are written through to a store.Store so they can be listed cluster-wide and cleaned
// up after a crash; counters live only in memory.
package session

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/p2sgw/p2sgw/store"
)

// Protocol names, as they appear in connection ids and listings.
const (
	IKEv2   = "IKEv2"
	SSTP    = "SSTP"
	OpenVPN = "OpenVPN"
)

// NewID returns a new connection id in Azure's shape: IKEv2_<uuid>, SSTP_<uuid>, OVPN_<uuid>.
// It is also the RADIUS Acct-Session-Id.
func NewID(protocol string) string {
	prefix := protocol
	if protocol == OpenVPN {
		prefix = "OVPN"
	}
	return prefix + "_" + strings.ToUpper(uuid.NewString())
}

// Counters are a session's traffic counters, updated by the data plane without locks.
// Ingress is from the client into the gateway, egress from the gateway to the client.
type Counters struct {
	IngressBytes, EgressBytes     atomic.Uint64
	IngressPackets, EgressPackets atomic.Uint64
}

// Traffic is a snapshot of a session's counters.
type Traffic struct {
	IngressBytes, IngressPackets, EgressBytes, EgressPackets uint64
}

// Traffic returns the session's counters.
func (s *Session) Traffic() Traffic {
	if s.Stats != nil {
		return s.Stats()
	}
	return Traffic{
		IngressBytes: s.Counters.IngressBytes.Load(), IngressPackets: s.Counters.IngressPackets.Load(),
		EgressBytes: s.Counters.EgressBytes.Load(), EgressPackets: s.Counters.EgressPackets.Load(),
	}
}

// Session is a live client session. The fields are set before Add and not changed after,
// except the counters.
type Session struct {
	ID         string
	User       string
	Protocol   string
	AuthMethod string
	PublicAddr netip.AddrPort
	VPNAddr    netip.Addr
	StartedAt  time.Time
	Counters   Counters

	// Certificates are the client's certificate and the intermediates it sent, in DER, when it
	// authenticated with one; the gateway ends the session when they stop passing the policy
	// (a revocation, a removed root). DER, not parsed: a gateway holds many sessions for long,
	// and parses them only for that check.
	Certificates [][]byte

	// Remote, if set, reports the client's public address now (it moves with NAT rebinding and
	// MOBIKE); PublicAddr is where it connected from.
	Remote func() netip.AddrPort

	// Stats, if set, reports the traffic counters instead of Counters: a protocol that keeps
	// its own (ESP SAs do) need not count twice.
	Stats func() Traffic

	// Close ends the session's tunnel (e.g. sends an IKEv2 DELETE or an SSTP CALL_ABORT) and
	// is called by Registry.Disconnect with the reason; it must not block for long and must be
	// safe to call more than once. Nil means there is nothing to close.
	Close func(reason string)
}

func (s *Session) record(node string) store.Session {
	return store.Session{
		ID: s.ID, User: s.User, Protocol: s.Protocol, AuthMethod: s.AuthMethod,
		PublicAddr: s.PublicAddr, VPNAddr: s.VPNAddr, Node: node, StartedAt: s.StartedAt,
	}
}

// Registry holds the live sessions of this node. Its methods are safe for concurrent use.
type Registry struct {
	st   store.Store
	node string

	mu     sync.RWMutex // guards the fields below
	byID   map[string]*Session
	counts Counts // live sessions per protocol, kept with byID
}

// NewRegistry returns a registry that writes through to st. Records this node left in st
// (sessions that died with a previous run) are removed.
func NewRegistry(ctx context.Context, st store.Store, node string) (*Registry, error) {
	recs, err := st.Sessions(ctx)
	if err != nil {
		return nil, fmt.Errorf("session: load: %w", err)
	}
	for _, r := range recs {
		if r.Node == node {
			if err := st.DeleteSession(ctx, r.ID); err != nil {
				return nil, fmt.Errorf("session: remove stale %s: %w", r.ID, err)
			}
		}
	}
	return &Registry{st: st, node: node, byID: make(map[string]*Session), counts: Counts{}}, nil
}

// Add registers s; ErrDuplicate if its id is taken.
func (r *Registry) Add(ctx context.Context, s *Session) error {
	return r.AddIf(ctx, s, nil)
}

// Counts are the live sessions per protocol.
type Counts map[string]int

// Total is the number of live sessions of every protocol.
func (c Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// AddIf registers s if allow, given the live sessions per protocol, returns nil; its error
// is returned otherwise. allow runs under the registry's lock, so two sessions added at once
// cannot both take a last free place; it must not keep or change the Counts it is given.
// A nil allow allows.
func (r *Registry) AddIf(ctx context.Context, s *Session, allow func(Counts) error) error {
	r.mu.Lock()
	if _, ok := r.byID[s.ID]; ok {
		r.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrDuplicate, s.ID)
	}
	if allow != nil {
		if err := allow(r.counts); err != nil {
			r.mu.Unlock()
			return err
		}
	}
	r.add(s)
	r.mu.Unlock()
	if err := r.st.PutSession(ctx, s.record(r.node)); err != nil {
		r.mu.Lock()
		r.remove(s.ID)
		r.mu.Unlock()
		return fmt.Errorf("session: add %s: %w", s.ID, err)
	}
	return nil
}

// Remove unregisters the session id; removing an unknown id is a no-op.
func (r *Registry) Remove(ctx context.Context, id string) error {
	r.mu.Lock()
	ok := r.remove(id)
	r.mu.Unlock()
	if !ok {
		return nil
	}
	if err := r.st.DeleteSession(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("session: remove %s: %w", id, err)
	}
	return nil
}

// Get returns the session id, or nil.
func (r *Registry) Get(id string) *Session {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.byID[id]
}

// List returns the live sessions, oldest first (ties by id).
func (r *Registry) List() []*Session {
	r.mu.RLock()
	out := make([]*Session, 0, len(r.byID))
	for _, s := range r.byID {
		out = append(out, s)
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Session) int {
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// add registers s; r.mu is held.
func (r *Registry) add(s *Session) {
	r.byID[s.ID] = s
	r.counts[s.Protocol]++
}

// remove unregisters id and reports whether it was registered; r.mu is held.
func (r *Registry) remove(id string) bool {
	s, ok := r.byID[id]
	if !ok {
		return false
	}
	delete(r.byID, id)
	if r.counts[s.Protocol]--; r.counts[s.Protocol] == 0 {
		delete(r.counts, s.Protocol)
	}
	return true
}

// Counts returns the live sessions per protocol (a copy).
func (r *Registry) Counts() Counts {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return maps.Clone(r.counts)
}

// Count returns the number of live sessions of protocol, or of all protocols when protocol
// is "".
func (r *Registry) Count(protocol string) int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if protocol == "" {
		return len(r.byID)
	}
	return r.counts[protocol]
}

// Disconnect ends the session id: it calls the session's Close with reason and unregisters it.
// It returns ErrNotFound for an unknown id.
func (r *Registry) Disconnect(ctx context.Context, id, reason string) error {
	s := r.Get(id)
	if s == nil {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if s.Close != nil {
		s.Close(reason)
	}
	return r.Remove(ctx, id)
}

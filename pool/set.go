package pool

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
)

// Set is the gateway's client address pools, tried in order. The zero value is an empty set.
// It is immutable once built; its pools are safe for concurrent use.
type Set []*Pool

// Acquire leases an address from the first pool that has one, preferring the pool in which
// identity held an address before (sticky leases across pools).
func (s Set) Acquire(ctx context.Context, identity, sessionID string) (netip.Addr, error) {
	for _, p := range s {
		if p.hasReleased(identity) {
			a, err := p.Acquire(ctx, identity, sessionID)
			if !errors.Is(err, ErrExhausted) {
				return a, err
			}
			break // the sticky pool is full: any other will do
		}
	}
	for _, p := range s {
		a, err := p.Acquire(ctx, identity, sessionID)
		if errors.Is(err, ErrExhausted) {
			continue
		}
		return a, err
	}
	return netip.Addr{}, fmt.Errorf("%w: all %d pools are full", ErrExhausted, len(s))
}

// Release frees addr in the pool it belongs to.
func (s Set) Release(ctx context.Context, addr netip.Addr, sessionID string) error {
	for _, p := range s {
		if p.Contains(addr) {
			return p.Release(ctx, addr, sessionID)
		}
	}
	return nil
}

// Find returns the pool that contains addr, or nil.
func (s Set) Find(addr netip.Addr) *Pool {
	for _, p := range s {
		if p.Contains(addr) {
			return p
		}
	}
	return nil
}

func (p *Pool) hasReleased(identity string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.released(identity)
	return ok
}

// Package store holds the gateway's durable state — trusted root certificates, revoked
// thumbprints, address leases and the session registry — behind one small interface, so the
// embedded default (package store/bolt) and a clustered backend (etcd, later) are
// interchangeable without touching callers.
//
// It is not a cache and holds no live objects: callers keep their own in-memory views
// (certauth's trust set, the pool, the session registry) and write through to a Store.
// Every method is safe for concurrent use. A write either happens whole or not at all: a crash
// in the middle of one leaves the previous state.
package store

import (
	"context"
	"net/netip"
	"time"
)

// RootCert is a trusted root certificate uploaded by an admin (Azure's
// VpnClientRootCertificate): client certificates chained to it may connect.
type RootCert struct {
	Name    string    `json:"name"`     // unique, admin-chosen
	DER     []byte    `json:"der"`      // the certificate as uploaded (.cer)
	AddedAt time.Time `json:"added_at"` // when it was uploaded
}

// RevokedCert is a revoked client certificate (Azure's VpnClientRevokedCertificate).
type RevokedCert struct {
	Name       string    `json:"name"`       // unique, admin-chosen
	Thumbprint string    `json:"thumbprint"` // upper-case hex, SHA-1 (40) or SHA-256 (64)
	AddedAt    time.Time `json:"added_at"`
}

// Lease records that an address of a client pool is, or was last, held by an identity.
// Leases outlive sessions so an identity gets its previous address back while it is free
// (sticky leases): a lease with an empty SessionID is released but remembered.
type Lease struct {
	Pool      netip.Prefix `json:"pool"`       // the pool the address belongs to
	Addr      netip.Addr   `json:"addr"`       // the leased address
	Identity  string       `json:"identity"`   // who holds or last held it (user name, cert subject)
	SessionID string       `json:"session_id"` // the session holding it now; "" when released
	Node      string       `json:"node"`       // the gateway node that granted it
	UpdatedAt time.Time    `json:"updated_at"`
}

// Active reports whether a session holds the lease now.
func (l Lease) Active() bool { return l.SessionID != "" }

// Session is the durable record of a live client session: enough to list it and to find it
// after a restart of the node that owns it. Counters live in memory (package session).
type Session struct {
	ID         string         `json:"id"`          // IKEv2_<uuid>, SSTP_<uuid>, OVPN_<uuid>
	User       string         `json:"user"`        // certificate subject CN or RADIUS user name
	Protocol   string         `json:"protocol"`    // "IKEv2", "SSTP", "OpenVPN"
	AuthMethod string         `json:"auth_method"` // "certificate", "eap-tls", "radius", …
	PublicAddr netip.AddrPort `json:"public_addr"`
	VPNAddr    netip.Addr     `json:"vpn_addr"`
	Node       string         `json:"node"` // the gateway node that owns the session
	StartedAt  time.Time      `json:"started_at"`
}

// Store is the gateway's durable state. Methods return ErrNotFound for a missing name, id or
// address and ErrExists for a duplicate name; other errors are I/O failures. Listings are
// sorted by name, address or id.
type Store interface {
	RootCerts(ctx context.Context) ([]RootCert, error)
	// AddRootCert adds r; ErrExists if a root with r.Name exists.
	AddRootCert(ctx context.Context, r RootCert) error
	// RemoveRootCert removes the root called name; ErrNotFound if there is none.
	RemoveRootCert(ctx context.Context, name string) error

	RevokedCerts(ctx context.Context) ([]RevokedCert, error)
	// AddRevokedCert adds r; ErrExists if an entry with r.Name exists.
	AddRevokedCert(ctx context.Context, r RevokedCert) error
	// RemoveRevokedCert removes the entry called name; ErrNotFound if there is none.
	RemoveRevokedCert(ctx context.Context, name string) error

	// Leases returns every lease of pool, active or released, sorted by address.
	Leases(ctx context.Context, pool netip.Prefix) ([]Lease, error)
	// PutLease creates or replaces the lease of l.Addr in l.Pool.
	PutLease(ctx context.Context, l Lease) error
	// DeleteLease forgets the lease of addr in pool; ErrNotFound if there is none.
	DeleteLease(ctx context.Context, pool netip.Prefix, addr netip.Addr) error

	// Sessions returns every session record, sorted by id.
	Sessions(ctx context.Context) ([]Session, error)
	// PutSession creates or replaces the record of s.ID.
	PutSession(ctx context.Context, s Session) error
	// DeleteSession removes the record of id; ErrNotFound if there is none.
	DeleteSession(ctx context.Context, id string) error

	// Close releases the store. Calls after Close return ErrClosed.
	Close() error
}

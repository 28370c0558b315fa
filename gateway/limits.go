package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/p2sgw/p2sgw/config"
	"github.com/p2sgw/p2sgw/session"
)

// ErrSKULimit: a new connection would pass one of the SKU's connection limits.
var ErrSKULimit = errors.New("gateway: connection limit reached")

// admission is the SKU's connection limits for a new session of protocol, as a check of the
// live sessions (session.Registry.AddIf). Azure counts IKEv2 and OpenVPN in one pool, SSTP in
// its own; a Custom SKU may also cap each protocol and the total.
func admission(sku config.SKU, protocol string) func(session.Counts) error {
	return func(n session.Counts) error {
		over := func(what string, limit, used int) error {
			return fmt.Errorf("%w: %d of %d %s connections in use (SKU %s)", ErrSKULimit, used, limit, what, sku.Name)
		}
		ikeOVPN := n[session.IKEv2] + n[session.OpenVPN]
		switch {
		case sku.MaxConnections > 0 && n.Total() >= sku.MaxConnections:
			return over("", sku.MaxConnections, n.Total())
		case protocol == session.SSTP && sku.MaxSSTP > 0 && n[session.SSTP] >= sku.MaxSSTP:
			return over("SSTP", sku.MaxSSTP, n[session.SSTP])
		case (protocol == session.IKEv2 || protocol == session.OpenVPN) && sku.MaxIKEv2OpenVPN > 0 && ikeOVPN >= sku.MaxIKEv2OpenVPN:
			return over("IKEv2 and OpenVPN", sku.MaxIKEv2OpenVPN, ikeOVPN)
		case protocol == session.IKEv2 && sku.MaxIKEv2 > 0 && n[session.IKEv2] >= sku.MaxIKEv2:
			return over("IKEv2", sku.MaxIKEv2, n[session.IKEv2])
		case protocol == session.OpenVPN && sku.MaxOpenVPN > 0 && n[session.OpenVPN] >= sku.MaxOpenVPN:
			return over("OpenVPN", sku.MaxOpenVPN, n[session.OpenVPN])
		}
		return nil
	}
}

// admit checks a new session of protocol against the SKU's limits before its handshake ends,
// so the client gets a clean refusal; the registration checks again, atomically.
func (g *Gateway) admit(protocol string) error {
	return admission(g.sku(g.Config()), protocol)(g.sessions.Counts())
}

// register adds s to the sessions within the SKU's limits.
func (g *Gateway) register(s *session.Session) error {
	return g.sessions.AddIf(context.Background(), s, admission(g.sku(g.Config()), s.Protocol))
}

// refuse logs a refused connection attempt as a P2S diagnostic event — protocol, public
// address, who the client claimed to be, the stage that refused it and why — and counts it by
// protocol, stage and reason.
func (g *Gateway) refuse(protocol, stage, reason string, remote netip.AddrPort, user string, err error, attrs ...any) {
	g.metrics.refuse(protocol, stage, reason)
	g.p2s.Info("client refused", append([]any{"protocol", protocol, "public_address", remote, "user", user,
		"stage", stage, "reason", reason, "err", err}, attrs...)...)
}

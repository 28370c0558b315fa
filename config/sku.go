package config

import "strings"

// SKUCustom is the sku whose limits come from the limits section instead of a table.
const SKUCustom = "Custom"

// DefaultMaxRootCerts is how many trusted client root certificates a gateway holds, as Azure.
const DefaultMaxRootCerts = 20

// SKU is a gateway size: connection and throughput limits and the allowed tunnel and
// authentication types. A zero limit means "no limit of its own" except where a field says
// otherwise. SKU values are copies; changing one changes nothing else.
type SKU struct {
	Name string
	// MaxIKEv2OpenVPN caps IKEv2 and OpenVPN connections together: Azure counts them as one
	// pool ("P2S IKEv2/OpenVPN connections"). 0: no shared cap.
	MaxIKEv2OpenVPN int
	// MaxIKEv2 and MaxOpenVPN cap each protocol alone (Custom only). 0: no cap of its own.
	MaxIKEv2   int
	MaxOpenVPN int
	// MaxSSTP caps SSTP connections. 0: no cap of its own.
	MaxSSTP int
	// MaxConnections caps all protocols together. 0: only the per-protocol caps apply.
	MaxConnections int
	// ThroughputMbps is the aggregate throughput: Azure's benchmark figure for its SKUs, the
	// admin's max_mbps for Custom. 0: unshaped.
	ThroughputMbps int
	// TunnelTypes and AuthTypes are the types the SKU allows.
	TunnelTypes []string
	AuthTypes   []string
	// MaxRootCerts is how many trusted client root certificates may be uploaded.
	MaxRootCerts int
}

// skus is Azure's table of P2S limits per SKU, from reference/azure_p2s.md §1:
//   - MicrosoftDocs/azure-docs includes/vpn-gateway-table-gwtype-aggtput-include.md (connections
//     and throughput; VpnGw2 and VpnGw3 take their Gen2 throughput, 1.25 and 2.5 Gbps);
//   - articles/vpn-gateway/about-gateway-skus.md (Basic: "no RADIUS authentication for P2S; no
//     IKEv2 for P2S");
//   - articles/vpn-gateway/howto-point-to-site-multi-auth.md (Basic: no OpenVPN).
//
// The SSTP and IKEv2/OpenVPN limits are separate: "you can have 128 SSTP connections and also
// 250 IKEv2 connections on a VpnGw1 SKU". Every SKU takes 20 root certificates.
var skus = []SKU{
	{Name: "Basic", MaxSSTP: 128, ThroughputMbps: 100,
		TunnelTypes: []string{TunnelSSTP}, AuthTypes: []string{AuthCertificate}},
	azureSKU("VpnGw1", 250, 650),
	azureSKU("VpnGw2", 500, 1250),
	azureSKU("VpnGw3", 1000, 2500),
	azureSKU("VpnGw4", 5000, 5000),
	azureSKU("VpnGw5", 10000, 10000),
}

func azureSKU(name string, ikev2OpenVPN, mbps int) SKU {
	return SKU{
		Name:            name,
		MaxIKEv2OpenVPN: ikev2OpenVPN,
		MaxSSTP:         128,
		ThroughputMbps:  mbps,
		TunnelTypes:     []string{TunnelIKEv2, TunnelSSTP, TunnelOpenVPN},
		AuthTypes:       []string{AuthCertificate, AuthRADIUS},
	}
}

func init() {
	for i := range skus {
		skus[i].MaxRootCerts = DefaultMaxRootCerts
	}
}

// LookupSKU returns the fixed SKU called name, matched case-insensitively. Custom has no
// fixed limits, so LookupSKU reports false for it: use (*Config).EffectiveSKU.
func LookupSKU(name string) (SKU, bool) {
	for _, s := range skus {
		if strings.EqualFold(s.Name, name) {
			return s.clone(), true
		}
	}
	return SKU{}, false
}

// SKUNames returns the names the sku field accepts, smallest first, Custom last.
func SKUNames() []string {
	names := make([]string, 0, len(skus)+1)
	for _, s := range skus {
		names = append(names, s.Name)
	}
	return append(names, SKUCustom)
}

// canonicalSKU returns the spelling of name from SKUNames, or "" if name is no SKU.
func canonicalSKU(name string) string {
	for _, n := range SKUNames() {
		if strings.EqualFold(n, name) {
			return n
		}
	}
	return ""
}

// EffectiveSKU returns the SKU the gateway runs with: the table entry for a fixed SKU, or
// for Custom one built from Limits. It returns the zero SKU (which allows nothing) when sku
// is unknown or Custom has no limits; Validate refuses both.
func (c *Config) EffectiveSKU() SKU {
	if !strings.EqualFold(c.SKU, SKUCustom) {
		s, _ := LookupSKU(c.SKU)
		return s
	}
	if c.Limits == nil {
		return SKU{Name: SKUCustom}
	}
	l := c.Limits
	s := SKU{
		Name:           SKUCustom,
		MaxIKEv2:       l.MaxIKEv2Connections,
		MaxOpenVPN:     l.MaxOpenVPNConnections,
		MaxSSTP:        l.MaxSSTPConnections,
		MaxConnections: l.MaxConnections,
		ThroughputMbps: l.MaxMbps,
		TunnelTypes:    []string{TunnelIKEv2, TunnelSSTP, TunnelOpenVPN},
		AuthTypes:      []string{AuthCertificate, AuthRADIUS},
		MaxRootCerts:   l.MaxRootCerts,
	}
	if s.MaxRootCerts == 0 {
		s.MaxRootCerts = DefaultMaxRootCerts
	}
	return s
}

// AllowsTunnel reports whether the SKU allows the tunnel type (case-insensitive).
func (s SKU) AllowsTunnel(tunnel string) bool { return containsFold(s.TunnelTypes, tunnel) }

// AllowsAuth reports whether the SKU allows the authentication type (case-insensitive).
func (s SKU) AllowsAuth(auth string) bool { return containsFold(s.AuthTypes, auth) }

// ConnectionLimit returns how many connections of the tunnel type may be up at once when no
// other protocol has any: the smallest of the protocol's own cap, the shared IKEv2+OpenVPN
// cap and MaxConnections. It returns 0 when the SKU does not allow the tunnel type, and -1
// when nothing caps it (a Custom SKU always has MaxConnections, so only a hand-built SKU can
// be uncapped). Because caps are shared, use Admits to decide on a new connection.
func (s SKU) ConnectionLimit(tunnel string) int {
	if !s.AllowsTunnel(tunnel) {
		return 0
	}
	limit := -1
	for _, c := range s.caps(strings.ToLower(tunnel)) {
		if c > 0 && (limit < 0 || c < limit) {
			limit = c
		}
	}
	return limit
}

// caps returns the caps that apply to tunnel; zero entries mean no cap.
func (s SKU) caps(tunnel string) []int {
	switch tunnel {
	case TunnelIKEv2:
		return []int{s.MaxIKEv2, s.MaxIKEv2OpenVPN, s.MaxConnections}
	case TunnelOpenVPN:
		return []int{s.MaxOpenVPN, s.MaxIKEv2OpenVPN, s.MaxConnections}
	case TunnelSSTP:
		return []int{s.MaxSSTP, s.MaxConnections}
	}
	return nil
}

// Admits reports whether one more connection of the tunnel type fits, given active, the
// number of connections up now per tunnel type (keys TunnelIKEv2, TunnelSSTP, TunnelOpenVPN;
// a nil map means none). It applies the protocol's own cap, the shared IKEv2+OpenVPN cap and
// MaxConnections.
func (s SKU) Admits(tunnel string, active map[string]int) bool {
	tunnel = strings.ToLower(tunnel)
	if !s.AllowsTunnel(tunnel) {
		return false
	}
	ike, sstp, ovpn := active[TunnelIKEv2], active[TunnelSSTP], active[TunnelOpenVPN]
	var own int
	switch tunnel {
	case TunnelIKEv2:
		own = ike
	case TunnelSSTP:
		own = sstp
	case TunnelOpenVPN:
		own = ovpn
	}
	below := func(n, limit int) bool { return limit <= 0 || n < limit }
	if tunnel == TunnelIKEv2 || tunnel == TunnelOpenVPN {
		if !below(ike+ovpn, s.MaxIKEv2OpenVPN) {
			return false
		}
	}
	return below(own, s.caps(tunnel)[0]) && below(ike+sstp+ovpn, s.MaxConnections)
}

func (s SKU) clone() SKU {
	s.TunnelTypes = append([]string(nil), s.TunnelTypes...)
	s.AuthTypes = append([]string(nil), s.AuthTypes...)
	return s
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

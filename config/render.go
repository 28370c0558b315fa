package config

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"go.yaml.in/yaml/v3"
)

const renderHeader = `gateway.yaml: the configuration of p2sgw, a Point-to-Site VPN gateway.
Edit it, then run p2sgw reload (or send SIGHUP); p2sgw reload lists the settings
that need a restart of p2sgw serve (listen, state_dir, admin, tunnel_types, …).
Relative paths are relative to this file's directory. An unknown key is an error,
so a typo cannot pass unnoticed.`

// sectionComments explain each top-level key in rendered files, one line each.
var sectionComments = map[string]string{
	"name":                     "The gateway's name: the RADIUS NAS-Identifier and the node name in logs.",
	"sku":                      "Size: Basic, VpnGw1 to VpnGw5 (Azure's P2S limits), or Custom with limits.",
	"limits":                   "Custom SKU limits: max_connections for all protocols, optional caps per protocol.",
	"public_address":           "The DNS name or IP address clients connect to; the server certificate names it.",
	"server_certificate":       "The gateway's PEM certificate, then its chain.",
	"server_key":               "The PEM private key of server_certificate (keep it chmod 600).",
	"server_root":              "The CA that signed server_certificate; clients must trust it.",
	"client_address_pools":     "Client addresses come from these prefixes (at least a /29 each).",
	"vnet_address_space":       "The networks behind the gateway; clients get a route to each.",
	"dns_servers":              "DNS servers pushed to clients.",
	"tunnel_types":             "Enabled protocols: ikev2, sstp, openvpn.",
	"auth_types":               "Client authentication: certificate (chained to an uploaded root), radius.",
	"radius":                   "RADIUS servers for auth_types radius (tried by priority, lowest first).",
	"listen":                   "Where the protocol listeners bind (host:port; an empty host is every address).",
	"state_dir":                "The state database (roots, revocations, leases) lives here.",
	"ike":                      "IKEv2 timers: check a silent client after dpd_interval; remove it after dead_peer_timeout without an answer; rekey a CHILD SA after child_lifetime and the IKE SA after ike_lifetime (unless the client did first).",
	"tun":                      "The data plane's TUN device; it holds each pool's first address.",
	"legacy_windows_proposals": "Also accept Windows' weak default proposals (MODP-1024, SHA-1). Off by default.",
	"client_to_client":         "Let clients reach each other (off: clients reach only the VNet).",
	"sstp_pap":                 "Also offer PAP to SSTP clients (RADIUS): no crypto binding protects it. Off by default.",
	"admin":                    "The admin API: a unix socket, and optionally TCP with mutual TLS.",
	"metrics_listen":           "Prometheus /metrics and /healthz in plain HTTP on this host:port (empty: only on the admin listeners).",
	"log":                      "Logging: format text or json; level debug, info, warn or error; categories: a level per category (p2s, ikev2, sstp, radius, dataplane, admin, gateway).",
}

// lineComments annotate nested keys, by parent and key.
var lineComments = map[[2]string]string{
	{"listen", "ike"}:     "UDP, IKE",
	{"listen", "nat_t"}:   "UDP, IKE and ESP in UDP (NAT traversal)",
	{"listen", "sstp"}:    "TCP, TLS",
	{"listen", "openvpn"}: "OpenVPN",
	{"admin", "socket"}:   "mode 0600",
}

// Render returns c as a gateway.yaml for a human to read: a header comment, a comment above
// each section, and c's values with the defaults filled in (on a copy: c is not changed),
// so that the file shows every listener and path the gateway will use. It does not validate.
// Parse of the result, with the same base directory, gives a Config equal to c after
// ApplyDefaults. Callers write it with atomicfile.Write.
func Render(c *Config) ([]byte, error) {
	full := c.clone()
	full.ApplyDefaults()
	var root yaml.Node
	if err := root.Encode(full); err != nil {
		return nil, fmt.Errorf("config: render: %w", err)
	}
	annotate(&root, "")
	doc := &yaml.Node{Kind: yaml.DocumentNode, HeadComment: renderHeader, Content: []*yaml.Node{&root}}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("config: render: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("config: render: %w", err)
	}
	return spaceSections(buf.Bytes()), nil
}

// annotate adds the comments to the mapping n (at parent) and writes lists of scalars in
// flow style, [a, b], which reads better for short lists.
func annotate(n *yaml.Node, parent string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if parent == "" {
				k.HeadComment = sectionComments[k.Value]
			} else if c, ok := lineComments[[2]string{parent, k.Value}]; ok && v.Kind == yaml.ScalarNode {
				v.LineComment = c
			}
			annotate(v, k.Value)
		}
	case yaml.SequenceNode:
		flow := len(n.Content) <= 8
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode {
				flow = false
			}
			annotate(item, parent)
		}
		if flow {
			n.Style = yaml.FlowStyle
		}
	}
}

// spaceSections puts a blank line before each top-level comment that follows a value, so
// that sections stand apart.
func spaceSections(b []byte) []byte {
	lines := bytes.SplitAfter(b, []byte("\n"))
	out := make([]byte, 0, len(b)+len(lines))
	for i, l := range lines {
		if i > 0 && bytes.HasPrefix(l, []byte("#")) {
			prev := lines[i-1]
			if !bytes.HasPrefix(prev, []byte("#")) && len(bytes.TrimSpace(prev)) > 0 {
				out = append(out, '\n')
			}
		}
		out = append(out, l...)
	}
	return out
}

// clone returns a copy of c that shares no memory with it.
func (c *Config) clone() *Config {
	d := *c
	if c.Limits != nil {
		l := *c.Limits
		d.Limits = &l
	}
	d.ClientAddressPools = slices.Clone(c.ClientAddressPools)
	d.VNetAddressSpace = slices.Clone(c.VNetAddressSpace)
	d.DNSServers = slices.Clone(c.DNSServers)
	d.TunnelTypes = slices.Clone(c.TunnelTypes)
	d.AuthTypes = slices.Clone(c.AuthTypes)
	d.Log.Categories = maps.Clone(c.Log.Categories)
	if c.RADIUS != nil {
		r := *c.RADIUS
		r.Servers = slices.Clone(c.RADIUS.Servers)
		if r.Retries != nil {
			n := *r.Retries
			r.Retries = &n
		}
		d.RADIUS = &r
	}
	return &d
}

package config

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// reservedRanges are the IPv4 ranges that can be neither a client pool nor a VNet prefix.
var reservedRanges = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), `the "this network" range`},
	{netip.MustParsePrefix("127.0.0.0/8"), "the loopback range"},
	{netip.MustParsePrefix("169.254.0.0/16"), "the link-local range"},
	{netip.MustParsePrefix("224.0.0.0/4"), "the multicast range"},
	{netip.MustParsePrefix("240.0.0.0/4"), "the reserved range"},
}

// maxIKEv2Routes is how many traffic selectors one IKEv2 TS payload carries (a one-byte
// count); windowsIKEv2Routes is where Windows IKEv2 clients without KB5005625 fail with
// error 13834 (reference/azure_p2s.md §5).
const (
	maxIKEv2Routes     = 255
	windowsIKEv2Routes = 25
)

func (v *checker) publicAddress() {
	a := v.c.PublicAddress
	if a == "" {
		v.errorf("public_address", "required: the DNS name or IP address clients connect to, e.g. vpn.example.com")
		return
	}
	if msg := publicAddressProblem(a); msg != "" {
		v.errorf("public_address", "%s", msg)
	}
}

func publicAddressProblem(a string) string {
	if scheme, rest, ok := strings.Cut(a, "://"); ok {
		return fmt.Sprintf("%q has a scheme (%s://); give the bare name, e.g. %s", a, scheme, strings.TrimSuffix(rest, "/"))
	}
	if ip, err := netip.ParseAddr(a); err == nil {
		if !ip.IsGlobalUnicast() && !ip.IsLoopback() || ip.Zone() != "" {
			return fmt.Sprintf("%s is not an address clients can connect to", a)
		}
		return ""
	}
	if host, port, err := net.SplitHostPort(a); err == nil {
		return fmt.Sprintf("%q has a port (%s); give the bare %s (ports are set under listen)", a, port, host)
	}
	if msg := dnsNameProblem(a); msg != "" {
		return fmt.Sprintf("%q is neither an IP address nor a DNS name: %s", a, msg)
	}
	return ""
}

// dnsNameProblem says why s is not a host name (RFC 1123 labels), or returns "".
func dnsNameProblem(s string) string {
	if len(s) > 253 {
		return "it is longer than 253 characters"
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		switch {
		case l == "":
			return "it has an empty label (two dots, or a dot at an end)"
		case len(l) > 63:
			return fmt.Sprintf("label %.20q… is longer than 63 characters", l)
		case l[0] == '-' || l[len(l)-1] == '-':
			return fmt.Sprintf("label %q starts or ends with a hyphen", l)
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Sprintf("it holds %q; use letters, digits and hyphens between dots", r)
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "its last label is a number"
	}
	return ""
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// hostPortProblem says why s is not host:port with a port from 1 to 65535, or returns "".
// The host may be empty only if emptyHost; example is shown in the message.
func hostPortProblem(s, example string, emptyHost bool) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Sprintf("%q is not host:port (e.g. %q)", s, example)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("port %q is not a number from 1 to 65535", port)
	}
	switch {
	case host == "":
		if !emptyHost {
			return fmt.Sprintf("%q has no host (e.g. %q)", s, example)
		}
	case isIP(host):
	default:
		if msg := dnsNameProblem(host); msg != "" {
			return fmt.Sprintf("host %q is neither an IP address nor a DNS name: %s", host, msg)
		}
	}
	return ""
}

// indexedPrefix is a prefix and its field, for overlap messages.
type indexedPrefix struct {
	field  string
	prefix netip.Prefix
}

func (v *checker) addressSpace() {
	c := v.c
	var pools, vnet []indexedPrefix
	switch n := len(c.ClientAddressPools); {
	case n == 0:
		v.errorf("client_address_pools", "at least one prefix is required (e.g. 172.16.201.0/24); clients get their addresses from it")
	case n > MaxClientAddressPools:
		v.errorf("client_address_pools", "%d pools is too many (at most %d)", n, MaxClientAddressPools)
	default:
		pools = v.prefixes("client_address_pools", c.ClientAddressPools, true)
	}
	switch n := len(c.VNetAddressSpace); {
	case n == 0:
		v.errorf("vnet_address_space", "at least one prefix is required: the networks clients reach through the gateway, e.g. 10.1.0.0/16")
	case n > MaxVNetPrefixes:
		v.errorf("vnet_address_space", "%d prefixes is too many (at most %d, as Azure)", n, MaxVNetPrefixes)
	default:
		vnet = v.prefixes("vnet_address_space", c.VNetAddressSpace, false)
	}
	v.overlaps(vnet, nil)
	v.overlaps(pools, vnet)
	v.overlaps(pools, nil)
	if routes := len(c.ClientAddressPools) + len(c.VNetAddressSpace); containsFold(c.TunnelTypes, TunnelIKEv2) {
		switch {
		case routes > maxIKEv2Routes:
			v.warnf("vnet_address_space", "IKEv2 clients get one route per VNet prefix and pool, at most %d; %d will not all reach them", maxIKEv2Routes, routes)
		case routes > windowsIKEv2Routes:
			v.warnf("vnet_address_space", "%d routes: Windows IKEv2 clients without KB5005625 fail above %d (error 13834)", routes, windowsIKEv2Routes)
		}
	}
}

// prefixes checks each prefix on its own and returns those fit for the overlap checks.
func (v *checker) prefixes(field string, ps []netip.Prefix, pool bool) []indexedPrefix {
	var ok []indexedPrefix
	for i, p := range ps {
		f := fmt.Sprintf("%s[%d]", field, i)
		if msg := prefixRule(p, pool); msg != "" {
			v.errorf(f, "%s", msg)
			continue
		}
		ok = append(ok, indexedPrefix{f, p})
	}
	return ok
}

func prefixRule(p netip.Prefix, pool bool) string {
	switch {
	case !p.IsValid():
		return "empty; want an IP prefix such as 10.1.0.0/24"
	case !p.Addr().Is4() && pool:
		return fmt.Sprintf("%s is IPv6; IPv6 pools are not supported yet", p)
	case !p.Addr().Is4():
		return fmt.Sprintf("%s is IPv6; IPv6 is not supported yet (clients get IPv4 addresses only)", p)
	case p.Masked() != p:
		return fmt.Sprintf("%s has host bits set; did you mean %s?", p, p.Masked())
	case p.Bits() == 0:
		return fmt.Sprintf("%s covers every address; list the prefixes themselves", p)
	case pool && p.Bits() > MinPoolPrefixBits4:
		return fmt.Sprintf("%s is too small; a pool must be at least a /%d (8 addresses)", p, MinPoolPrefixBits4)
	case pool && p.Bits() < MaxPoolPrefixBits4:
		return fmt.Sprintf("%s is too large; a pool may be at most a /%d (use several pools)", p, MaxPoolPrefixBits4)
	}
	for _, r := range reservedRanges {
		if p.Overlaps(r.prefix) {
			return fmt.Sprintf("%s overlaps %s %s", p, r.what, r.prefix)
		}
	}
	return ""
}

// overlaps reports each prefix of a that overlaps one of b, or, when b is nil, one earlier
// in a.
func (v *checker) overlaps(a, b []indexedPrefix) {
	for i, x := range a {
		others := b
		if b == nil {
			others = a[:i]
		}
		for _, y := range others {
			if x.prefix.Overlaps(y.prefix) {
				v.errorf(x.field, "%s overlaps %s %s", x.prefix, y.field, y.prefix)
				break
			}
		}
	}
}

func (v *checker) dnsServers() {
	ds := v.c.DNSServers
	if len(ds) > MaxDNSServers {
		v.errorf("dns_servers", "%d servers is too many (at most %d)", len(ds), MaxDNSServers)
		return
	}
	for i, a := range ds {
		f := fmt.Sprintf("dns_servers[%d]", i)
		switch {
		case !a.IsValid():
			v.errorf(f, "empty; want an IP address such as 10.1.0.4")
		case a.Zone() != "":
			v.errorf(f, "%s has a zone; give a plain address", a)
		case a.IsLoopback():
			v.errorf(f, "%s is a loopback address, so clients would ask themselves; give the VNet's DNS server", a)
		case !a.IsGlobalUnicast():
			v.errorf(f, "%s is not a unicast address clients can reach", a)
		case slices.Contains(ds[:i], a):
			v.errorf(f, "%s is listed twice", a)
		}
	}
	if len(ds) > 2 && containsFold(v.c.TunnelTypes, TunnelSSTP) {
		v.warnf("dns_servers", "SSTP clients get only the first two (PPP IPCP carries a primary and a secondary)")
	}
}

func (v *checker) listen() {
	l := v.c.Listen
	for _, f := range []struct {
		field, addr, example, tunnel string
	}{
		{"listen.ike", l.IKE, DefaultIKEListen, TunnelIKEv2},
		{"listen.nat_t", l.NATT, DefaultNATTListen, TunnelIKEv2},
		{"listen.sstp", l.SSTP, DefaultSSTPListen, TunnelSSTP},
		{"listen.openvpn", l.OpenVPN, DefaultOVPNListen, TunnelOpenVPN},
	} {
		if f.addr == "" {
			if containsFold(v.c.TunnelTypes, f.tunnel) {
				v.errorf(f.field, "required when tunnel_types includes %s (e.g. %q)", f.tunnel, f.example)
			}
			continue
		}
		if msg := hostPortProblem(f.addr, f.example, true); msg != "" {
			v.errorf(f.field, "%s", msg)
		}
	}
	if l.IKE != "" && l.IKE == l.NATT {
		v.errorf("listen.nat_t", "%s is also listen.ike; NAT-T needs a port of its own (usually %s)", l.NATT, DefaultNATTListen)
	}
}

package clientconfig

import (
	"bytes"
	"encoding/xml"
	"net/netip"
	"strings"
)

// vpnSettingsXML renders Generic/VpnSettings.xml. Azure documents only VpnServer, VpnType
// and Routes (comma-separated prefixes), which third-party scripts read with xmllint; the
// other elements are ours, named in the same style. VpnType lists the tunnel types with
// Azure's spelling, comma-separated like Routes: "IkeV2", "Sstp" or "IkeV2,Sstp".
func vpnSettingsXML(p *profile) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString("<VpnProfile>\n")
	elem := func(name, value string) {
		b.WriteString("  <" + name + ">")
		xml.EscapeText(&b, []byte(value))
		b.WriteString("</" + name + ">\n")
	}
	elem("VpnServer", p.server)
	elem("VpnType", azureVpnType(p))
	elem("Routes", joinPrefixes(p.routes, ","))
	elem("DnsServers", joinAddrs(p.dns, ","))
	elem("GatewayIdentity", p.server)
	elem("AuthMethod", azureAuthMethod(p.auth))
	elem("ServerRootCertificateName", p.root.Subject.CommonName)
	b.WriteString("</VpnProfile>\n")
	return b.Bytes()
}

func azureVpnType(p *profile) string {
	var t []string
	if p.ikev2 {
		t = append(t, "IkeV2")
	}
	if p.sstp {
		t = append(t, "Sstp")
	}
	return strings.Join(t, ",")
}

// azureAuthMethod uses the vocabulary of New-AzVpnClientConfiguration's
// -AuthenticationMethod (EapTls, EapMSChapv2), plus Certificate for native certificate auth.
func azureAuthMethod(a authMethod) string {
	switch a {
	case authEAPTLS:
		return "EapTls"
	case authEAPMSCHAPv2:
		return "EapMSChapv2"
	}
	return "Certificate"
}

func joinPrefixes(ps []netip.Prefix, sep string) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, sep)
}

func joinAddrs(as []netip.Addr, sep string) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, sep)
}

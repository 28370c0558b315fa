package ike

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/p2sgw/p2sgw/ike/message"
)

// idMatchesCert reports whether an identification payload names the certificate's subject
// (RFC 7296 §3.5: the identity must be bound to the certificate): a DN equal to the subject,
// an email address, DNS name or IP address among its SANs (or its CN, as Windows and older
// clients put names there). A KEY_ID is opaque — Android sends one for a user name — and is
// accepted: authorization is by the certificate, never by the ID.
func idMatchesCert(t message.IDType, data []byte, c *x509.Certificate) error {
	switch t {
	case message.IDDERASN1DN:
		if bytes.Equal(data, c.RawSubject) {
			return nil
		}
	case message.IDRFC822Addr:
		s := string(data)
		if slices.ContainsFunc(c.EmailAddresses, func(e string) bool { return strings.EqualFold(e, s) }) || strings.EqualFold(c.Subject.CommonName, s) {
			return nil
		}
	case message.IDFQDN:
		s := string(data)
		if slices.ContainsFunc(c.DNSNames, func(d string) bool { return strings.EqualFold(d, s) }) || strings.EqualFold(c.Subject.CommonName, s) {
			return nil
		}
		// Android sends the address it dialled as an FQDN-typed string.
		if a, err := netip.ParseAddr(s); err == nil && hasIP(c, a) {
			return nil
		}
	case message.IDIPv4Addr, message.IDIPv6Addr:
		if a, ok := netip.AddrFromSlice(data); ok && hasIP(c, a) {
			return nil
		}
	case message.IDKeyID:
		return nil
	}
	return fmt.Errorf("identity %s %q is not in certificate %q", t, printableID(t, data), c.Subject.String())
}

func hasIP(c *x509.Certificate, a netip.Addr) bool {
	for _, ip := range c.IPAddresses {
		if b, ok := netip.AddrFromSlice(ip); ok && b.Unmap() == a.Unmap() {
			return true
		}
	}
	return false
}

// ownID is the identity we send for our certificate: its first DNS name, else its first IP
// address, else its subject DN.
func ownID(c *x509.Certificate) *message.IDr {
	switch {
	case len(c.DNSNames) > 0:
		return &message.IDr{IDType: message.IDFQDN, Data: []byte(c.DNSNames[0])}
	case len(c.IPAddresses) > 0:
		if a, ok := netip.AddrFromSlice(c.IPAddresses[0]); ok && a.Unmap().Is4() {
			v := a.Unmap().As4()
			return &message.IDr{IDType: message.IDIPv4Addr, Data: v[:]}
		}
	}
	return &message.IDr{IDType: message.IDDERASN1DN, Data: c.RawSubject}
}

// clientID is the identity an initiator sends for its certificate: name if set (an email
// address, a DNS name or an IP address, by its form), else the certificate's first email
// address or DNS name, else its subject DN.
func clientID(name string, c *x509.Certificate) *message.IDi {
	switch {
	case name != "":
		if a, err := netip.ParseAddr(name); err == nil && a.Is4() {
			v := a.As4()
			return &message.IDi{IDType: message.IDIPv4Addr, Data: v[:]}
		}
		if strings.Contains(name, "@") {
			return &message.IDi{IDType: message.IDRFC822Addr, Data: []byte(name)}
		}
		return &message.IDi{IDType: message.IDFQDN, Data: []byte(name)}
	case len(c.EmailAddresses) > 0:
		return &message.IDi{IDType: message.IDRFC822Addr, Data: []byte(c.EmailAddresses[0])}
	case len(c.DNSNames) > 0:
		return &message.IDi{IDType: message.IDFQDN, Data: []byte(c.DNSNames[0])}
	}
	return &message.IDi{IDType: message.IDDERASN1DN, Data: c.RawSubject}
}

func printableID(t message.IDType, data []byte) string {
	switch t {
	case message.IDRFC822Addr, message.IDFQDN, message.IDKeyID:
		return string(data)
	case message.IDIPv4Addr, message.IDIPv6Addr:
		if a, ok := netip.AddrFromSlice(data); ok {
			return a.String()
		}
	}
	return fmt.Sprintf("%x", data)
}

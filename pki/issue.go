package pki

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// oidIKEIntermediate is the "IP security IKE intermediate" extended key usage
// (1.3.6.1.5.5.8.2.2), which the Windows IKEv2 client looks for on the gateway's certificate.
var oidIKEIntermediate = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 8, 2, 2}

// Cert is an issued end-entity certificate with its new private key and the certificate
// of the CA that issued it. A Cert does not change after it is issued.
type Cert struct {
	Cert   *x509.Certificate
	Key    crypto.Signer
	Issuer *x509.Certificate
}

// IssueClient issues a client certificate for name (a user, device or email address) with
// a new key. The name becomes the subject CN and a subject alternative name: an rfc822Name
// when it holds '@', a dNSName otherwise. The certificate has EKU clientAuth only. A zero
// Options gives an ecdsa-p256 key valid for DefaultClientDays, cut short to the CA's own end.
func (ca *CA) IssueClient(name string, o Options) (*Cert, error) {
	dnsName, email, err := clientSAN(name)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: name},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if email != "" {
		tmpl.EmailAddresses = []string{email}
	} else {
		tmpl.DNSNames = []string{dnsName}
	}
	return ca.issue(tmpl, o, DefaultClientDays)
}

// IssueServer issues a gateway server certificate with a new key, naming the host names
// dnsNames and the addresses ips; at least one is required (ErrNoNames). Host names become
// dNSName SANs; addresses become iPAddress SANs and also dNSName SANs, because the Windows
// IKEv2 client matches a gateway address only against dNSNames. An entry of dnsNames that
// is an IP address counts as an address. The subject CN is the first host name, or the first
// address. The certificate has EKU serverAuth and IP security IKE intermediate. A zero
// Options gives an ecdsa-p256 key valid for DefaultServerDays, cut short to the CA's own end.
func (ca *CA) IssueServer(dnsNames []string, ips []netip.Addr, o Options) (*Cert, error) {
	hosts, addrs, err := serverNames(dnsNames, ips)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		ExtKeyUsage:        []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		UnknownExtKeyUsage: []asn1.ObjectIdentifier{oidIKEIntermediate},
		DNSNames:           hosts,
	}
	for _, a := range addrs {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(a.AsSlice()))
		tmpl.DNSNames = append(tmpl.DNSNames, a.String())
	}
	// A name longer than a CN may be stays a SAN only; Go then marks the SAN extension
	// critical, as RFC 5280 asks for an empty subject.
	if cn := tmpl.DNSNames[0]; len(cn) <= MaxCommonNameLen {
		tmpl.Subject = pkix.Name{CommonName: cn}
	}
	return ca.issue(tmpl, o, DefaultServerDays)
}

// serverNames checks and de-duplicates a server certificate's names, moving IP addresses
// given as host names to the addresses.
func serverNames(dnsNames []string, ips []netip.Addr) (hosts []string, addrs []netip.Addr, err error) {
	seenHost := map[string]bool{}
	seenAddr := map[netip.Addr]bool{}
	addAddr := func(a netip.Addr) {
		if a = a.Unmap(); !seenAddr[a] {
			seenAddr[a] = true
			addrs = append(addrs, a)
		}
	}
	for _, name := range dnsNames {
		if a, err := netip.ParseAddr(name); err == nil && a.Zone() == "" {
			addAddr(a)
			continue
		}
		if err := checkHostName(name); err != nil {
			return nil, nil, err
		}
		if key := strings.ToLower(name); !seenHost[key] {
			seenHost[key] = true
			hosts = append(hosts, name)
		}
	}
	for _, a := range ips {
		if !a.IsValid() || a.Zone() != "" {
			return nil, nil, fmt.Errorf("%w: %q is not an IP address a certificate can name", ErrInvalidName, a)
		}
		addAddr(a)
	}
	if len(hosts) == 0 && len(addrs) == 0 {
		return nil, nil, fmt.Errorf("%w: a server certificate needs at least one host name or IP address", ErrNoNames)
	}
	return hosts, addrs, nil
}

// issue completes tmpl as an end-entity certificate with a new key and signs it with ca.
func (ca *CA) issue(tmpl *x509.Certificate, o Options, defaultDays int) (*Cert, error) {
	if err := ca.check(); err != nil {
		return nil, err
	}
	p, err := o.resolve(defaultDays)
	if err != nil {
		return nil, err
	}
	if !p.now.Before(ca.Cert.NotAfter) {
		return nil, fmt.Errorf("%w: %q ended on %s; create a new root", ErrCAExpired,
			ca.Cert.Subject.CommonName, ca.Cert.NotAfter.Format("2006-01-02"))
	}
	// A certificate is worthless outside its issuer's validity, so keep it inside.
	tmpl.NotBefore = later(p.notBefore, ca.Cert.NotBefore)
	tmpl.NotAfter = earlier(p.notAfter, ca.Cert.NotAfter)
	tmpl.BasicConstraintsValid = true
	key, err := p.key.generate()
	if err != nil {
		return nil, fmt.Errorf("pki: generate %s key: %w", p.key, err)
	}
	tmpl.KeyUsage = keyUsageFor(key.Public())
	cert, err := sign(tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, err
	}
	return &Cert{Cert: cert, Key: key, Issuer: ca.Cert}, nil
}

// ChainPEM returns the certificate followed by its issuer, both PEM: the chain file users
// expect, from which the gateway sends the whole chain and clients can install the root.
// With a nil Issuer it holds the certificate only. The caller owns the returned slice.
func (c *Cert) ChainPEM() []byte {
	out := certPEM(c.Cert.Raw)
	if c.Issuer != nil && !bytes.Equal(c.Issuer.Raw, c.Cert.Raw) {
		out = append(out, certPEM(c.Issuer.Raw)...)
	}
	return out
}

// KeyPEM returns the private key as a PEM "PRIVATE KEY" (PKCS#8) block.
func (c *Cert) KeyPEM() ([]byte, error) { return marshalKeyPEM(c.Key) }

// PKCS12 returns a PKCS#12 (.p12, .pfx) file holding the key, the certificate and its
// issuer, protected by password, which must not be empty (macOS and iOS refuse to import
// such files). By default it uses the legacy encoding (3DES, SHA-1 MAC), the one every
// Windows, macOS and iOS version imports; modern asks for AES-256 and SHA-256 (OpenSSL
// 1.1.1+, Windows Server 2019+, recent macOS and iOS).
func (c *Cert) PKCS12(password string, modern bool) ([]byte, error) {
	if password == "" {
		return nil, fmt.Errorf("%w: set a password, macOS and iOS cannot import a file without one", ErrEmptyPassword)
	}
	// Modern2023, not pkcs12.Modern: that alias may move to PBMAC1, which only OpenSSL
	// 3.4+ reads.
	enc := pkcs12.LegacyDES
	if modern {
		enc = pkcs12.Modern2023
	}
	var chain []*x509.Certificate
	if c.Issuer != nil {
		chain = append(chain, c.Issuer)
	}
	data, err := enc.Encode(c.Key, c.Cert, chain, password)
	if err != nil {
		return nil, fmt.Errorf("pki: encode PKCS#12: %w", err)
	}
	return data, nil
}

// WriteFiles writes the certificate into dir, creating dir (0755) if missing: base.crt
// (ChainPEM) and base.key (KeyPEM, mode 0600). It replaces existing files, each atomically.
func (c *Cert) WriteFiles(dir, base string) error {
	keyPEM, err := c.KeyPEM()
	if err != nil {
		return err
	}
	return writeFiles(dir, []file{
		{base + ".key", keyPEM, 0o600},
		{base + ".crt", c.ChainPEM(), 0o644},
	})
}

// WritePKCS12 writes PKCS12(password, modern) to dir/base.p12 with mode 0600 (it holds the
// key, and legacy encryption is weak), creating dir (0755) if missing.
func (c *Cert) WritePKCS12(dir, base, password string, modern bool) error {
	data, err := c.PKCS12(password, modern)
	if err != nil {
		return err
	}
	return writeFiles(dir, []file{{base + ".p12", data, 0o600}})
}

// passwordLen is the length of NewPassword's passwords: 80 bits in base32, short enough to
// type on a phone.
const passwordLen = 16

// NewPassword returns a random password for a PKCS#12 file: passwordLen characters of
// upper-case base32 (A–Z, 2–7), which survive being read aloud or typed on a phone.
func NewPassword() string { return rand.Text()[:passwordLen] }

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

package clientconfig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/netip"
	"strings"
	"unicode"

	"software.sslmate.com/src/go-pkcs12"
)

// Settings describe the gateway as clients see it. Generate reads them only; it keeps no
// reference to them.
type Settings struct {
	// Name is the connection name users see (Windows' connection, Apple's VPN, the
	// NetworkManager and strongSwan profile), used as given. File names and the swanctl
	// connection use a form with only letters, digits, '-' and '_' (see slug).
	Name string
	// Server is the public address clients dial, an FQDN or an IP address. It is also
	// the identity the clients require of the gateway, so its certificate must name it.
	Server string
	// TunnelTypes are the gateway's tunnel types: "ikev2", "sstp" (any case). "openvpn"
	// is ignored: there is no listener for it yet. At least one of ikev2 and sstp is needed.
	TunnelTypes []string
	// Auth is how users sign in: "certificate" (IKEv2 signatures with a client
	// certificate; Windows uses the same certificate in EAP-TLS, as Azure's Windows profile
	// does), "eap-tls" (the client certificate inside EAP-TLS everywhere) or
	// "eap-mschapv2" (user name and password, checked by RADIUS).
	Auth string
	// Routes are the VNet prefixes sent through the tunnel (split tunnelling). Empty
	// means all traffic (the clients then take whatever the gateway's traffic selectors say).
	Routes []netip.Prefix
	// DNS are the DNS servers the gateway pushes, written into VpnSettings.xml and README
	// for reference only: every client takes them from the gateway.
	DNS []netip.Addr
	// ServerRoot is the root that signed the gateway's certificate (VpnServerRoot).
	// Apple's ServerCertificateIssuerCommonName is its CN, so the profile assumes the
	// root issued the gateway certificate directly, as p2sgw pki does.
	ServerRoot *x509.Certificate
	// Client is one user's identity to embed; nil makes a package for everyone (each user
	// brings their own certificate, or types a user name and password).
	Client *Client
}

// Client is one user's identity. With Auth "eap-mschapv2" only Name may be set: it is the
// user name, written into the profiles so that users type only their password.
type Client struct {
	// Name is the certificate's name (an email address or a name among its SANs, or its
	// CN), sent as the IKE identity; empty means the certificate's first email address or
	// DNS name, else its CN. With eap-mschapv2 it is the user name.
	Name string
	// Chain is the client certificate first, then its issuers (the root may be included;
	// it is not needed on the client).
	Chain []*x509.Certificate
	// KeyPEM is the certificate's private key, PEM (PKCS#8), for Linux. It must match
	// Chain[0].
	KeyPEM []byte
	// P12 is a PKCS#12 file of the key and chain, for Windows, Apple and Android.
	P12 []byte
	// P12Password protects P12. It is never written into the package (users type it when
	// they install the identity); when set, Generate checks that P12 opens with it and
	// holds Chain[0].
	P12Password string
}

// authMethod is a validated Settings.Auth.
type authMethod int

const (
	authCertificate authMethod = iota
	authEAPTLS
	authEAPMSCHAPv2
)

func (a authMethod) String() string {
	switch a {
	case authCertificate:
		return "certificate"
	case authEAPTLS:
		return "eap-tls"
	case authEAPMSCHAPv2:
		return "eap-mschapv2"
	}
	return fmt.Sprintf("authMethod(%d)", int(a))
}

// usesCert reports whether users sign in with a client certificate.
func (a authMethod) usesCert() bool { return a != authEAPMSCHAPv2 }

// profile is Settings checked and resolved: what every renderer reads.
type profile struct {
	name    string
	slug    string // name reduced to [A-Za-z0-9_-]: swanctl connection and file names
	server  string
	ikev2   bool
	sstp    bool
	auth    authMethod
	routes  []netip.Prefix // masked, in the given order
	dns     []netip.Addr
	root    *x509.Certificate
	user    string            // the client's IKE identity or EAP user name; "" if unknown
	leaf    *x509.Certificate // nil without a client certificate
	issuers []*x509.Certificate
	keyPEM  []byte
	p12     []byte
}

// Generate renders the client package for s: zip path → content. Which files it holds
// depends on the tunnel types, the authentication and the Client (README.txt lists them):
// without IKEv2 there are no Apple, Android or Linux profiles, and a certificate-based
// Apple profile needs the Client's P12. Generate returns an error wrapping ErrSettings or
// ErrClient when s cannot make a working package. The caller owns the returned map.
func Generate(s Settings) (map[string][]byte, error) {
	p, err := resolve(s)
	if err != nil {
		return nil, err
	}
	files := make(map[string][]byte)
	addGeneric(p, files)
	addWindows(p, files)
	if p.ikev2 {
		addApple(p, files)
		addAndroid(p, files)
		addLinux(p, files)
	}
	files[readmeFile] = readme(p, files)
	return files, nil
}

func resolve(s Settings) (*profile, error) {
	p := &profile{name: s.Name, server: s.Server, root: s.ServerRoot}
	if strings.TrimSpace(s.Name) == "" || !printable(s.Name) {
		return nil, fmt.Errorf("%w: the connection name %q must be non-empty printable text", ErrSettings, s.Name)
	}
	p.slug = slug(s.Name)
	if !validServer(s.Server) {
		return nil, fmt.Errorf("%w: the server %q is not a host name or IP address (give public_address, the name clients dial)", ErrSettings, s.Server)
	}
	if err := p.setTunnels(s.TunnelTypes); err != nil {
		return nil, err
	}
	switch strings.ToLower(s.Auth) {
	case "certificate":
		p.auth = authCertificate
	case "eap-tls":
		p.auth = authEAPTLS
	case "eap-mschapv2":
		p.auth = authEAPMSCHAPv2
	default:
		return nil, fmt.Errorf("%w: authentication %q is not one of certificate, eap-tls, eap-mschapv2", ErrSettings, s.Auth)
	}
	for i, r := range s.Routes {
		if !r.IsValid() {
			return nil, fmt.Errorf("%w: route %d is not a valid prefix", ErrSettings, i+1)
		}
		p.routes = append(p.routes, r.Masked())
	}
	for i, a := range s.DNS {
		if !a.IsValid() {
			return nil, fmt.Errorf("%w: DNS server %d is not a valid address", ErrSettings, i+1)
		}
		p.dns = append(p.dns, a.Unmap())
	}
	if s.ServerRoot == nil {
		return nil, fmt.Errorf("%w: the server root (the CA that signed the gateway's certificate) is required", ErrSettings)
	}
	if s.Client != nil {
		if err := p.setClient(s.Client); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *profile) setTunnels(types []string) error {
	for _, t := range types {
		switch strings.ToLower(t) {
		case "ikev2":
			p.ikev2 = true
		case "sstp":
			p.sstp = true
		case "openvpn":
			// No OpenVPN listener yet, so no OpenVPN profile.
		default:
			return fmt.Errorf("%w: tunnel type %q is not one of ikev2, sstp, openvpn", ErrSettings, t)
		}
	}
	if !p.ikev2 && !p.sstp {
		return fmt.Errorf("%w: tunnel types %q have no client profile (ikev2 or sstp is needed)", ErrSettings, types)
	}
	return nil
}

func (p *profile) setClient(c *Client) error {
	if c.Name != "" && !printable(c.Name) {
		return fmt.Errorf("%w: the client name %q must be printable text", ErrClient, c.Name)
	}
	if !p.auth.usesCert() {
		if len(c.Chain) != 0 || len(c.KeyPEM) != 0 || len(c.P12) != 0 {
			return fmt.Errorf("%w: eap-mschapv2 uses no client certificate: give only Client.Name (the user name)", ErrClient)
		}
		p.user = c.Name
		return nil
	}
	if len(c.Chain) == 0 || c.Chain[0] == nil {
		return fmt.Errorf("%w: %s authentication needs the client certificate (Client.Chain)", ErrClient, p.auth)
	}
	p.leaf = c.Chain[0]
	for _, ca := range c.Chain[1:] {
		// The client's own root is not needed on the client: the gateway holds it.
		if ca != nil && !selfSigned(ca) {
			p.issuers = append(p.issuers, ca)
		}
	}
	p.user = c.Name
	if p.user == "" {
		p.user = CertName(p.leaf)
	}
	if len(c.KeyPEM) != 0 {
		key, err := parseKey(c.KeyPEM)
		if err != nil {
			return fmt.Errorf("%w: client key: %w", ErrClient, err)
		}
		if !publicKeyMatches(p.leaf, key) {
			return fmt.Errorf("%w: the client key does not belong to the certificate %q", ErrClient, p.leaf.Subject.CommonName)
		}
		p.keyPEM = c.KeyPEM
	}
	if len(c.P12) != 0 {
		if c.P12Password != "" {
			_, cert, _, err := pkcs12.DecodeChain(c.P12, c.P12Password)
			if err != nil {
				return fmt.Errorf("%w: the PKCS#12 file does not open with its password: %w", ErrClient, err)
			}
			if !cert.Equal(p.leaf) {
				return fmt.Errorf("%w: the PKCS#12 file holds %q, not the client certificate %q", ErrClient, cert.Subject.CommonName, p.leaf.Subject.CommonName)
			}
		}
		p.p12 = c.P12
	}
	return nil
}

// CertName is the identity a certificate is best known by: its first email address, else
// its first DNS name, else its CN — the order the gateway matches IDi against.
func CertName(c *x509.Certificate) string {
	switch {
	case len(c.EmailAddresses) > 0:
		return c.EmailAddresses[0]
	case len(c.DNSNames) > 0:
		return c.DNSNames[0]
	}
	return c.Subject.CommonName
}

func selfSigned(c *x509.Certificate) bool {
	return string(c.RawIssuer) == string(c.RawSubject) && c.CheckSignatureFrom(c) == nil
}

// parseKey reads a PEM private key: PKCS#8, or the SEC 1 and PKCS#1 forms of older tools.
func parseKey(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("no PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("a %T cannot sign", key)
	}
	return signer, nil
}

func publicKeyMatches(c *x509.Certificate, key crypto.Signer) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	pub, ok := key.Public().(equaler)
	return ok && pub.Equal(c.PublicKey)
}

// appleCertificateType is Apple's CertificateType for the client certificate's key.
func appleCertificateType(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve.Params().BitSize {
		case 384:
			return "ECDSA384"
		case 521:
			return "ECDSA521"
		}
		return "ECDSA256"
	case *rsa.PublicKey, ed25519.PublicKey:
		return "RSA"
	}
	return "RSA"
}

// printable reports whether s is text without control characters: every value ends up
// in a script, a configuration file or XML, and a newline would end it early.
func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// validServer accepts an IP address or a host name of letters, digits, '-', '_' and dots.
func validServer(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	if s == "" || len(s) > 253 || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "-") {
		return false
	}
	for _, r := range s {
		if !(r == '.' || r == '-' || r == '_' || r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return false
		}
	}
	return true
}

// slug reduces a name to letters, digits, '-' and '_' (others become '-'), for swanctl
// section names and file names.
func slug(name string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(name) {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-")
	if s == "" {
		return "vpn"
	}
	return s
}

// addGeneric adds Azure's Generic folder: VpnSettings.xml and the root, DER (.cer, as
// Azure ships it) and PEM. Unlike Azure's it is there with SSTP only too: the Windows
// script imports the root from it.
func addGeneric(p *profile, files map[string][]byte) {
	files[genericSettingsFile] = vpnSettingsXML(p)
	files[genericRootCER] = p.root.Raw
	files[genericRootPEM] = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.root.Raw})
}

// Fixed paths inside the package.
const (
	readmeFile          = "README.txt"
	genericSettingsFile = "Generic/VpnSettings.xml"
	genericRootCER      = "Generic/VpnServerRoot.cer"
	genericRootPEM      = "Generic/VpnServerRoot.pem"
	windowsScript       = "Windows/VpnProfileSetup.ps1"
	windowsP12          = "Windows/client.p12"
	swanctlConf         = "Linux/swanctl/swanctl.conf"
	swanctlRoot         = "Linux/swanctl/x509ca/VpnServerRoot.pem"
	swanctlCert         = "Linux/swanctl/x509/client.pem"
	swanctlKey          = "Linux/swanctl/private/client.key"
)

func appleFile(p *profile) string   { return "Apple/" + p.slug + ".mobileconfig" }
func androidFile(p *profile) string { return "Android/" + p.slug + ".sswan" }
func nmFile(p *profile) string      { return "Linux/NetworkManager/" + p.slug + ".nmconnection" }

// swanctlIssuerFile is where intermediate CA i of the client's chain goes: x509/ holds
// untrusted certificates that strongSwan sends along, unlike the anchors in x509ca/.
func swanctlIssuerFile(i int) string { return fmt.Sprintf("Linux/swanctl/x509/client-ca%d.pem", i+1) }

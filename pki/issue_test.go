package pki

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// ikeIntermediate is spelled out here rather than taken from the package, so a typo there fails.
var ikeIntermediate = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 8, 2, 2}

func wantLeafKeyUsage(k KeyType) x509.KeyUsage {
	if strings.HasPrefix(string(k), "rsa-") {
		return x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	}
	return x509.KeyUsageDigitalSignature
}

// checkLeaf checks what every end-entity certificate shares and that it chains to ca for usage.
func checkLeaf(t *testing.T, ca *CA, rootKey, leafKey KeyType, c *Cert, usage x509.ExtKeyUsage, days int) {
	t.Helper()
	cert := c.Cert
	if c.Issuer != ca.Cert {
		t.Error("Issuer is not the CA certificate")
	}
	if !cert.BasicConstraintsValid || cert.IsCA {
		t.Errorf("basic constraints: valid %v, CA %v; want CA:FALSE", cert.BasicConstraintsValid, cert.IsCA)
	}
	if cert.KeyUsage != wantLeafKeyUsage(leafKey) {
		t.Errorf("key usage %b, want %b", cert.KeyUsage, wantLeafKeyUsage(leafKey))
	}
	if !bytes.Equal(cert.AuthorityKeyId, ca.Cert.SubjectKeyId) || len(cert.AuthorityKeyId) == 0 {
		t.Errorf("authority key id %x, want the root's %x", cert.AuthorityKeyId, ca.Cert.SubjectKeyId)
	}
	if len(cert.SubjectKeyId) == 0 || bytes.Equal(cert.SubjectKeyId, ca.Cert.SubjectKeyId) {
		t.Errorf("subject key id %x", cert.SubjectKeyId)
	}
	if cert.SignatureAlgorithm != wantSignatureAlgorithm(rootKey) {
		t.Errorf("signature algorithm %v, want %v", cert.SignatureAlgorithm, wantSignatureAlgorithm(rootKey))
	}
	checkKeyType(t, cert.PublicKey, leafKey)
	checkSerial(t, cert)
	if !KeyMatches(cert, c.Key) {
		t.Error("key does not match the certificate")
	}
	if want := testNow.Add(-5 * time.Minute); !cert.NotBefore.Equal(want) {
		t.Errorf("NotBefore %v, want %v", cert.NotBefore, want)
	}
	if want := testNow.AddDate(0, 0, days); !cert.NotAfter.Equal(want) {
		t.Errorf("NotAfter %v, want %v", cert.NotAfter, want)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: testNow, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		t.Errorf("verify for %v: %v", usage, err)
	}
	other := x509.ExtKeyUsageServerAuth
	if usage == other {
		other = x509.ExtKeyUsageClientAuth
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: testNow, KeyUsages: []x509.ExtKeyUsage{other}}); err == nil {
		t.Errorf("verifies for %v too", other)
	}
}

func TestIssueClient(t *testing.T) {
	tests := []struct {
		name      string
		root, key KeyType
		days      int
		wantEmail []string
		wantDNS   []string
	}{
		{"alice@example.com", KeyECDSAP256, KeyECDSAP256, 0, []string{"alice@example.com"}, nil},
		{"alice-laptop", KeyECDSAP256, KeyECDSAP384, 30, nil, []string{"alice-laptop"}},
		{"P2SChildCert", KeyRSA2048, KeyRSA2048, 0, nil, []string{"P2SChildCert"}},
		{"bob_smith.ops", KeyRSA2048, KeyECDSAP256, 1, nil, []string{"bob_smith.ops"}},
		{"o'neil+vpn@corp.example", KeyECDSAP384, KeyRSA3072, 0, []string{"o'neil+vpn@corp.example"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+string(tt.root)+"/"+string(tt.key), func(t *testing.T) {
			ca := testRoot(t, tt.root)
			c, err := ca.IssueClient(tt.name, Options{Key: tt.key, Days: tt.days, Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			days := tt.days
			if days == 0 {
				days = DefaultClientDays
			}
			checkLeaf(t, ca, tt.root, tt.key, c, x509.ExtKeyUsageClientAuth, days)
			cert := c.Cert
			if cert.Subject.CommonName != tt.name || cert.Issuer.CommonName != ca.Cert.Subject.CommonName {
				t.Errorf("subject %q issuer %q", cert.Subject, cert.Issuer)
			}
			if !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) || len(cert.UnknownExtKeyUsage) != 0 {
				t.Errorf("EKU %v %v, want clientAuth only", cert.ExtKeyUsage, cert.UnknownExtKeyUsage)
			}
			if !slices.Equal(cert.EmailAddresses, tt.wantEmail) || !slices.Equal(cert.DNSNames, tt.wantDNS) ||
				len(cert.IPAddresses) != 0 || len(cert.URIs) != 0 {
				t.Errorf("SANs email %v DNS %v IP %v URI %v; want email %v DNS %v",
					cert.EmailAddresses, cert.DNSNames, cert.IPAddresses, cert.URIs, tt.wantEmail, tt.wantDNS)
			}
		})
	}
}

func TestIssueServer(t *testing.T) {
	v4 := netip.MustParseAddr("198.18.0.1")
	v6 := netip.MustParseAddr("2001:db8::1")
	tests := []struct {
		name      string
		root, key KeyType
		dns       []string
		ips       []netip.Addr
		wantCN    string
		wantDNS   []string
		wantIPs   []string
	}{
		{"one name", KeyECDSAP256, KeyECDSAP256, []string{"vpn.example.com"}, nil,
			"vpn.example.com", []string{"vpn.example.com"}, nil},
		{"one address", KeyECDSAP256, KeyRSA2048, nil, []netip.Addr{v4},
			"198.18.0.1", []string{"198.18.0.1"}, []string{"198.18.0.1"}},
		{"names and addresses", KeyRSA2048, KeyECDSAP256, []string{"vpn.example.com", "*.vpn.example.com"}, []netip.Addr{v4, v6},
			"vpn.example.com", []string{"vpn.example.com", "*.vpn.example.com", "198.18.0.1", "2001:db8::1"}, []string{"198.18.0.1", "2001:db8::1"}},
		{"address given as name, duplicates", KeyECDSAP384, KeyECDSAP384, []string{"198.18.0.1", "gw", "GW"},
			[]netip.Addr{netip.MustParseAddr("::ffff:198.18.0.1")},
			"gw", []string{"gw", "198.18.0.1"}, []string{"198.18.0.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca := testRoot(t, tt.root)
			c, err := ca.IssueServer(tt.dns, tt.ips, Options{Key: tt.key, Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			checkLeaf(t, ca, tt.root, tt.key, c, x509.ExtKeyUsageServerAuth, DefaultServerDays)
			cert := c.Cert
			if cert.Subject.CommonName != tt.wantCN {
				t.Errorf("CN %q, want %q", cert.Subject.CommonName, tt.wantCN)
			}
			if !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
				t.Errorf("EKU %v, want serverAuth", cert.ExtKeyUsage)
			}
			if len(cert.UnknownExtKeyUsage) != 1 || !cert.UnknownExtKeyUsage[0].Equal(ikeIntermediate) {
				t.Errorf("other EKUs %v, want %v", cert.UnknownExtKeyUsage, ikeIntermediate)
			}
			if !slices.Equal(cert.DNSNames, tt.wantDNS) {
				t.Errorf("dNSName SANs %q, want %q", cert.DNSNames, tt.wantDNS)
			}
			var ips []string
			for _, ip := range cert.IPAddresses {
				ips = append(ips, ip.String())
				if ip.To4() != nil && len(ip) != net.IPv4len {
					t.Errorf("IPv4 SAN %v encoded in %d bytes", ip, len(ip))
				}
			}
			if !slices.Equal(ips, tt.wantIPs) || len(cert.EmailAddresses) != 0 {
				t.Errorf("iPAddress SANs %q email %q, want %q", ips, cert.EmailAddresses, tt.wantIPs)
			}
			for _, name := range append(tt.wantDNS, tt.wantIPs...) {
				if strings.HasPrefix(name, "*.") {
					name = "x" + name[1:]
				}
				if err := cert.VerifyHostname(name); err != nil {
					t.Errorf("VerifyHostname(%s): %v", name, err)
				}
			}
		})
	}
}

func TestIssueServerLongNameHasNoCN(t *testing.T) {
	long := strings.Repeat("a", 60) + ".example.com"
	c, err := testRoot(t, KeyECDSAP256).IssueServer([]string{long}, nil, Options{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if c.Cert.Subject.CommonName != "" || !slices.Equal(c.Cert.DNSNames, []string{long}) {
		t.Errorf("CN %q DNS %v", c.Cert.Subject.CommonName, c.Cert.DNSNames)
	}
	if !criticalExtensions(c.Cert)[oidSubjectAltName] {
		t.Error("SAN of a certificate with an empty subject is not critical")
	}
}

func TestIssueRejects(t *testing.T) {
	ca := testRoot(t, KeyECDSAP256)
	client := func(name string, o Options) func() error {
		return func() error { _, err := ca.IssueClient(name, o); return err }
	}
	server := func(dns []string, ips []netip.Addr) func() error {
		return func() error { _, err := ca.IssueServer(dns, ips, Options{}); return err }
	}
	tests := []struct {
		name  string
		issue func() error
		want  error
	}{
		{"client empty", client("", Options{}), ErrInvalidName},
		{"client space", client("Alice Smith", Options{}), ErrInvalidName},
		{"client non-ASCII", client("zoë", Options{}), ErrInvalidName},
		{"client 65 chars", client(strings.Repeat("a", 65), Options{}), ErrInvalidName},
		{"client two @", client("a@b@example.com", Options{}), ErrInvalidName},
		{"client empty local part", client("@example.com", Options{}), ErrInvalidName},
		{"client empty domain", client("alice@", Options{}), ErrInvalidName},
		{"client bad domain", client("alice@exa mple.com", Options{}), ErrInvalidName},
		{"client bad days", client("alice", Options{Days: MaxDays + 1}), ErrInvalidDays},
		{"client bad key", client("alice", Options{Key: "rsa-1024"}), ErrKeyType},
		{"server no names", server(nil, nil), ErrNoNames},
		{"server empty lists", server([]string{}, []netip.Addr{}), ErrNoNames},
		{"server empty name", server([]string{""}, nil), ErrInvalidName},
		{"server leading hyphen", server([]string{"-vpn.example.com"}, nil), ErrInvalidName},
		{"server double dot", server([]string{"vpn..example.com"}, nil), ErrInvalidName},
		{"server trailing dot", server([]string{"vpn.example.com."}, nil), ErrInvalidName},
		{"server underscore", server([]string{"vpn_gw.example.com"}, nil), ErrInvalidName},
		{"server inner wildcard", server([]string{"vpn.*.example.com"}, nil), ErrInvalidName},
		{"server bare wildcard", server([]string{"*"}, nil), ErrInvalidName},
		{"server long label", server([]string{strings.Repeat("a", 64) + ".com"}, nil), ErrInvalidName},
		{"server zero address", server(nil, []netip.Addr{{}}), ErrInvalidName},
		{"server zoned address", server(nil, []netip.Addr{netip.MustParseAddr("fe80::1%eth0")}), ErrInvalidName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.issue(); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestIssueStaysInsideCAValidity(t *testing.T) {
	short, err := NewRoot("short-lived", Options{Days: 10, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	c, err := short.IssueClient("alice", Options{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Cert.NotAfter.Equal(short.Cert.NotAfter) {
		t.Errorf("NotAfter %v, want the root's %v", c.Cert.NotAfter, short.Cert.NotAfter)
	}
	later := func() time.Time { return testNow.AddDate(0, 0, 10) }
	if _, err := short.IssueServer([]string{"gw"}, nil, Options{Now: later}); !errors.Is(err, ErrCAExpired) {
		t.Errorf("issue from an expired root: %v, want ErrCAExpired", err)
	}
	if _, err := (&CA{Cert: short.Cert}).IssueClient("alice", Options{}); !errors.Is(err, ErrNotCA) {
		t.Errorf("issue from a CA without key: %v, want ErrNotCA", err)
	}
}

func TestChainAndKeyPEM(t *testing.T) {
	ca := testRoot(t, KeyECDSAP256)
	c, err := ca.IssueClient("alice", Options{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	var blocks []*pem.Block
	for rest := c.ChainPEM(); ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			if len(bytes.TrimSpace(rest)) != 0 {
				t.Errorf("trailing data after the chain: %q", rest)
			}
			break
		}
		blocks = append(blocks, b)
	}
	if len(blocks) != 2 || blocks[0].Type != "CERTIFICATE" || blocks[1].Type != "CERTIFICATE" ||
		!bytes.Equal(blocks[0].Bytes, c.Cert.Raw) || !bytes.Equal(blocks[1].Bytes, ca.Cert.Raw) {
		t.Fatalf("chain: want the certificate then the root, got %d blocks", len(blocks))
	}
	keyPEM, err := c.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(keyPEM)
	if b == nil || b.Type != "PRIVATE KEY" {
		t.Fatalf("KeyPEM: %q", keyPEM)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if s, ok := k.(crypto.Signer); err != nil || !ok || !KeyMatches(c.Cert, s) {
		t.Fatalf("KeyPEM does not hold the certificate's key: %v", err)
	}
}

// DER encodings of the PKCS#12 algorithm OIDs, to tell the encodings apart in a file.
var (
	oidPBEWithSHAAnd3DES = []byte{0x06, 0x0a, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, 0x03} // 1.2.840.113549.1.12.1.3
	oidPBES2             = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d}       // 1.2.840.113549.1.5.13
	oidAES256CBC         = []byte{0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a}       // 2.16.840.1.101.3.4.1.42
)

func TestPKCS12RoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		key    KeyType
		modern bool
	}{
		{"legacy ecdsa", KeyECDSAP256, false},
		{"modern ecdsa", KeyECDSAP256, true},
		{"legacy rsa", KeyRSA2048, false},
		{"modern rsa", KeyRSA2048, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca := testRoot(t, tt.key)
			c, err := ca.IssueClient("alice@example.com", Options{Key: tt.key, Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			const password = "correct horse"
			data, err := c.PKCS12(password, tt.modern)
			if err != nil {
				t.Fatal(err)
			}
			key, cert, cas, err := pkcs12.DecodeChain(data, password)
			if err != nil {
				t.Fatalf("DecodeChain: %v", err)
			}
			if s, ok := key.(crypto.Signer); !ok || !KeyMatches(c.Cert, s) {
				t.Error("the file's key is not the certificate's")
			}
			if !cert.Equal(c.Cert) {
				t.Error("the file's certificate differs")
			}
			if len(cas) != 1 || !cas[0].Equal(ca.Cert) {
				t.Errorf("the file holds %d CA certificates, want the root", len(cas))
			}
			legacy := bytes.Contains(data, oidPBEWithSHAAnd3DES)
			modern := bytes.Contains(data, oidPBES2) && bytes.Contains(data, oidAES256CBC)
			if legacy == tt.modern || modern != tt.modern {
				t.Errorf("encoding: 3DES %v, PBES2/AES-256 %v; want modern = %v", legacy, modern, tt.modern)
			}
			if _, _, _, err := pkcs12.DecodeChain(data, "wrong"); err == nil {
				t.Error("decodes with a wrong password")
			}
		})
	}
}

func TestPKCS12RejectsEmptyPassword(t *testing.T) {
	c, err := testRoot(t, KeyECDSAP256).IssueClient("alice", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PKCS12("", false); !errors.Is(err, ErrEmptyPassword) {
		t.Fatalf("err = %v, want ErrEmptyPassword", err)
	}
}

func TestCertWriteFiles(t *testing.T) {
	ca := testRoot(t, KeyECDSAP256)
	c, err := ca.IssueClient("alice", Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "alice")
	if err := c.WriteFiles(dir, "client"); err != nil {
		t.Fatal(err)
	}
	if err := c.WritePKCS12(dir, "client", "pw", false); err != nil {
		t.Fatal(err)
	}
	want := map[string]os.FileMode{"client.crt": 0o644, "client.key": 0o600, "client.p12": 0o600}
	for name, perm := range want {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != perm {
			t.Errorf("%s has mode %v, want %v", name, fi.Mode().Perm(), perm)
		}
	}
	crt, _ := os.ReadFile(filepath.Join(dir, "client.crt"))
	if !bytes.Equal(crt, c.ChainPEM()) {
		t.Error("client.crt is not ChainPEM")
	}
	keyPEM, _ := os.ReadFile(filepath.Join(dir, "client.key"))
	if key, err := ParsePrivateKey(keyPEM); err != nil || !KeyMatches(c.Cert, key) {
		t.Errorf("client.key: %v", err)
	}
	p12, _ := os.ReadFile(filepath.Join(dir, "client.p12"))
	if _, cert, _, err := pkcs12.DecodeChain(p12, "pw"); err != nil || !cert.Equal(c.Cert) {
		t.Errorf("client.p12: %v", err)
	}
}

func TestNewPassword(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		pw := NewPassword()
		if len(pw) != 16 || strings.Trim(pw, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
			t.Fatalf("NewPassword() = %q: want 16 characters of upper-case base32", pw)
		}
		if seen[pw] {
			t.Fatalf("NewPassword repeated %q", pw)
		}
		seen[pw] = true
	}
}

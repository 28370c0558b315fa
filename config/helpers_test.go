package config

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// testFiles are certificates, keys and secrets written to a temporary directory. Every
// path is absolute; the names are relative to dir.
type testFiles struct {
	dir                     string
	cert, key, root         string // server certificate for vpn.example.com, its key, its CA
	otherKey                string // a key that matches no certificate
	expiredCert, expiredKey string
	soonCert, soonKey       string // expires in 10 days
	rsaKeyPKCS1, ecKeySEC1  string // keys in the other encodings
	rsaCert                 string // certificate of rsaKeyPKCS1
	encryptedKey            string
	notPEM                  string
	secret                  string // 0600, 24 characters and a newline
	shortSecret             string // 0600, 6 characters
	emptySecret             string // 0600, empty
	openSecret              string // 0644
}

// testMaterial is the content of testFiles, generated once per test binary: keys are slow
// to make (RSA) and the tests only need them to differ from each other.
type testMaterial struct {
	root, cert, key, otherKey       []byte
	expiredCert, expiredKey         []byte
	soonCert, soonKey               []byte
	rsaKeyPKCS1, rsaCert, ecKeySEC1 []byte
}

var (
	materialOnce sync.Once
	material     testMaterial
	materialErr  error
)

func newTestFiles(t testing.TB) *testFiles {
	t.Helper()
	materialOnce.Do(func() { material, materialErr = makeMaterial() })
	if materialErr != nil {
		t.Fatal(materialErr)
	}
	m := material
	dir := t.TempDir()
	write := func(name string, data []byte, perm os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, perm); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, perm); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return &testFiles{
		dir:          dir,
		root:         write("root.pem", m.root, 0o644),
		cert:         write("server.pem", m.cert, 0o644),
		key:          write("server.key", m.key, 0o600),
		otherKey:     write("other.key", m.otherKey, 0o600),
		expiredCert:  write("expired.pem", m.expiredCert, 0o644),
		expiredKey:   write("expired.key", m.expiredKey, 0o600),
		soonCert:     write("soon.pem", m.soonCert, 0o644),
		soonKey:      write("soon.key", m.soonKey, 0o600),
		rsaKeyPKCS1:  write("rsa.key", m.rsaKeyPKCS1, 0o600),
		rsaCert:      write("rsa.pem", m.rsaCert, 0o644),
		ecKeySEC1:    write("server-sec1.key", m.ecKeySEC1, 0o600),
		encryptedKey: write("encrypted.key", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{0x30, 0}}), 0o600),
		notPEM:       write("not.pem", []byte("hello\n"), 0o644),
		secret:       write("radius.secret", []byte("0123456789abcdefghijklmn\n"), 0o600),
		shortSecret:  write("short.secret", []byte("s3cret"), 0o600),
		emptySecret:  write("empty.secret", nil, 0o600),
		openSecret:   write("open.secret", []byte("0123456789abcdefghijklmn"), 0o644),
	}
}

// makeMaterial makes an ECDSA P-256 CA and certificates it issues for vpn.example.com
// (and 198.18.0.1): a valid one, an expired one, one that expires in 10 days and an RSA
// one, each with its key.
func makeMaterial() (m testMaterial, err error) {
	now := time.Now()
	keys := make([]*ecdsa.PrivateKey, 5)
	for i := range keys {
		if keys[i], err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return m, err
		}
	}
	caKey, serverKey, expiredKey, soonKey, otherKey := keys[0], keys[1], keys[2], keys[3], keys[4]
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test VPN Server Root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(10 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return m, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return m, err
	}
	m.root = certPEM(caDER)
	issue := func(serial int64, key crypto.Signer, notBefore, notAfter time.Time) []byte {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "vpn.example.com"},
			DNSNames: []string{"vpn.example.com"}, IPAddresses: []net.IP{net.IPv4(198, 18, 0, 1)},
			NotBefore: notBefore, NotAfter: notAfter,
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		der, e := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
		if e != nil {
			err = e
		}
		return certPEM(der)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return m, err
	}
	m.cert = issue(2, serverKey, now.Add(-time.Hour), now.Add(365*24*time.Hour))
	m.expiredCert = issue(3, expiredKey, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	m.soonCert = issue(4, soonKey, now.Add(-time.Hour), now.Add(10*24*time.Hour))
	m.rsaCert = issue(5, rsaKey, now.Add(-time.Hour), now.Add(365*24*time.Hour))
	if err != nil {
		return m, err
	}
	for _, k := range []struct {
		dst *[]byte
		key any
	}{{&m.key, serverKey}, {&m.otherKey, otherKey}, {&m.expiredKey, expiredKey}, {&m.soonKey, soonKey}} {
		der, err := x509.MarshalPKCS8PrivateKey(k.key)
		if err != nil {
			return m, err
		}
		*k.dst = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	m.rsaKeyPKCS1 = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})
	sec1, err := x509.MarshalECPrivateKey(serverKey)
	if err != nil {
		return m, err
	}
	// The EC PARAMETERS block (the P-256 OID) comes first, as `openssl ecparam -genkey` writes.
	m.ecKeySEC1 = append(
		pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})...)
	return m, nil
}

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// validConfig returns a Config that passes Validate without warnings, defaults applied.
func validConfig(tf *testFiles) *Config {
	c := &Config{
		Name:               "gw1",
		PublicAddress:      "vpn.example.com",
		ServerCertificate:  tf.cert,
		ServerKey:          tf.key,
		ServerRoot:         tf.root,
		ClientAddressPools: []netip.Prefix{netip.MustParsePrefix("100.64.0.0/16")},
		VNetAddressSpace:   []netip.Prefix{netip.MustParsePrefix("198.19.0.0/16")},
	}
	c.ApplyDefaults()
	return c
}

// withRADIUS adds RADIUS authentication with one server to c.
func withRADIUS(tf *testFiles, c *Config) {
	c.AuthTypes = append(c.AuthTypes, AuthRADIUS)
	c.RADIUS = &RADIUS{Servers: []RADIUSServer{{Address: "198.19.0.10", SecretFile: tf.secret}}}
	c.ApplyDefaults()
}

func prefixes(ss ...string) []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range ss {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}

func ptr[T any](v T) *T { return &v }

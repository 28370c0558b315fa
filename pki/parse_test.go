package pki

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// wrap breaks s into lines of n characters, as a text editor or certutil does.
func wrap(s string, n int, eol string) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + eol)
		s = s[n:]
	}
	return b.String() + s
}

func TestParseCertificate(t *testing.T) {
	ca := testRoot(t, KeyECDSAP256)
	der := ca.Cert.Raw
	keyPEM, err := marshalKeyPEM(ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString(der)
	good := []struct {
		name string
		data []byte
	}{
		{"PEM", pemBlock("CERTIFICATE", der)},
		{"PEM after a key", append(append([]byte{}, keyPEM...), pemBlock("CERTIFICATE", der)...)},
		{"PEM chain takes the first", append(pemBlock("CERTIFICATE", der), pemBlock("CERTIFICATE", testRoot(t, KeyRSA2048).Cert.Raw)...)},
		{"PEM with CRLF and BOM", []byte("\ufeff" + strings.ReplaceAll(string(pemBlock("CERTIFICATE", der)), "\n", "\r\n"))},
		{"PEM with text before", append([]byte("Subject: CN=Test Root\n"), pemBlock("CERTIFICATE", der)...)},
		{"DER", der},
		{"base64 one line", []byte(b64)},
		{"base64 one line, newline", []byte(b64 + "\n")},
		{"base64 wrapped CRLF", []byte(wrap(b64, 64, "\r\n"))},
		{"base64 unpadded", []byte(strings.TrimRight(b64, "="))},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			cert, err := ParseCertificate(tt.data)
			if err != nil {
				t.Fatal(err)
			}
			if !cert.Equal(ca.Cert) {
				t.Fatal("parsed a different certificate")
			}
		})
	}

	bad := []struct {
		name    string
		data    []byte
		wantMsg string
	}{
		{"nil", nil, "empty"},
		{"white space", []byte(" \n\t"), "empty"},
		{"garbage", []byte("hello, world"), "expected PEM"},
		{"private key PEM", keyPEM, "found PRIVATE KEY"},
		{"broken PEM", []byte("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"), "no CERTIFICATE block"},
		{"PEM with bad DER", pemBlock("CERTIFICATE", der[:len(der)-10]), "PEM"},
		{"truncated DER", der[:len(der)/2], "DER"},
		{"DER with trailing data", append(append([]byte{}, der...), 0), "DER"},
		{"base64 of garbage", []byte(base64.StdEncoding.EncodeToString([]byte("not DER at all"))), "expected PEM"},
		{"base64 of bad DER", []byte(base64.StdEncoding.EncodeToString(der[:100])), "base64 DER"},
		{"thumbprint instead", []byte(ThumbprintsOf(der).SHA1), "expected PEM"},
		{"thumbprint starting with 0", []byte("0" + ThumbprintsOf(der).SHA1[1:]), "expected PEM"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			cert, err := ParseCertificate(tt.data)
			if !errors.Is(err, ErrNotCertificate) {
				t.Fatalf("ParseCertificate = %v, %v; want ErrNotCertificate", cert, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) || !strings.HasPrefix(err.Error(), "pki: not a certificate: ") {
				t.Errorf("error %q: want it to start with \"pki: not a certificate: \" and mention %q", err, tt.wantMsg)
			}
		})
	}
}

func TestReadCertificate(t *testing.T) {
	ca := testRoot(t, KeyECDSAP256)
	dir := t.TempDir()
	good := filepath.Join(dir, "root.cer")
	if err := os.WriteFile(good, ca.Cert.Raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if cert, err := ReadCertificate(good); err != nil || !cert.Equal(ca.Cert) {
		t.Fatalf("ReadCertificate: %v", err)
	}
	bad := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(bad, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadCertificate(bad); !errors.Is(err, ErrNotCertificate) || !strings.Contains(err.Error(), bad) {
		t.Errorf("ReadCertificate(garbage) = %v: want ErrNotCertificate naming the file", err)
	}
	if _, err := ReadCertificate(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadCertificate(missing) = %v", err)
	}
}

func TestParsePrivateKey(t *testing.T) {
	ec := testRoot(t, KeyECDSAP256).Key.(*ecdsa.PrivateKey)
	rsaKey := testRoot(t, KeyRSA2048).Key.(*rsa.PrivateKey)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	sec1, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	ecParams := pemBlock("EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07})
	good := []struct {
		name string
		data []byte
		want crypto.Signer
	}{
		{"PKCS#8 ECDSA", pemBlock("PRIVATE KEY", pkcs8(ec)), ec},
		{"PKCS#8 RSA", pemBlock("PRIVATE KEY", pkcs8(rsaKey)), rsaKey},
		{"PKCS#8 Ed25519", pemBlock("PRIVATE KEY", pkcs8(edKey)), edKey},
		{"PKCS#1 RSA", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), rsaKey},
		{"SEC 1 ECDSA", pemBlock("EC PRIVATE KEY", sec1), ec},
		{"SEC 1 after EC PARAMETERS", append(ecParams, pemBlock("EC PRIVATE KEY", sec1)...), ec},
		{"key after certificate", append(pemBlock("CERTIFICATE", testRoot(t, KeyECDSAP256).Cert.Raw), pemBlock("PRIVATE KEY", pkcs8(ec))...), ec},
		{"DER PKCS#8", pkcs8(ec), ec},
		{"DER PKCS#1", x509.MarshalPKCS1PrivateKey(rsaKey), rsaKey},
		{"DER SEC 1", sec1, ec},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePrivateKey(tt.data)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(tt.want.Public()) {
				t.Fatal("parsed a different key")
			}
		})
	}

	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	legacyEncrypted := pem.EncodeToMemory(&pem.Block{
		Type:    "RSA PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00000000000000000000000000000000"},
		Bytes:   []byte("ciphertext"),
	})
	bad := []struct {
		name string
		data []byte
		want error
	}{
		{"nil", nil, ErrNotPrivateKey},
		{"garbage", []byte("hello"), ErrNotPrivateKey},
		{"certificate", pemBlock("CERTIFICATE", testRoot(t, KeyECDSAP256).Cert.Raw), ErrNotPrivateKey},
		{"EC PARAMETERS only", ecParams, ErrNotPrivateKey},
		{"bad PKCS#8 DER", pemBlock("PRIVATE KEY", []byte{0x30, 0x03, 0x02, 0x01, 0x00}), ErrNotPrivateKey},
		{"PKCS#1 in a PKCS#8 block", pemBlock("PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), ErrNotPrivateKey},
		{"encrypted PKCS#8", pemBlock("ENCRYPTED PRIVATE KEY", []byte{0x30, 0x00}), ErrEncryptedKey},
		{"encrypted legacy PEM", legacyEncrypted, ErrEncryptedKey},
		{"X25519", pemBlock("PRIVATE KEY", pkcs8(x25519)), ErrUnsupportedKey},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			key, err := ParsePrivateKey(tt.data)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParsePrivateKey = %v, %v; want %v", key, err, tt.want)
			}
		})
	}
}

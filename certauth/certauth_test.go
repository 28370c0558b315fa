package certauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

type testCert struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// mint makes a certificate from tmpl signed by parent (self-signed when parent is nil).
func mint(t *testing.T, tmpl *x509.Certificate, parent *testCert) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = now.Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = now.Add(24 * time.Hour)
	}
	signer, issuer := key, tmpl
	if parent != nil {
		signer, issuer = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{c, key}
}

func caTmpl(cn string) *x509.Certificate {
	return &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
}

func clientTmpl(cn string, eku ...x509.ExtKeyUsage) *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: eku,
	}
}

func TestParseThumbprint(t *testing.T) {
	const sha1 = "A1B2C3D4E5F60718293A4B5C6D7E8F9001122334"
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{"upper sha1", sha1, sha1, false},
		{"lower with colons", "a1:b2:c3:d4:e5:f6:07:18:29:3a:4b:5c:6d:7e:8f:90:01:12:23:34", sha1, false},
		{"spaces and windows mark", "\u200ea1 b2 c3 d4 e5 f6 07 18 29 3a 4b 5c 6d 7e 8f 90 01 12 23 34", sha1, false},
		{"sha256", "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF", "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF", false},
		{"empty", "", "", true},
		{"too short", "abcd", "", true},
		{"not hex", "g1b2c3d4e5f60718293a4b5c6d7e8f9001122334", "", true},
		{"md5 length", "00112233445566778899aabbccddeeff", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseThumbprint(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrBadThumbprint) {
					t.Fatalf("ParseThumbprint(%q) = %q, %v; want ErrBadThumbprint", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseThumbprint(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestCheckRoot(t *testing.T) {
	root := mint(t, caTmpl("root"), nil)
	leaf := mint(t, &x509.Certificate{Subject: pkix.Name{CommonName: "leaf"}, BasicConstraintsValid: true}, root)
	noBC := mint(t, &x509.Certificate{Subject: pkix.Name{CommonName: "old root"}, KeyUsage: x509.KeyUsageCertSign}, nil)
	bare := mint(t, &x509.Certificate{Subject: pkix.Name{CommonName: "bare"}}, nil)
	expiredT := caTmpl("expired")
	expiredT.NotBefore, expiredT.NotAfter = now.Add(-48*time.Hour), now.Add(-24*time.Hour)
	expired := mint(t, expiredT, nil)
	noSign := caTmpl("nosign")
	noSign.KeyUsage = x509.KeyUsageDigitalSignature
	noSignC := mint(t, noSign, nil)

	tests := []struct {
		name string
		cert *x509.Certificate
		want error
	}{
		{"CA root", root.cert, nil},
		{"self-signed without basic constraints but certSign", noBC.cert, ErrNotCA},
		{"end-entity", leaf.cert, ErrNotCA},
		{"no CA marks at all", bare.cert, ErrNotCA},
		{"key usage without certSign", noSignC.cert, ErrNotCA},
		{"expired", expired.cert, ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckRoot(tt.cert, now)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("CheckRoot = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	root := mint(t, caTmpl("root"), nil)
	other := mint(t, caTmpl("other root"), nil)
	inter := mint(t, caTmpl("intermediate"), root)
	alice := mint(t, clientTmpl("alice@example.com", x509.ExtKeyUsageClientAuth), root)
	bob := mint(t, clientTmpl("bob", x509.ExtKeyUsageClientAuth), inter)
	server := mint(t, clientTmpl("server", x509.ExtKeyUsageServerAuth), root)
	noEKU := mint(t, clientTmpl("noeku"), root)
	stranger := mint(t, clientTmpl("stranger", x509.ExtKeyUsageClientAuth), other)
	oldT := clientTmpl("old", x509.ExtKeyUsageClientAuth)
	oldT.NotBefore, oldT.NotAfter = now.Add(-48*time.Hour), now.Add(-time.Hour)
	old := mint(t, oldT, root)

	var p Policy
	p.SetRoots(map[string]*x509.Certificate{"P2SRoot": root.cert})
	aliceSHA1, _ := Thumbprints(alice.cert.Raw)
	_, interSHA256 := Thumbprints(inter.cert.Raw)

	tests := []struct {
		name     string
		leaf     *testCert
		inter    []*x509.Certificate
		revoked  map[string]string
		want     error
		wantName string
	}{
		{"direct child of root", alice, nil, nil, nil, "alice@example.com"},
		{"through intermediate", bob, []*x509.Certificate{inter.cert}, nil, nil, "bob"},
		{"intermediate missing", bob, nil, nil, ErrUntrusted, ""},
		{"other root", stranger, nil, nil, ErrUntrusted, ""},
		{"serverAuth only", server, nil, nil, ErrWrongUsage, ""},
		{"no EKU", noEKU, nil, nil, ErrWrongUsage, ""},
		{"expired", old, nil, nil, ErrExpired, ""},
		{"leaf revoked by SHA-1", alice, nil, map[string]string{aliceSHA1: "lost laptop"}, ErrRevoked, ""},
		{"intermediate revoked by SHA-256", bob, []*x509.Certificate{inter.cert}, map[string]string{interSHA256: "old CA"}, ErrRevoked, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.SetRevoked(tt.revoked)
			id, err := p.Verify(tt.leaf.cert, tt.inter, now)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("Verify = %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if id.Name != tt.wantName || id.Root != "P2SRoot" {
				t.Errorf("identity = %q from root %q, want %q from P2SRoot", id.Name, id.Root, tt.wantName)
			}
		})
	}

	t.Run("removing the root untrusts its clients", func(t *testing.T) {
		p.SetRevoked(nil)
		p.SetRoots(nil)
		if _, err := p.Verify(alice.cert, nil, now); !errors.Is(err, ErrUntrusted) {
			t.Fatalf("Verify after root removal = %v, want ErrUntrusted", err)
		}
	})
}

func TestZeroPolicyTrustsNothing(t *testing.T) {
	root := mint(t, caTmpl("root"), nil)
	alice := mint(t, clientTmpl("alice", x509.ExtKeyUsageClientAuth), root)
	var p Policy
	if _, err := p.Verify(alice.cert, nil, now); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("zero Policy Verify = %v, want ErrUntrusted", err)
	}
}

func FuzzParseThumbprint(f *testing.F) {
	for _, s := range []string{"", "a1:b2", "A1B2C3D4E5F60718293A4B5C6D7E8F9001122334", "\u200eff ff", "zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseThumbprint(s)
		if err != nil {
			return
		}
		if len(got) != 40 && len(got) != 64 {
			t.Fatalf("ParseThumbprint(%q) = %q: wrong length", s, got)
		}
		again, err := ParseThumbprint(got)
		if err != nil || again != got {
			t.Fatalf("not idempotent: %q → %q → %q, %v", s, got, again, err)
		}
	})
}

package pki

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	oidBasicConstraints = "2.5.29.19"
	oidKeyUsage         = "2.5.29.15"
	oidSubjectAltName   = "2.5.29.17"
)

func TestNewRoot(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		wantKey  KeyType
		wantDays int
	}{
		{"defaults", Options{Now: fixedNow}, KeyECDSAP256, DefaultRootDays},
		{"ecdsa-p384", Options{Key: KeyECDSAP384, Now: fixedNow}, KeyECDSAP384, DefaultRootDays},
		{"rsa-2048 10 days", Options{Key: KeyRSA2048, Days: 10, Now: fixedNow}, KeyRSA2048, 10},
		{"rsa-3072", Options{Key: KeyRSA3072, Now: fixedNow}, KeyRSA3072, DefaultRootDays},
		{"rsa-4096 max days", Options{Key: KeyRSA4096, Days: MaxDays, Now: fixedNow}, KeyRSA4096, MaxDays},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca, err := NewRoot("Contoso P2S Root", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			c := ca.Cert
			if c.Subject.CommonName != "Contoso P2S Root" || c.Issuer.CommonName != "Contoso P2S Root" {
				t.Errorf("subject %q, issuer %q", c.Subject, c.Issuer)
			}
			if !c.BasicConstraintsValid || !c.IsCA || c.MaxPathLen > 0 || c.MaxPathLenZero {
				t.Errorf("basic constraints: valid %v, CA %v, pathlen %d/%v; want CA without limit",
					c.BasicConstraintsValid, c.IsCA, c.MaxPathLen, c.MaxPathLenZero)
			}
			if c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
				t.Errorf("key usage %b, want certSign|cRLSign", c.KeyUsage)
			}
			if crit := criticalExtensions(c); !crit[oidBasicConstraints] || !crit[oidKeyUsage] {
				t.Errorf("critical extensions %v: want basic constraints and key usage", crit)
			}
			if len(c.ExtKeyUsage) != 0 || len(c.UnknownExtKeyUsage) != 0 {
				t.Errorf("a root has EKUs %v %v", c.ExtKeyUsage, c.UnknownExtKeyUsage)
			}
			if len(c.SubjectKeyId) != 20 {
				t.Errorf("subject key id %x: want 20 bytes", c.SubjectKeyId)
			}
			if err := c.CheckSignatureFrom(c); err != nil {
				t.Errorf("self-signature: %v", err)
			}
			if c.SignatureAlgorithm != wantSignatureAlgorithm(tt.wantKey) {
				t.Errorf("signature algorithm %v, want %v", c.SignatureAlgorithm, wantSignatureAlgorithm(tt.wantKey))
			}
			checkKeyType(t, c.PublicKey, tt.wantKey)
			checkSerial(t, c)
			if !KeyMatches(c, ca.Key) {
				t.Error("key does not match the certificate")
			}
			if want := testNow.Add(-5 * time.Minute); !c.NotBefore.Equal(want) {
				t.Errorf("NotBefore %v, want %v", c.NotBefore, want)
			}
			if want := testNow.AddDate(0, 0, tt.wantDays); !c.NotAfter.Equal(want) {
				t.Errorf("NotAfter %v, want %v", c.NotAfter, want)
			}
		})
	}
}

func TestNewRootSerialsDiffer(t *testing.T) {
	a, err := NewRoot("a", Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewRoot("a", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Cert.SerialNumber.Cmp(b.Cert.SerialNumber) == 0 {
		t.Fatal("two roots got the same serial number")
	}
}

func TestNewRootRejects(t *testing.T) {
	tests := []struct {
		name string
		cn   string
		opts Options
		want error
	}{
		{"empty name", "", Options{}, ErrInvalidName},
		{"blank name", "   ", Options{}, ErrInvalidName},
		{"65 characters", strings.Repeat("x", 65), Options{}, ErrInvalidName},
		{"control character", "root\n", Options{}, ErrInvalidName},
		{"leading space", " root", Options{}, ErrInvalidName},
		{"invalid UTF-8", "root\xff", Options{}, ErrInvalidName},
		{"negative days", "root", Options{Days: -1}, ErrInvalidDays},
		{"too many days", "root", Options{Days: MaxDays + 1}, ErrInvalidDays},
		{"unknown key", "root", Options{Key: "dsa-1024"}, ErrKeyType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca, err := NewRoot(tt.cn, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("NewRoot(%q) = %v, %v; want %v", tt.cn, ca, err, tt.want)
			}
		})
	}
}

func TestNewRootAcceptsLongestName(t *testing.T) {
	for _, cn := range []string{strings.Repeat("x", 64), strings.Repeat("é", 64), "Contoso Root (Zürich) — 2026"} {
		ca, err := NewRoot(cn, Options{})
		if err != nil {
			t.Fatalf("NewRoot(%q): %v", cn, err)
		}
		if ca.Cert.Subject.CommonName != cn {
			t.Errorf("CN %q, want %q", ca.Cert.Subject.CommonName, cn)
		}
	}
}

func TestCAWriteFilesAndLoad(t *testing.T) {
	ca := testRoot(t, KeyECDSAP256)
	dir := filepath.Join(t.TempDir(), "new", "root")
	if err := ca.WriteFiles(dir, "root"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || fi.Mode().Perm()&0o022 != 0 {
		t.Fatalf("dir: %v, %v; want a directory not writable by others", fi, err)
	}
	wantPerm := map[string]os.FileMode{"root.crt": 0o644, "root.cer": 0o644, "root.key": 0o600}
	for name, perm := range wantPerm {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != perm {
			t.Errorf("%s has mode %v, want %v", name, fi.Mode().Perm(), perm)
		}
	}
	der, _ := os.ReadFile(filepath.Join(dir, "root.cer"))
	if !bytes.Equal(der, ca.Cert.Raw) {
		t.Error("root.cer is not the DER certificate")
	}
	crt, _ := os.ReadFile(filepath.Join(dir, "root.crt"))
	if b, rest := pem.Decode(crt); b == nil || b.Type != "CERTIFICATE" || !bytes.Equal(b.Bytes, ca.Cert.Raw) || len(rest) != 0 {
		t.Error("root.crt is not one PEM CERTIFICATE block of the certificate")
	}
	key, _ := os.ReadFile(filepath.Join(dir, "root.key"))
	if b, _ := pem.Decode(key); b == nil || b.Type != "PRIVATE KEY" {
		t.Errorf("root.key is not a PEM PRIVATE KEY block")
	}

	for _, certFile := range []string{"root.crt", "root.cer"} {
		loaded, err := LoadCA(filepath.Join(dir, certFile), filepath.Join(dir, "root.key"))
		if err != nil {
			t.Fatalf("LoadCA(%s): %v", certFile, err)
		}
		if !loaded.Cert.Equal(ca.Cert) || !KeyMatches(ca.Cert, loaded.Key) {
			t.Errorf("LoadCA(%s) returned a different CA", certFile)
		}
	}
}

func TestLoadCARejects(t *testing.T) {
	dir := t.TempDir()
	ecRoot := testRoot(t, KeyECDSAP256)
	if err := ecRoot.WriteFiles(dir, "ec"); err != nil {
		t.Fatal(err)
	}
	if err := testRoot(t, KeyRSA2048).WriteFiles(dir, "rsa"); err != nil {
		t.Fatal(err)
	}
	leaf, err := ecRoot.IssueClient("alice", Options{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.WriteFiles(dir, "leaf"); err != nil {
		t.Fatal(err)
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	tests := []struct {
		name      string
		cert, key string
		want      error
	}{
		{"key of another root", p("ec.crt"), p("rsa.key"), ErrKeyMismatch},
		{"leaf certificate", p("leaf.crt"), p("leaf.key"), ErrNotCA},
		{"key file is a certificate", p("ec.crt"), p("ec.crt"), ErrNotPrivateKey},
		{"certificate file is a key", p("ec.key"), p("ec.key"), ErrNotCertificate},
		{"missing certificate", p("nope.crt"), p("ec.key"), os.ErrNotExist},
		{"missing key", p("ec.crt"), p("nope.key"), os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca, err := LoadCA(tt.cert, tt.key)
			if !errors.Is(err, tt.want) {
				t.Fatalf("LoadCA = %v, %v; want %v", ca, err, tt.want)
			}
		})
	}
}

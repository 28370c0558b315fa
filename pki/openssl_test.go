package pki

import (
	"bytes"
	"encoding/pem"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// These tests hand the files p2sgw writes to OpenSSL, the reference reader: a certificate
// OpenSSL refuses is one strongSwan and FreeRADIUS will refuse too.

// openssl returns a runner for the openssl binary, or skips the test without one (fails in CI).
func openssl(t *testing.T) func(args ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("openssl is required in CI: %v", err)
		}
		t.Skipf("skipping the OpenSSL interoperability checks: %v", err)
	}
	return func(args ...string) (string, error) {
		out, err := exec.Command(bin, args...).CombinedOutput()
		return string(out), err
	}
}

// opensslFingerprint returns openssl's fingerprint of a PEM certificate file without colons.
func opensslFingerprint(t *testing.T, run func(...string) (string, error), file, hash string) string {
	t.Helper()
	out, err := run("x509", "-in", file, "-noout", "-fingerprint", "-"+hash)
	if err != nil {
		t.Fatalf("openssl x509 -fingerprint: %v\n%s", err, out)
	}
	_, fp, ok := strings.Cut(strings.TrimSpace(out), "=")
	if !ok {
		t.Fatalf("unexpected openssl output %q", out)
	}
	return strings.ReplaceAll(fp, ":", "")
}

func TestOpenSSLInterop(t *testing.T) {
	run := openssl(t)
	for _, key := range []KeyType{KeyECDSAP256, KeyRSA2048, KeyECDSAP384} {
		t.Run(string(key), func(t *testing.T) {
			dir := t.TempDir()
			p := func(name string) string { return filepath.Join(dir, name) }
			ca, err := NewRoot("Interop Root", Options{Key: key})
			if err != nil {
				t.Fatal(err)
			}
			client, err := ca.IssueClient("alice@example.com", Options{Key: key})
			if err != nil {
				t.Fatal(err)
			}
			server, err := ca.IssueServer([]string{"vpn.example.com"}, []netip.Addr{netip.MustParseAddr("198.18.0.1")}, Options{Key: key})
			if err != nil {
				t.Fatal(err)
			}
			const password = "Interop-Pass-1"
			for _, err := range []error{
				ca.WriteFiles(dir, "root"),
				client.WriteFiles(dir, "client"),
				client.WritePKCS12(dir, "client", password, false),
				client.WritePKCS12(dir, "client-modern", password, true),
				server.WriteFiles(dir, "server"),
			} {
				if err != nil {
					t.Fatal(err)
				}
			}

			mustVerify := func(args ...string) {
				t.Helper()
				out, err := run(append([]string{"verify", "-x509_strict", "-CAfile", p("root.crt")}, args...)...)
				if err != nil || !strings.Contains(out, ": OK") {
					t.Errorf("openssl verify %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}
			mustVerify(p("client.crt"))
			mustVerify("-purpose", "sslclient", p("client.crt"))
			mustVerify(p("server.crt"))
			mustVerify("-purpose", "sslserver", p("server.crt"))
			if out, err := run("verify", "-CAfile", p("root.crt"), "-purpose", "sslserver", p("client.crt")); err == nil {
				t.Errorf("openssl accepts the client certificate as a server certificate:\n%s", out)
			}

			for _, f := range []struct {
				file string
				der  []byte
			}{{"root.crt", ca.Cert.Raw}, {"client.crt", client.Cert.Raw}, {"server.crt", server.Cert.Raw}} {
				tp := ThumbprintsOf(f.der)
				if got := opensslFingerprint(t, run, p(f.file), "sha1"); got != tp.SHA1 {
					t.Errorf("%s: openssl SHA-1 %s, ours %s", f.file, got, tp.SHA1)
				}
				if got := opensslFingerprint(t, run, p(f.file), "sha256"); got != tp.SHA256 {
					t.Errorf("%s: openssl SHA-256 %s, ours %s", f.file, got, tp.SHA256)
				}
			}

			checkText(t, run, p("root.crt"), "CA:TRUE", "Certificate Sign, CRL Sign", "X509v3 Subject Key Identifier")
			checkText(t, run, p("client.crt"), "TLS Web Client Authentication", "email:alice@example.com",
				"X509v3 Authority Key Identifier", "CA:FALSE")
			checkText(t, run, p("server.crt"), "TLS Web Server Authentication, 1.3.6.1.5.5.8.2.2",
				"DNS:vpn.example.com", "DNS:198.18.0.1", "IP Address:198.18.0.1", "Digital Signature")

			for _, p12 := range []string{p("client.p12"), p("client-modern.p12")} {
				out, err := run("pkcs12", "-in", p12, "-passin", "pass:"+password, "-nodes")
				if err != nil {
					legacyOut, legacyErr := run("pkcs12", "-legacy", "-in", p12, "-passin", "pass:"+password, "-nodes")
					t.Fatalf("openssl pkcs12 cannot read %s: %v\n%s\n(with -legacy: %v)\n%s", p12, err, out, legacyErr, legacyOut)
				}
				checkPKCS12Output(t, out, client, ca)
			}
			if out, err := run("pkcs12", "-in", p("client.p12"), "-passin", "pass:wrong", "-nodes"); err == nil {
				t.Errorf("openssl reads client.p12 with a wrong password:\n%s", out)
			}
			for _, k := range []string{"root.key", "client.key", "server.key"} {
				if out, err := run("pkey", "-in", p(k), "-noout"); err != nil {
					t.Errorf("openssl pkey %s: %v\n%s", k, err, out)
				}
			}
		})
	}
}

// checkText fails t unless `openssl x509 -text` of file shows every one of want.
func checkText(t *testing.T, run func(...string) (string, error), file string, want ...string) {
	t.Helper()
	out, err := run("x509", "-in", file, "-noout", "-text")
	if err != nil {
		t.Fatalf("openssl x509 -text %s: %v\n%s", file, err, out)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("openssl x509 -text %s does not show %q:\n%s", filepath.Base(file), w, out)
		}
	}
}

// checkPKCS12Output fails t unless the PEM that `openssl pkcs12 -nodes` printed holds the
// client's key, the client certificate and the root.
func checkPKCS12Output(t *testing.T, out string, client *Cert, ca *CA) {
	t.Helper()
	var certs [][]byte
	var keys int
	for rest := []byte(out); ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE":
			certs = append(certs, b.Bytes)
		case "PRIVATE KEY":
			keys++
			key, err := ParsePrivateKey(pem.EncodeToMemory(b))
			if err != nil || !KeyMatches(client.Cert, key) {
				t.Errorf("the PKCS#12 key is not the client's: %v", err)
			}
		}
	}
	has := func(der []byte) bool {
		for _, c := range certs {
			if bytes.Equal(c, der) {
				return true
			}
		}
		return false
	}
	if keys != 1 || len(certs) != 2 || !has(client.Cert.Raw) || !has(ca.Cert.Raw) {
		t.Errorf("PKCS#12 holds %d keys and %d certificates; want the client key, certificate and root:\n%s", keys, len(certs), out)
	}
}

// TestOpenSSLRootIssues loads a root made by OpenSSL (SEC 1 key after EC PARAMETERS, as
// `openssl ecparam -genkey` writes it; a PKCS#8 RSA key) and issues from it.
func TestOpenSSLRootIssues(t *testing.T) {
	run := openssl(t)
	tests := []struct {
		name   string
		genKey []string
	}{
		{"ecparam P-256", []string{"ecparam", "-name", "prime256v1", "-genkey"}},
		{"genpkey RSA", []string{"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := func(name string) string { return filepath.Join(dir, name) }
			if out, err := run(append(tt.genKey, "-out", p("root.key"))...); err != nil {
				t.Fatalf("openssl %s: %v\n%s", tt.genKey[0], err, out)
			}
			if out, err := run("req", "-x509", "-new", "-key", p("root.key"), "-subj", "/CN=OpenSSL Root", "-days", "30",
				"-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", p("root.crt")); err != nil {
				t.Fatalf("openssl req: %v\n%s", err, out)
			}
			ca, err := LoadCA(p("root.crt"), p("root.key"))
			if err != nil {
				t.Fatal(err)
			}
			client, err := ca.IssueClient("alice", Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := client.WriteFiles(dir, "client"); err != nil {
				t.Fatal(err)
			}
			if out, err := run("verify", "-x509_strict", "-CAfile", p("root.crt"), "-purpose", "sslclient", p("client.crt")); err != nil {
				t.Errorf("openssl verify: %v\n%s", err, out)
			}
		})
	}
}

package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/pki"
	"software.sslmate.com/src/go-pkcs12"
)

// pkiRun runs the command line args in-process and returns its exit status and output.
func pkiRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &cmdEnv{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	code = run(context.Background(), env, args)
	return code, out.String(), errOut.String()
}

// pkiMustRun runs args and fails t unless they succeed.
func pkiMustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := pkiRun(t, args...)
	if code != 0 {
		t.Fatalf("p2sgw %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// pkiNewRoot creates a root with the CLI in a new directory and returns the directory.
func pkiNewRoot(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "root")
	pkiMustRun(t, "pki", "create-root", "--cn", "Test Root", "--out", dir)
	return dir
}

// pkiCheckMode fails t unless path exists with permission bits perm.
func pkiCheckMode(t *testing.T, path string, perm os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != perm {
		t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), perm)
	}
}

// pkiReadChain returns the certificates of a PEM chain file, in order.
func pkiReadChain(t *testing.T, path string) []*x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			t.Fatalf("%s holds a %s block", path, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	return certs
}

// pkiCheckFailure fails t unless args exit with wantCode and stderr holds want.
func pkiCheckFailure(t *testing.T, args []string, wantCode int, want string) {
	t.Helper()
	code, out, errOut := pkiRun(t, args...)
	if code != wantCode || !strings.Contains(errOut, want) {
		t.Errorf("p2sgw %s: exit %d, stderr %q; want exit %d and %q (stdout %q)",
			strings.Join(args, " "), code, errOut, wantCode, want, out)
	}
}

func TestPKICreateRoot(t *testing.T) {
	tests := []struct {
		name     string
		extra    []string
		wantRSA  int // modulus bits; 0 for P-256
		wantDays int
	}{
		{"defaults", nil, 0, pki.DefaultRootDays},
		{"rsa-2048 for 30 days", []string{"--key", "rsa-2048", "--days", "30"}, 2048, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "not", "yet", "there")
			start := time.Now()
			out := pkiMustRun(t, append([]string{"pki", "create-root", "--cn", "Contoso P2S Root", "--out", dir}, tt.extra...)...)

			pkiCheckMode(t, filepath.Join(dir, "root.key"), 0o600)
			pkiCheckMode(t, filepath.Join(dir, "root.crt"), 0o644)
			pkiCheckMode(t, filepath.Join(dir, "root.cer"), 0o644)
			der, err := os.ReadFile(filepath.Join(dir, "root.cer"))
			if err != nil {
				t.Fatal(err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatalf("root.cer is not DER: %v", err)
			}
			if chain := pkiReadChain(t, filepath.Join(dir, "root.crt")); len(chain) != 1 || !chain[0].Equal(cert) {
				t.Error("root.crt is not the PEM of root.cer")
			}
			if cert.Subject.CommonName != "Contoso P2S Root" || !cert.IsCA {
				t.Errorf("subject %q CA %v", cert.Subject, cert.IsCA)
			}
			switch k := cert.PublicKey.(type) {
			case *ecdsa.PublicKey:
				if tt.wantRSA != 0 || k.Curve != elliptic.P256() {
					t.Errorf("key on %v, want RSA-%d", k.Curve.Params().Name, tt.wantRSA)
				}
			case *rsa.PublicKey:
				if k.N.BitLen() != tt.wantRSA {
					t.Errorf("RSA-%d key, want %d bits", k.N.BitLen(), tt.wantRSA)
				}
			}
			if days := cert.NotAfter.Sub(start).Hours() / 24; days < float64(tt.wantDays)-1 || days > float64(tt.wantDays)+1 {
				t.Errorf("valid for %.1f days, want %d", days, tt.wantDays)
			}
			if _, err := pki.LoadCA(filepath.Join(dir, "root.crt"), filepath.Join(dir, "root.key")); err != nil {
				t.Errorf("the written root does not load: %v", err)
			}

			tp := pki.ThumbprintsOf(der)
			for _, want := range []string{
				filepath.Join(dir, "root.crt"), filepath.Join(dir, "root.cer"), filepath.Join(dir, "root.key"),
				tp.SHA1, tp.SHA256, "Next:",
				"p2sgw root-cert add --name Contoso-P2S-Root --file " + filepath.Join(dir, "root.cer"),
			} {
				if !strings.Contains(out, want) {
					t.Errorf("output does not mention %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestPKICreateRootRefusesToOverwrite(t *testing.T) {
	dir := pkiNewRoot(t)
	keyPath := filepath.Join(dir, "root.key")
	before, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	pkiCheckFailure(t, []string{"pki", "create-root", "--cn", "Other", "--out", dir}, 1, "--force")
	if after, _ := os.ReadFile(keyPath); !bytes.Equal(before, after) {
		t.Fatal("root.key changed without --force")
	}
	pkiMustRun(t, "pki", "create-root", "--cn", "Other", "--out", dir, "--force")
	if after, _ := os.ReadFile(keyPath); bytes.Equal(before, after) {
		t.Fatal("root.key unchanged with --force")
	}
	if c, err := pki.ReadCertificate(filepath.Join(dir, "root.cer")); err != nil || c.Subject.CommonName != "Other" {
		t.Fatalf("root.cer after --force: %v, %v", c, err)
	}
}

func TestPKICreateRootJSON(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "r")
	out := pkiMustRun(t, "pki", "create-root", "--cn", "J", "--out", dir, "--json")
	var res struct {
		Subject string            `json:"subject"`
		KeyType string            `json:"key_type"`
		SHA1    string            `json:"sha1"`
		Files   map[string]string `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	der, _ := os.ReadFile(filepath.Join(dir, "root.cer"))
	if res.Subject != "J" || res.KeyType != "ecdsa-p256" || res.SHA1 != pki.ThumbprintsOf(der).SHA1 ||
		res.Files["cer"] != filepath.Join(dir, "root.cer") || res.Files["key"] != filepath.Join(dir, "root.key") {
		t.Errorf("JSON %+v", res)
	}
}

func TestPKICreateRootUsageErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing --cn", []string{"--out", dir}, "--cn is required"},
		{"missing --out", []string{"--cn", "R"}, "--out is required"},
		{"bad --key", []string{"--cn", "R", "--out", dir, "--key", "dsa"}, "use one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096"},
		{"zero days", []string{"--cn", "R", "--out", dir, "--days", "0"}, "use 1 to 36500"},
		{"too many days", []string{"--cn", "R", "--out", dir, "--days", "36501"}, "use 1 to 36500"},
		{"long name", []string{"--cn", strings.Repeat("r", 65), "--out", dir}, "at most 64"},
		{"stray argument", []string{"--cn", "R", "--out", dir, "extra"}, `unexpected argument "extra"`},
		{"unknown flag", []string{"--cn", "R", "--out", dir, "--colour"}, "colour"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkiCheckFailure(t, append([]string{"pki", "create-root"}, tt.args...), 2, tt.want)
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "root.key")); err == nil {
		t.Error("a failed create-root wrote root.key")
	}
}

var pkiPasswordLine = regexp.MustCompile(`PKCS#12 password: ([A-Z2-7]{16})\n`)

// DER of the PKCS#12 encryption OIDs: pbeWithSHAAnd3-KeyTripleDES-CBC and PBES2.
var (
	pkiOID3DES  = []byte{0x06, 0x0a, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, 0x03}
	pkiOIDPBES2 = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d}
)

func TestPKIIssueClient(t *testing.T) {
	root := pkiNewRoot(t)
	rootCert, err := pki.ReadCertificate(filepath.Join(root, "root.cer"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		cn        string
		extra     []string
		password  string // "" if generated
		modern    bool
		wantEmail []string
		wantDNS   []string
	}{
		{"email, generated password", "alice@example.com", nil, "", false, []string{"alice@example.com"}, nil},
		{"device, own password, modern", "bob-laptop", []string{"--p12-password", "s3cret pass", "--p12-modern", "--key", "rsa-2048"},
			"s3cret pass", true, nil, []string{"bob-laptop"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			out := pkiMustRun(t, append([]string{"pki", "issue-client", "--root", root, "--cn", tt.cn, "--out", dir}, tt.extra...)...)

			pkiCheckMode(t, filepath.Join(dir, "client.key"), 0o600)
			pkiCheckMode(t, filepath.Join(dir, "client.p12"), 0o600)
			pkiCheckMode(t, filepath.Join(dir, "client.crt"), 0o644)
			chain := pkiReadChain(t, filepath.Join(dir, "client.crt"))
			if len(chain) != 2 || !chain[1].Equal(rootCert) {
				t.Fatalf("client.crt: want the client certificate then the root, got %d certificates", len(chain))
			}
			cert := chain[0]
			if cert.Subject.CommonName != tt.cn || !slices.Equal(cert.EmailAddresses, tt.wantEmail) || !slices.Equal(cert.DNSNames, tt.wantDNS) {
				t.Errorf("subject %q, email %v, DNS %v", cert.Subject, cert.EmailAddresses, cert.DNSNames)
			}
			if !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
				t.Errorf("EKU %v, want clientAuth", cert.ExtKeyUsage)
			}
			keyPEM, _ := os.ReadFile(filepath.Join(dir, "client.key"))
			if key, err := pki.ParsePrivateKey(keyPEM); err != nil || !pki.KeyMatches(cert, key) {
				t.Errorf("client.key does not belong to client.crt: %v", err)
			}

			password := tt.password
			m := pkiPasswordLine.FindStringSubmatch(out)
			if tt.password == "" {
				if m == nil {
					t.Fatalf("no generated password in the output:\n%s", out)
				}
				password = m[1]
			} else if m != nil || strings.Contains(out, tt.password) {
				t.Errorf("the output shows a password the user gave:\n%s", out)
			}
			p12, _ := os.ReadFile(filepath.Join(dir, "client.p12"))
			key, p12Cert, cas, err := pkcs12.DecodeChain(p12, password)
			if err != nil {
				t.Fatalf("client.p12 with password %q: %v", password, err)
			}
			if !p12Cert.Equal(cert) || len(cas) != 1 || !cas[0].Equal(rootCert) {
				t.Error("client.p12 does not hold the client certificate and the root")
			}
			if signer, ok := key.(crypto.Signer); !ok || !pki.KeyMatches(cert, signer) {
				t.Error("client.p12 does not hold the client's key")
			}
			if bytes.Contains(p12, pkiOIDPBES2) != tt.modern || bytes.Contains(p12, pkiOID3DES) == tt.modern {
				t.Errorf("client.p12 encoding: modern = %v wanted", tt.modern)
			}
			for _, want := range []string{filepath.Join(dir, "client.p12"), pki.ThumbprintsOf(cert.Raw).SHA1, "Next:"} {
				if !strings.Contains(out, want) {
					t.Errorf("output does not mention %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestPKIIssueClientJSON(t *testing.T) {
	root := pkiNewRoot(t)
	dir := filepath.Join(t.TempDir(), "c")
	out := pkiMustRun(t, "pki", "issue-client", "--root", root, "--cn", "carol", "--out", dir, "--json")
	var res struct {
		Subject     string            `json:"subject"`
		Issuer      string            `json:"issuer"`
		P12Password string            `json:"p12_password"`
		P12Encoding string            `json:"p12_encoding"`
		SHA256      string            `json:"sha256"`
		Files       map[string]string `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	p12, err := os.ReadFile(res.Files["p12"])
	if err != nil {
		t.Fatal(err)
	}
	_, cert, _, err := pkcs12.DecodeChain(p12, res.P12Password)
	if err != nil {
		t.Fatalf("client.p12 with the JSON password: %v", err)
	}
	if res.Subject != "carol" || res.Issuer != "Test Root" || res.P12Encoding != "legacy-3des" ||
		res.SHA256 != pki.ThumbprintsOf(cert.Raw).SHA256 {
		t.Errorf("JSON %+v", res)
	}
}

func TestPKIIssueClientFailures(t *testing.T) {
	root := pkiNewRoot(t)
	dir := t.TempDir()
	pkiMustRun(t, "pki", "issue-client", "--root", root, "--cn", "alice", "--out", dir)
	notRoot := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing --root", []string{"--cn", "a", "--out", dir}, 2, "--root is required"},
		{"missing --cn", []string{"--root", root, "--out", dir}, 2, "--cn is required"},
		{"missing --out", []string{"--root", root, "--cn", "a"}, 2, "--out is required"},
		{"bad --key", []string{"--root", root, "--cn", "a", "--out", t.TempDir(), "--key", "rsa-1024"}, 2, "use one of"},
		{"name with space", []string{"--root", root, "--cn", "Alice Smith", "--out", t.TempDir()}, 2, "letters, digits"},
		{"bad email", []string{"--root", root, "--cn", "alice@", "--out", t.TempDir()}, 2, "not an email address"},
		{"no root there", []string{"--root", notRoot, "--cn", "a", "--out", t.TempDir()}, 1, "--root " + notRoot},
		{"existing client.key", []string{"--root", root, "--cn", "bob", "--out", dir}, 1, "--force"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkiCheckFailure(t, append([]string{"pki", "issue-client"}, tt.args...), tt.code, tt.want)
		})
	}
	if chain := pkiReadChain(t, filepath.Join(dir, "client.crt")); chain[0].Subject.CommonName != "alice" {
		t.Error("a refused issue-client replaced client.crt")
	}
}

func TestPKIIssueServer(t *testing.T) {
	root := pkiNewRoot(t)
	rootCert, err := pki.ReadCertificate(filepath.Join(root, "root.crt"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "srv")
	code, out, errOut := pkiRun(t, "pki", "issue-server", "--root", root, "--dns", "vpn.example.com,gw.example.com",
		"--ip", "198.18.0.1", "--ip", "2001:db8::1", "--out", dir, "--days", "900")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "825") {
		t.Errorf("no warning about Apple's 825-day limit: %q", errOut)
	}
	pkiCheckMode(t, filepath.Join(dir, "server.key"), 0o600)
	pkiCheckMode(t, filepath.Join(dir, "server.crt"), 0o644)
	chain := pkiReadChain(t, filepath.Join(dir, "server.crt"))
	if len(chain) != 2 || !chain[1].Equal(rootCert) {
		t.Fatalf("server.crt: want the server certificate then the root, got %d certificates", len(chain))
	}
	cert := chain[0]
	wantDNS := []string{"vpn.example.com", "gw.example.com", "198.18.0.1", "2001:db8::1"}
	var ips []string
	for _, ip := range cert.IPAddresses {
		ips = append(ips, ip.String())
	}
	if cert.Subject.CommonName != "vpn.example.com" || !slices.Equal(cert.DNSNames, wantDNS) || !slices.Equal(ips, wantDNS[2:]) {
		t.Errorf("CN %q DNS %v IP %v", cert.Subject.CommonName, cert.DNSNames, ips)
	}
	if !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) ||
		len(cert.UnknownExtKeyUsage) != 1 || cert.UnknownExtKeyUsage[0].String() != "1.3.6.1.5.5.8.2.2" {
		t.Errorf("EKU %v %v", cert.ExtKeyUsage, cert.UnknownExtKeyUsage)
	}
	roots := x509.NewCertPool()
	roots.AddCert(rootCert)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "gw.example.com", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Errorf("verify: %v", err)
	}
	for _, want := range []string{"server_certificate: " + filepath.Join(dir, "server.crt"), "server_key: " + filepath.Join(dir, "server.key")} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not mention %q:\n%s", want, out)
		}
	}

	ipOnly := filepath.Join(t.TempDir(), "ip")
	pkiMustRun(t, "pki", "issue-server", "--root", root, "--ip", "198.18.0.1", "--out", ipOnly)
	if c := pkiReadChain(t, filepath.Join(ipOnly, "server.crt"))[0]; c.Subject.CommonName != "198.18.0.1" ||
		!slices.Equal(c.DNSNames, []string{"198.18.0.1"}) || len(c.IPAddresses) != 1 {
		t.Errorf("IP-only certificate: CN %q DNS %v IP %v", c.Subject.CommonName, c.DNSNames, c.IPAddresses)
	}
}

func TestPKIIssueServerFailures(t *testing.T) {
	root := pkiNewRoot(t)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no names", []string{"--root", root, "--out", t.TempDir()}, 2, "--dns"},
		{"bad --ip", []string{"--root", root, "--ip", "198.18.0.256", "--out", t.TempDir()}, 2, `--ip "198.18.0.256"`},
		{"bad --dns", []string{"--root", root, "--dns", "vpn..example.com", "--out", t.TempDir()}, 2, "not a host name"},
		{"missing --out", []string{"--root", root, "--dns", "gw"}, 2, "--out is required"},
		{"missing --root", []string{"--dns", "gw", "--out", t.TempDir()}, 2, "--root is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkiCheckFailure(t, append([]string{"pki", "issue-server"}, tt.args...), tt.code, tt.want)
		})
	}
}

func TestPKIThumbprint(t *testing.T) {
	root := pkiNewRoot(t)
	der, err := os.ReadFile(filepath.Join(root, "root.cer"))
	if err != nil {
		t.Fatal(err)
	}
	tp := pki.ThumbprintsOf(der)
	b64 := filepath.Join(t.TempDir(), "root.b64")
	if err := os.WriteFile(b64, []byte(base64.StdEncoding.EncodeToString(der)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := "SHA-1:   " + tp.SHA1 + "\nSHA-256: " + tp.SHA256 + "\n"
	for _, file := range []string{filepath.Join(root, "root.crt"), filepath.Join(root, "root.cer"), b64} {
		if out := pkiMustRun(t, "pki", "thumbprint", file); out != want {
			t.Errorf("thumbprint %s:\n%s\nwant:\n%s", filepath.Base(file), out, want)
		}
	}
	out := pkiMustRun(t, "pki", "thumbprint", filepath.Join(root, "root.cer"), "--json")
	var got map[string]string
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(got) != 2 || got["sha1"] != tp.SHA1 || got["sha256"] != tp.SHA256 {
		t.Errorf("JSON %v, want sha1 %s and sha256 %s", got, tp.SHA1, tp.SHA256)
	}
	if !regexp.MustCompile(`^[0-9A-F]{40}$`).MatchString(got["sha1"]) {
		t.Errorf("SHA-1 %q is not 40 upper-case hex digits", got["sha1"])
	}

	garbage := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(garbage, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	pkiCheckFailure(t, []string{"pki", "thumbprint"}, 2, "give one certificate file")
	pkiCheckFailure(t, []string{"pki", "thumbprint", b64, b64}, 2, "give one certificate file")
	pkiCheckFailure(t, []string{"pki", "thumbprint", garbage}, 1, "not a certificate")
	pkiCheckFailure(t, []string{"pki", "thumbprint", filepath.Join(root, "root.key")}, 1, "found PRIVATE KEY")
	pkiCheckFailure(t, []string{"pki", "thumbprint", filepath.Join(root, "missing.cer")}, 1, "no such file")
}

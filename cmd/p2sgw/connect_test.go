package main

import (
	"archive/zip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/p2sgw/p2sgw/pki"
)

// writeZip writes a zip with the given files.
func writeZip(t *testing.T, files map[string][]byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pkg.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, data := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

const settingsXML = `<?xml version="1.0" encoding="UTF-8"?>
<VpnProfile>
  <VpnServer>vpn.example.com</VpnServer>
  <VpnType>IkeV2,Sstp</VpnType>
  <Routes>10.1.0.0/16,10.2.0.0/24</Routes>
  <DnsServers>10.1.0.4</DnsServers>
  <GatewayIdentity>vpn.example.com</GatewayIdentity>
  <AuthMethod>Certificate</AuthMethod>
</VpnProfile>
`

func TestReadVPNPackage(t *testing.T) {
	root, err := pki.NewRoot("VpnServerRoot", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := readVPNPackage(writeZip(t, map[string][]byte{
		"Generic/VpnSettings.xml":   []byte(settingsXML),
		"Generic/VpnServerRoot.cer": root.Cert.Raw,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if p.server != "vpn.example.com" || p.identity != "vpn.example.com" || len(p.routes) != 2 || p.routes[1].String() != "10.2.0.0/24" || !p.root.Equal(root.Cert) {
		t.Fatalf("package read as %+v", p)
	}

	for _, tc := range []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{"no settings", map[string][]byte{"README.txt": []byte("hi")}, "is it a VPN client configuration package?"},
		{"SSTP only", map[string][]byte{"Generic/VpnSettings.xml": []byte(strings.Replace(settingsXML, "IkeV2,Sstp", "Sstp", 1))}, "not IKEv2"},
		{"bad route", map[string][]byte{"Generic/VpnSettings.xml": []byte(strings.Replace(settingsXML, "10.2.0.0/24", "10.2.0.0/33", 1))}, "route"},
		{"no root", map[string][]byte{"Generic/VpnSettings.xml": []byte(settingsXML)}, "VpnServerRoot.cer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := readVPNPackage(writeZip(t, tc.files)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := readVPNPackage(filepath.Join(t.TempDir(), "missing.zip")); err == nil || !strings.Contains(err.Error(), "vpn-client generate") {
		t.Fatalf("a missing file: %v", err)
	}
}

func TestMergeConnectFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "connect.yaml")
	os.WriteFile(path, []byte("server: 192.0.2.1\nserver_name: vpn.example.com\ncertificate: alice/client.crt\nkey: /abs/client.key\ntun: vpn0\n"), 0o644)
	f := connectFile{Server: "198.51.100.7"} // a flag: it wins
	if err := mergeConnectFile(path, &f); err != nil {
		t.Fatal(err)
	}
	if f.Server != "198.51.100.7" || f.ServerName != "vpn.example.com" || f.Certificate != filepath.Join(dir, "alice/client.crt") || f.Key != "/abs/client.key" || f.TUN != "vpn0" {
		t.Fatalf("merged: %+v", f)
	}
	os.WriteFile(path, []byte("sever: 192.0.2.1\n"), 0o644)
	if err := mergeConnectFile(path, &connectFile{}); err == nil || !strings.Contains(err.Error(), "sever") {
		t.Fatalf("an unknown key: %v", err)
	}
}

// TestConnectRefusals: what is missing or wrong is said before anything is touched.
func TestConnectRefusals(t *testing.T) {
	dir := t.TempDir()
	root, _ := pki.NewRoot("VpnServerRoot", pki.Options{})
	if err := root.WriteFiles(dir, "root"); err != nil {
		t.Fatal(err)
	}
	rootFile := filepath.Join(dir, "root.crt")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"connect", "--run-dir", dir}, 2, "no gateway"},
		{[]string{"connect", "--server", "192.0.2.1", "--run-dir", dir}, 2, "no server root"},
		{[]string{"connect", "--server", "192.0.2.1", "--server-root", rootFile, "--run-dir", dir}, 2, "no client certificate"},
		{[]string{"connect", "--server", "192.0.2.1", "--dns", "maybe", "--run-dir", dir}, 2, "--dns must be auto or off"},
		{[]string{"connect", "a.zip", "b.zip"}, 2, "one package at most"},
		{[]string{"connect", "--status", "--tun", "nope0", "--run-dir", dir}, 1, "no p2sgw connect is running"},
	} {
		code, _, stderr := pkiRun(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("p2sgw %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.want)
		}
	}
}

// FuzzParseVPNSettings: VpnSettings.xml comes from a file the user was sent; whatever it
// holds, parsing returns settings or an error, and every route it returns is a valid prefix.
func FuzzParseVPNSettings(f *testing.F) {
	f.Add([]byte(settingsXML))
	f.Add([]byte(strings.Replace(settingsXML, "10.2.0.0/24", "10.2.0.1/24, ,", 1)))
	f.Add([]byte("<VpnProfile><VpnType>IkeV2</VpnType><Routes>::/0</Routes></VpnProfile>"))
	f.Add([]byte("<VpnProfile><VpnType>IkeV2"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseVPNSettings(b)
		if err != nil {
			return
		}
		for _, r := range p.routes {
			if !r.IsValid() || r != r.Masked() {
				t.Fatalf("route %v", r)
			}
		}
	})
}

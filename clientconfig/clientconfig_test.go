package clientconfig

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// The fixtures were issued once with package pki and are committed: the gateway's root
// (which signed a server certificate for vpn.example.com and 192.0.2.1), and alice's
// ECDSA P-256 client certificate (chain: alice, then the client root), its PKCS#8 key and
// a legacy-encoded PKCS#12 file with the password p12Password.
const p12Password = "test-password"

type fixtures struct {
	root       *x509.Certificate
	aliceChain []*x509.Certificate
	aliceKey   []byte
	aliceP12   []byte
}

func loadFixtures(t testing.TB) fixtures {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	certs := func(name string) []*x509.Certificate {
		var out []*x509.Certificate
		rest := read(name)
		for {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				return out
			}
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			out = append(out, c)
		}
	}
	return fixtures{
		root:       certs("server-root.pem")[0],
		aliceChain: certs("alice.pem"),
		aliceKey:   read("alice.key"),
		aliceP12:   read("alice.p12"),
	}
}

func prefixes(s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range s {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

type goldenCase struct {
	name     string
	settings Settings
}

// goldenCases are the packages under golden test, one directory each in testdata/golden.
func goldenCases(f fixtures) []goldenCase {
	alice := &Client{
		Name:        "alice@example.com",
		Chain:       f.aliceChain,
		KeyPEM:      f.aliceKey,
		P12:         f.aliceP12,
		P12Password: p12Password,
	}
	return []goldenCase{
		{"certificate-ikev2-sstp-client", Settings{
			Name: "p2sgw VPN", Server: "vpn.example.com", TunnelTypes: []string{"ikev2", "sstp"},
			Auth: "certificate", Routes: prefixes("10.1.0.0/16", "10.2.0.0/16"), DNS: addrs("10.1.0.4"),
			ServerRoot: f.root, Client: alice,
		}},
		{"eap-mschapv2-ikev2", Settings{
			Name: "Contoso VPN", Server: "192.0.2.1", TunnelTypes: []string{"IKEv2", "openvpn"},
			Auth: "eap-mschapv2", Routes: prefixes("10.10.0.0/16", "fd00:10::/64"), DNS: addrs("10.10.0.4", "10.10.0.5"),
			ServerRoot: f.root,
		}},
		{"eap-mschapv2-ikev2-user", Settings{
			Name: "Contoso VPN", Server: "vpn.example.com", TunnelTypes: []string{"ikev2", "sstp"},
			Auth: "eap-mschapv2", Routes: prefixes("10.10.0.0/16"), ServerRoot: f.root,
			Client: &Client{Name: "bob"},
		}},
		{"eap-tls-sstp", Settings{
			Name: "p2sgw", Server: "vpn.example.com", TunnelTypes: []string{"sstp"},
			Auth: "eap-tls", Routes: prefixes("10.1.0.0/16"), DNS: addrs("10.1.0.4"), ServerRoot: f.root,
		}},
		{"eap-tls-ikev2-client", Settings{
			Name: "p2sgw", Server: "vpn.example.com", TunnelTypes: []string{"ikev2"},
			Auth: "eap-tls", Routes: prefixes("10.1.0.0/16"), ServerRoot: f.root,
			Client: &Client{Chain: f.aliceChain, KeyPEM: f.aliceKey, P12: f.aliceP12},
		}},
		{"certificate-ikev2-full-tunnel", Settings{
			Name: "p2sgw", Server: "vpn.example.com", TunnelTypes: []string{"ikev2"},
			Auth: "certificate", ServerRoot: f.root,
		}},
	}
}

// TestGolden compares every generated file with testdata/golden/<case>/<path>, byte for
// byte; go test ./clientconfig -update rewrites them.
func TestGolden(t *testing.T) {
	f := loadFixtures(t)
	for _, tc := range goldenCases(f) {
		t.Run(tc.name, func(t *testing.T) {
			files, err := Generate(tc.settings)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join("testdata", "golden", tc.name)
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				for name, data := range files {
					path := filepath.Join(dir, filepath.FromSlash(name))
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, data, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			golden := readTree(t, dir)
			if got, want := sortedKeys(files), sortedKeys(golden); !slices.Equal(got, want) {
				t.Fatalf("files:\n  got  %q\n  want %q", got, want)
			}
			for name, data := range files {
				if !bytes.Equal(data, golden[name]) {
					t.Errorf("%s differs from the golden file (go test ./clientconfig -update rewrites it):\n%s", name, firstDiff(data, golden[name]))
				}
			}
		})
	}
}

func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := make(map[string][]byte)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		out[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatalf("%v (run go test ./clientconfig -update to create the golden files)", err)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// firstDiff shows the first differing line of two texts.
func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n  got  " + gl + "\n  want " + wl
		}
	}
	return "(same lines, different bytes)"
}

// TestFilesPerSetting checks which files each kind of package holds.
func TestFilesPerSetting(t *testing.T) {
	f := loadFixtures(t)
	want := map[string][]string{
		"certificate-ikev2-sstp-client": {
			"Android/p2sgw-VPN.sswan", "Apple/p2sgw-VPN.mobileconfig",
			"Generic/VpnServerRoot.cer", "Generic/VpnServerRoot.pem", "Generic/VpnSettings.xml",
			"Linux/NetworkManager/p2sgw-VPN.nmconnection", "Linux/swanctl/private/client.key",
			"Linux/swanctl/swanctl.conf", "Linux/swanctl/x509/client.pem", "Linux/swanctl/x509ca/VpnServerRoot.pem",
			"README.txt", "Windows/VpnProfileSetup.ps1", "Windows/client.p12",
		},
		"eap-mschapv2-ikev2": {
			"Android/Contoso-VPN.sswan", "Apple/Contoso-VPN.mobileconfig",
			"Generic/VpnServerRoot.cer", "Generic/VpnServerRoot.pem", "Generic/VpnSettings.xml",
			"Linux/NetworkManager/Contoso-VPN.nmconnection", "Linux/swanctl/swanctl.conf",
			"Linux/swanctl/x509ca/VpnServerRoot.pem", "README.txt", "Windows/VpnProfileSetup.ps1",
		},
		"eap-tls-sstp": {
			"Generic/VpnServerRoot.cer", "Generic/VpnServerRoot.pem", "Generic/VpnSettings.xml",
			"README.txt", "Windows/VpnProfileSetup.ps1",
		},
		"certificate-ikev2-full-tunnel": {
			"Android/p2sgw.sswan",
			"Generic/VpnServerRoot.cer", "Generic/VpnServerRoot.pem", "Generic/VpnSettings.xml",
			"Linux/NetworkManager/p2sgw.nmconnection", "Linux/swanctl/swanctl.conf",
			"Linux/swanctl/x509ca/VpnServerRoot.pem", "README.txt", "Windows/VpnProfileSetup.ps1",
		},
	}
	for _, tc := range goldenCases(f) {
		w, ok := want[tc.name]
		if !ok {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			files, err := Generate(tc.settings)
			if err != nil {
				t.Fatal(err)
			}
			if got := sortedKeys(files); !slices.Equal(got, w) {
				t.Errorf("files:\n  got  %q\n  want %q", got, w)
			}
		})
	}
}

// TestNoSecretsLeak checks that the P12 password is nowhere and that the private key is
// only in the key file, the PKCS#12 only where it is meant to be.
func TestNoSecretsLeak(t *testing.T) {
	f := loadFixtures(t)
	for _, tc := range goldenCases(f) {
		t.Run(tc.name, func(t *testing.T) {
			files, err := Generate(tc.settings)
			if err != nil {
				t.Fatal(err)
			}
			for name, data := range files {
				if bytes.Contains(data, []byte(p12Password)) {
					t.Errorf("%s holds the PKCS#12 password", name)
				}
				if bytes.Contains(data, []byte("PRIVATE KEY")) && name != swanctlKey {
					t.Errorf("%s holds a private key", name)
				}
				if bytes.Equal(data, f.aliceP12) && name != windowsP12 {
					t.Errorf("%s is the PKCS#12 file", name)
				}
				embedsP12 := tc.settings.Client != nil && tc.settings.Client.P12 != nil &&
					(strings.HasPrefix(name, "Apple/") || strings.HasPrefix(name, "Android/"))
				if want := name == swanctlKey || name == windowsP12 || embedsP12; Private(name, data) != want {
					t.Errorf("Private(%s) = %v, want %v", name, !want, want)
				}
			}
		})
	}
}

func TestGenerateErrors(t *testing.T) {
	f := loadFixtures(t)
	good := Settings{Name: "p2sgw", Server: "vpn.example.com", TunnelTypes: []string{"ikev2"}, Auth: "certificate", ServerRoot: f.root}
	otherKey := []byte(strings.ReplaceAll(string(f.aliceKey), "A", "B")) // not a key any more
	tests := []struct {
		name   string
		change func(*Settings)
		want   error
	}{
		{"no name", func(s *Settings) { s.Name = " " }, ErrSettings},
		{"newline in name", func(s *Settings) { s.Name = "a\nb" }, ErrSettings},
		{"no server", func(s *Settings) { s.Server = "" }, ErrSettings},
		{"server with a space", func(s *Settings) { s.Server = "vpn example.com" }, ErrSettings},
		{"server with a quote", func(s *Settings) { s.Server = `vpn".com` }, ErrSettings},
		{"unknown tunnel", func(s *Settings) { s.TunnelTypes = []string{"l2tp"} }, ErrSettings},
		{"openvpn only", func(s *Settings) { s.TunnelTypes = []string{"openvpn"} }, ErrSettings},
		{"no tunnel", func(s *Settings) { s.TunnelTypes = nil }, ErrSettings},
		{"unknown auth", func(s *Settings) { s.Auth = "radius" }, ErrSettings},
		{"invalid route", func(s *Settings) { s.Routes = []netip.Prefix{{}} }, ErrSettings},
		{"invalid DNS", func(s *Settings) { s.DNS = []netip.Addr{{}} }, ErrSettings},
		{"no root", func(s *Settings) { s.ServerRoot = nil }, ErrSettings},
		{"certificate client without chain", func(s *Settings) { s.Client = &Client{Name: "alice"} }, ErrClient},
		{"mschapv2 with a certificate", func(s *Settings) {
			s.Auth = "eap-mschapv2"
			s.Client = &Client{Name: "alice", Chain: f.aliceChain}
		}, ErrClient},
		{"key of another certificate", func(s *Settings) {
			s.Client = &Client{Chain: []*x509.Certificate{f.root}, KeyPEM: f.aliceKey}
		}, ErrClient},
		{"broken key", func(s *Settings) { s.Client = &Client{Chain: f.aliceChain, KeyPEM: otherKey} }, ErrClient},
		{"wrong P12 password", func(s *Settings) {
			s.Client = &Client{Chain: f.aliceChain, P12: f.aliceP12, P12Password: "wrong"}
		}, ErrClient},
		{"P12 of another certificate", func(s *Settings) {
			s.Client = &Client{Chain: []*x509.Certificate{f.root}, P12: f.aliceP12, P12Password: p12Password}
		}, ErrClient},
		{"control character in client name", func(s *Settings) {
			s.Client = &Client{Name: "alice\x00", Chain: f.aliceChain}
		}, ErrClient},
	}
	if _, err := Generate(good); err != nil {
		t.Fatalf("the base settings: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := good
			tt.change(&s)
			_, err := Generate(s)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestClientNameDefault checks that without Client.Name the certificate's email address
// is the identity.
func TestClientNameDefault(t *testing.T) {
	f := loadFixtures(t)
	files, err := Generate(Settings{Name: "p2sgw", Server: "vpn.example.com", TunnelTypes: []string{"ikev2"},
		Auth: "certificate", ServerRoot: f.root, Client: &Client{Chain: f.aliceChain, KeyPEM: f.aliceKey}})
	if err != nil {
		t.Fatal(err)
	}
	if conf := string(files[swanctlConf]); !strings.Contains(conf, "\t\t\tid = alice@example.com\n") {
		t.Errorf("swanctl.conf has no id = alice@example.com:\n%s", conf)
	}
}

// TestRegenerate checks that other routes, DNS servers and tunnel types show in the files
// that carry them.
func TestRegenerate(t *testing.T) {
	f := loadFixtures(t)
	base := goldenCases(f)[0].settings
	before, err := Generate(base)
	if err != nil {
		t.Fatal(err)
	}

	s := base
	s.Routes = prefixes("10.1.0.0/16", "172.20.0.0/14")
	s.DNS = addrs("10.1.0.53")
	after, err := Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		genericSettingsFile:                 "<Routes>10.1.0.0/16,172.20.0.0/14</Routes>",
		windowsScript:                       "Add-VpnConnectionRoute -ConnectionName $Name -DestinationPrefix '172.20.0.0/14'",
		swanctlConf:                         "remote_ts = 10.1.0.0/16,172.20.0.0/14",
		"Android/p2sgw-VPN.sswan":           `"172.20.0.0/14"`,
		nmFile(&profile{slug: "p2sgw-VPN"}): "route2=172.20.0.0/14",
		readmeFile:                          "10.1.0.53",
	} {
		if !strings.Contains(string(after[name]), want) {
			t.Errorf("%s lacks %q", name, want)
		}
		if strings.Contains(string(after[name]), "10.2.0.0/16") {
			t.Errorf("%s still has the old route 10.2.0.0/16", name)
		}
	}
	if x := string(after[genericSettingsFile]); !strings.Contains(x, "<DnsServers>10.1.0.53</DnsServers>") {
		t.Errorf("VpnSettings.xml has not the new DNS server:\n%s", x)
	}
	// Apple derives the routes from the gateway's traffic selectors: its profile is unchanged.
	if !bytes.Equal(before[appleFile(&profile{slug: "p2sgw-VPN"})], after[appleFile(&profile{slug: "p2sgw-VPN"})]) {
		t.Error("the Apple profile changed with the routes")
	}

	s = base
	s.TunnelTypes = []string{"sstp"}
	sstp, err := Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := sortedKeys(sstp); !slices.Equal(got, []string{genericRootCER, genericRootPEM, genericSettingsFile, readmeFile, windowsScript, windowsP12}) {
		t.Errorf("SSTP-only files: %q", got)
	}
	ps := string(sstp[windowsScript])
	if !strings.Contains(ps, "-TunnelType Sstp ") || strings.Contains(ps, "Set-VpnConnectionIPsecConfiguration") {
		t.Errorf("SSTP-only script:\n%s", ps)
	}
	if x := string(sstp[genericSettingsFile]); !strings.Contains(x, "<VpnType>Sstp</VpnType>") {
		t.Errorf("SSTP-only VpnSettings.xml:\n%s", x)
	}
}

// TestWindowsScript asserts the lines that make the connection, beyond the golden files.
func TestWindowsScript(t *testing.T) {
	f := loadFixtures(t)
	for _, tc := range goldenCases(f) {
		t.Run(tc.name, func(t *testing.T) {
			files, err := Generate(tc.settings)
			if err != nil {
				t.Fatal(err)
			}
			p, _ := resolve(tc.settings)
			ps := string(files[windowsScript])
			lines := strings.Split(ps, "\n")
			count := func(prefix string) int {
				n := 0
				for _, l := range lines {
					if strings.HasPrefix(l, prefix) {
						n++
					}
				}
				return n
			}
			if n := count("Add-VpnConnection -Name $Name -ServerAddress $Server -TunnelType " + windowsTunnelType(p) + " `"); n != 1 {
				t.Errorf("%d Add-VpnConnection lines with -TunnelType %s", n, windowsTunnelType(p))
			}
			if n := count("Add-VpnConnectionRoute "); n != len(tc.settings.Routes) {
				t.Errorf("%d Add-VpnConnectionRoute lines, want %d", n, len(tc.settings.Routes))
			}
			if got, want := count("Set-VpnConnectionIPsecConfiguration "), map[bool]int{true: 1}[p.ikev2]; got != want {
				t.Errorf("%d Set-VpnConnectionIPsecConfiguration lines, want %d", got, want)
			}
			if got := strings.Contains(ps, "-SplitTunneling"); got != (len(tc.settings.Routes) > 0) {
				t.Errorf("-SplitTunneling present = %v with %d routes", got, len(tc.settings.Routes))
			}
			if count("Remove-VpnConnection -Name $Name -Force") != 0 || !strings.Contains(ps, "    Remove-VpnConnection -Name $Name -Force\n") {
				t.Error("the script does not replace an existing connection")
			}
			for _, bad := range []string{"PRIVATE KEY", "-AsPlainText", "ConvertTo-SecureString"} {
				if strings.Contains(ps, bad) {
					t.Errorf("the script holds %q", bad)
				}
			}
			if imports := strings.Contains(ps, "Import-PfxCertificate"); imports != (p.p12 != nil) {
				t.Errorf("Import-PfxCertificate present = %v, P12 given = %v", imports, p.p12 != nil)
			}
		})
	}
}

func TestPSQuote(t *testing.T) {
	for in, want := range map[string]string{
		"p2sgw":       "'p2sgw'",
		"O'Brien VPN": "'O''Brien VPN'",
		"a’b":         "'a’’b'",
		"$(calc)":     "'$(calc)'",
	} {
		if got := psQuote(in); got != want {
			t.Errorf("psQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestSwanValue(t *testing.T) {
	for in, want := range map[string]string{
		"alice@example.com": "alice@example.com",
		"alice smith":       `"alice smith"`,
		`a"b\c`:             `"a\"b\\c"`,
		"CN=alice, O=x":     `"CN=alice, O=x"`,
		"":                  `""`,
	} {
		if got := swanValue(in); got != want {
			t.Errorf("swanValue(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestNameUUID(t *testing.T) {
	u := nameUUID("a", "b")
	if len(u) != 36 || u[14] != '5' || !strings.ContainsRune("89AB", rune(u[19])) {
		t.Errorf("nameUUID = %s, not a version 5 RFC 9562 UUID", u)
	}
	if u != nameUUID("a", "b") || u == nameUUID("a", "c") || u == nameUUID("ab") {
		t.Error("nameUUID is not a function of its parts")
	}
}

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// gw is a gateway made by `p2sgw init` in a test directory.
type gw struct {
	dir, config, socket string
}

func initGateway(t *testing.T, extra ...string) gw {
	t.Helper()
	dir := t.TempDir()
	g := gw{dir: dir, config: filepath.Join(dir, "etc", "gateway.yaml"), socket: filepath.Join(dir, "control.sock")}
	args := append([]string{"init", "--dir", filepath.Join(dir, "etc"), "--name", "e2e-gw",
		"--public-address", "vpn.e2e.example", "--pool", "100.64.0.0/24", "--vnet", "198.19.0.0/16",
		"--dns", "198.19.0.53", "--state-dir", filepath.Join(dir, "state"), "--socket", g.socket,
		// These tests run p2sgw serve --admin-only in the root namespace (see serve).
		"--tunnel-types", "sstp"}, extra...)
	ok(t, args...)
	return g
}

func decodeJSON[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("output is not the JSON expected: %v\n%v", err, r)
	}
	return v
}

type rootJSON struct {
	Name             string `json:"name"`
	Thumbprint       string `json:"thumbprint"`
	ThumbprintSHA256 string `json:"thumbprint_sha256"`
	PublicCertData   string `json:"public_cert_data"`
}

type revokedJSON struct {
	Name       string `json:"name"`
	Thumbprint string `json:"thumbprint"`
}

type statusJSON struct {
	Name string `json:"name"`
	SKU  struct {
		Name            string `json:"name"`
		MaxIKEv2OpenVPN int    `json:"max_ikev2_openvpn_connections"`
		MaxSSTP         int    `json:"max_sstp_connections"`
		ThroughputMbps  int    `json:"throughput_mbps"`
		MaxRootCerts    int    `json:"max_root_certs"`
	} `json:"sku"`
	TunnelTypes []string `json:"tunnel_types"`
	AuthTypes   []string `json:"auth_types"`
	DNSServers  []string `json:"dns_servers"`
	Listeners   []struct {
		Name, Network, Address, State string
	} `json:"listeners"`
	Pools []struct {
		Prefix string `json:"prefix"`
		Size   int    `json:"size"`
		InUse  int    `json:"in_use"`
	} `json:"pools"`
	Connections struct {
		Total int `json:"total"`
	} `json:"connections"`
	RootCerts    int `json:"root_certs"`
	RevokedCerts int `json:"revoked_certs"`
}

// TestSeedProcedure walks the procedure the gateway exists for, with the real binary: create
// the gateway, create a client root, upload its public key, issue client certificates, revoke
// one by thumbprint — and every refusal an admin can run into on the way. The state must
// survive a restart of p2sgw serve.
func TestSeedProcedure(t *testing.T) {
	g := initGateway(t)
	for _, f := range []string{"gateway.yaml", "pki/server-root.crt", "pki/server-root.cer", "pki/server-root.key", "pki/server.crt", "pki/server.key"} {
		if _, err := os.Stat(filepath.Join(g.dir, "etc", f)); err != nil {
			t.Fatalf("init did not write %s: %v", f, err)
		}
	}
	d := serve(t, g.config, g.socket)
	top := t
	sock := []string{"--socket", g.socket}
	cli := func(args ...string) []string { return append(args, sock...) }

	// The admin socket is for its owner only.
	if fi, err := os.Stat(g.socket); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin socket mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}

	root := filepath.Join(g.dir, "client-root")
	ok(t, "pki", "create-root", "--cn", "P2SRootCert", "--out", root)
	alice := filepath.Join(g.dir, "alice")
	ok(t, "pki", "issue-client", "--root", root, "--cn", "alice@example.com", "--out", alice, "--p12-password", "pw")

	t.Run("root-cert add and list", func(t *testing.T) {
		r := ok(t, cli("root-cert", "add", "--name", "P2SRootCert", "--file", filepath.Join(root, "root.cer"))...)
		if !strings.Contains(r.stdout, `Added trusted root "P2SRootCert"`) {
			t.Errorf("unexpected output: %v", r)
		}
		tp := decodeJSON[struct{ SHA1, SHA256 string }](t, ok(t, "pki", "thumbprint", "--json", filepath.Join(root, "root.crt")))
		roots := decodeJSON[[]rootJSON](t, ok(t, cli("root-cert", "list", "--json")...))
		if len(roots) != 1 || roots[0].Name != "P2SRootCert" || roots[0].Thumbprint != tp.SHA1 || roots[0].ThumbprintSHA256 != tp.SHA256 {
			t.Fatalf("root-cert list = %+v, want P2SRootCert with thumbprints %+v", roots, tp)
		}
		der, _ := os.ReadFile(filepath.Join(root, "root.cer"))
		if roots[0].PublicCertData != base64.StdEncoding.EncodeToString(der) {
			t.Errorf("public_cert_data is not the uploaded .cer")
		}
		table := ok(t, cli("root-cert", "list")...)
		if !strings.Contains(table.stdout, "P2SRootCert") || !strings.Contains(table.stdout, tp.SHA1) {
			t.Errorf("root-cert list table lacks the root: %v", table)
		}
	})

	t.Run("root-cert add as Azure's public cert data (PEM .crt too)", func(t *testing.T) {
		other := filepath.Join(g.dir, "other-root")
		ok(t, "pki", "create-root", "--cn", "Other", "--out", other, "--key", "rsa-2048")
		der, _ := os.ReadFile(filepath.Join(other, "root.cer"))
		ok(t, cli("root-cert", "add", "--name", "Other", "--public-cert-data", base64.StdEncoding.EncodeToString(der))...)
		ok(t, cli("root-cert", "remove", "Other")...)
		ok(t, cli("root-cert", "add", "--name", "Other-pem", "--file", filepath.Join(other, "root.crt"))...)
		ok(t, cli("root-cert", "remove", "Other-pem")...)
	})

	t.Run("root-cert refusals", func(t *testing.T) {
		fails(t, []string{"end-entity"}, cli("root-cert", "add", "--name", "leaf", "--file", filepath.Join(alice, "client.crt"))...)
		fails(t, []string{"not a certificate"}, cli("root-cert", "add", "--name", "junk", "--public-cert-data", "bm90IGEgY2VydGlmaWNhdGU=")...)
		fails(t, []string{"holds no certificate, only PEM PRIVATE KEY"}, cli("root-cert", "add", "--name", "key", "--file", filepath.Join(root, "root.key"))...)
		fails(t, []string{"exists already"}, cli("root-cert", "add", "--name", "P2SRootCert", "--file", filepath.Join(g.dir, "etc", "pki", "server-root.cer"))...)
		fails(t, []string{"uploaded already", "P2SRootCert"}, cli("root-cert", "add", "--name", "again", "--file", filepath.Join(root, "root.cer"))...)
		fails(t, []string{"invalid name"}, cli("root-cert", "add", "--name", "has space", "--file", filepath.Join(root, "root.cer"))...)
		fails(t, []string{"no root certificate named", "nope"}, cli("root-cert", "remove", "nope")...)
		r := fails(t, []string{"--name is required"}, cli("root-cert", "add", "--file", filepath.Join(root, "root.cer"))...)
		if r.code != 2 {
			t.Errorf("usage error exit code = %d, want 2", r.code)
		}
	})

	aliceTP := decodeJSON[struct{ SHA1, SHA256 string }](t, ok(t, "pki", "thumbprint", "--json", filepath.Join(alice, "client.crt")))

	t.Run("revoked-cert add, list and refusals", func(t *testing.T) {
		// As pasted from a certificate dialog: lower case with spaces.
		pasted := strings.ToLower(aliceTP.SHA1[:20]) + " " + strings.ToLower(aliceTP.SHA1[20:])
		ok(t, cli("revoked-cert", "add", "--name", "alice-laptop", "--thumbprint", pasted)...)
		colons := strings.ToLower(strings.Join(splitPairs(aliceTP.SHA256), ":"))
		ok(t, cli("revoked-cert", "add", "--name", "alice-sha256", "--thumbprint", colons)...)
		list := decodeJSON[[]revokedJSON](t, ok(t, cli("revoked-cert", "list", "--json")...))
		if len(list) != 2 || list[0].Thumbprint != aliceTP.SHA1 || list[1].Thumbprint != aliceTP.SHA256 {
			t.Fatalf("revoked-cert list = %+v, want the normalised SHA-1 and SHA-256 of alice's certificate", list)
		}
		fails(t, []string{"hex digits"}, cli("revoked-cert", "add", "--name", "short", "--thumbprint", "abcd")...)
		fails(t, []string{"not a hex digit"}, cli("revoked-cert", "add", "--name", "nothex", "--thumbprint", strings.Repeat("zz", 20))...)
		fails(t, []string{"exists already"}, cli("revoked-cert", "add", "--name", "alice-laptop", "--thumbprint", strings.Repeat("ab", 20))...)
		fails(t, []string{"revoked already", "alice-laptop"}, cli("revoked-cert", "add", "--name", "dup", "--thumbprint", aliceTP.SHA1)...)
		fails(t, []string{"no revoked certificate entry named"}, cli("revoked-cert", "remove", "nope")...)
		ok(t, cli("revoked-cert", "remove", "alice-sha256")...)
	})

	t.Run("connections", func(t *testing.T) {
		r := ok(t, cli("connections", "list")...)
		if !strings.Contains(r.stdout, "No connections") {
			t.Errorf("connections list: %v", r)
		}
		if conns := decodeJSON[[]json.RawMessage](t, ok(t, cli("connections", "list", "--json")...)); len(conns) != 0 {
			t.Errorf("connections list --json = %v, want []", conns)
		}
		fails(t, []string{"no connection with id", "IKEv2_00000000-0000-0000-0000-000000000000"}, cli("connections", "disconnect", "IKEv2_00000000-0000-0000-0000-000000000000")...)
		fails(t, []string{"at least one connection ID"}, cli("connections", "disconnect")...)
	})

	t.Run("status", func(t *testing.T) {
		s := decodeJSON[statusJSON](t, ok(t, cli("status", "--json")...))
		if s.Name != "e2e-gw" || s.SKU.Name != "VpnGw1" || s.SKU.MaxIKEv2OpenVPN != 250 || s.SKU.MaxSSTP != 128 || s.SKU.MaxRootCerts != 20 {
			t.Errorf("status SKU = %+v, want VpnGw1 with Azure's limits", s.SKU)
		}
		if strings.Join(s.TunnelTypes, ",") != "sstp" || strings.Join(s.AuthTypes, ",") != "certificate" {
			t.Errorf("status tunnel/auth types = %v %v", s.TunnelTypes, s.AuthTypes)
		}
		if len(s.Pools) != 1 || s.Pools[0].Prefix != "100.64.0.0/24" || s.Pools[0].Size != 253 || s.Pools[0].InUse != 0 {
			t.Errorf("status pools = %+v, want 100.64.0.0/24 with 253 leasable addresses", s.Pools)
		}
		if s.RootCerts != 1 || s.RevokedCerts != 1 {
			t.Errorf("status counts roots %d revoked %d, want 1 and 1", s.RootCerts, s.RevokedCerts)
		}
		if len(s.Listeners) == 0 || s.Listeners[0].Name != "admin" || s.Listeners[0].State != "listening" {
			t.Errorf("status listeners = %+v, want the admin socket listening first", s.Listeners)
		}
		text := ok(t, cli("status")...)
		for _, want := range []string{"e2e-gw", "VpnGw1", "100.64.0.0/24", "253", "Connections: 0"} {
			if !strings.Contains(text.stdout, want) {
				t.Errorf("status text lacks %q:\n%s", want, text.stdout)
			}
		}
	})

	t.Run("state survives a restart", func(t *testing.T) {
		d.stop(t)
		if _, err := os.Stat(g.socket); !os.IsNotExist(err) {
			t.Errorf("admin socket still exists after SIGTERM: %v", err)
		}
		fails(t, []string{"cannot reach the gateway", "is p2sgw serve running"}, cli("status")...)
		d = serve(top, g.config, g.socket) // lives on after this subtest
		roots := decodeJSON[[]rootJSON](t, ok(t, cli("root-cert", "list", "--json")...))
		revoked := decodeJSON[[]revokedJSON](t, ok(t, cli("revoked-cert", "list", "--json")...))
		if len(roots) != 1 || roots[0].Name != "P2SRootCert" || len(revoked) != 1 || revoked[0].Name != "alice-laptop" {
			t.Fatalf("after restart: roots %+v revoked %+v", roots, revoked)
		}
	})

	t.Run("a second gateway on the same state is refused", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		other := exec.CommandContext(ctx, bin, "serve", "--admin-only", "--config", g.config)
		out, err := other.CombinedOutput()
		if ctx.Err() != nil {
			t.Fatalf("second p2sgw serve did not give up within 30s: %s", out)
		}
		if err == nil {
			t.Fatalf("second p2sgw serve started on the same state: %s", out)
		}
		if !strings.Contains(string(out), "another p2sgw serve") && !strings.Contains(string(out), "locked") {
			t.Errorf("second serve's error does not say why: %s", out)
		}
	})

	t.Run("removal", func(t *testing.T) {
		ok(t, cli("revoked-cert", "remove", "alice-laptop")...)
		ok(t, cli("root-cert", "remove", "P2SRootCert")...)
		if roots := decodeJSON[[]rootJSON](t, ok(t, cli("root-cert", "list", "--json")...)); len(roots) != 0 {
			t.Errorf("roots after remove = %+v", roots)
		}
	})
	d.stop(t)
}

// TestReload changes the configuration under a running gateway: SIGHUP and `p2sgw reload`
// apply a valid file, and refuse an invalid one while the running configuration stays.
func TestReload(t *testing.T) {
	g := initGateway(t)
	d := serve(t, g.config, g.socket)
	sock := []string{"--socket", g.socket}
	orig, err := os.ReadFile(g.config)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) {
		t.Helper()
		cur, _ := os.ReadFile(g.config)
		if !strings.Contains(string(cur), old) {
			t.Fatalf("gateway.yaml lacks %q:\n%s", old, cur)
		}
		if err := os.WriteFile(g.config, []byte(strings.Replace(string(cur), old, new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	status := func() statusJSON {
		return decodeJSON[statusJSON](t, ok(t, append([]string{"status", "--json"}, sock...)...))
	}

	edit("sku: VpnGw1", "sku: VpnGw3")
	edit("198.19.0.53", "198.19.0.54")
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitLog(t, "configuration reloaded")
	if s := status(); s.SKU.Name != "VpnGw3" || s.SKU.MaxIKEv2OpenVPN != 1000 || len(s.DNSServers) != 1 || s.DNSServers[0] != "198.19.0.54" {
		t.Fatalf("after SIGHUP: SKU %+v DNS %v; want VpnGw3 and 198.19.0.54", s.SKU, s.DNSServers)
	}

	// An invalid file: the pool overlaps the VNet.
	edit("100.64.0.0/24", "198.19.1.0/24")
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitLog(t, "reload refused")
	if s := status(); s.SKU.Name != "VpnGw3" || s.Pools[0].Prefix != "100.64.0.0/24" {
		t.Fatalf("after an invalid reload the running config changed: %+v", s)
	}
	fails(t, []string{"overlaps"}, append([]string{"reload"}, sock...)...)

	// Back to a valid file through the CLI.
	if err := os.WriteFile(g.config, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	ok(t, append([]string{"reload"}, sock...)...)
	if s := status(); s.SKU.Name != "VpnGw1" {
		t.Fatalf("after p2sgw reload: SKU %s, want VpnGw1", s.SKU.Name)
	}

	// A setting that needs a restart is kept, and reload says so.
	edit("format: text", "format: json")
	r := ok(t, append([]string{"reload"}, sock...)...)
	if !strings.Contains(r.stdout, "kept until p2sgw serve restarts: log.format") {
		t.Errorf("reload did not say log.format waits for a restart: %v", r)
	}
	d.stop(t)
}

func splitPairs(s string) []string {
	var out []string
	for i := 0; i+2 <= len(s); i += 2 {
		out = append(out, s[i:i+2])
	}
	return out
}

// TestInitRefusalsLeaveNothing: a configuration that would not load is not written, and
// nothing of the failed run stays behind.
func TestInitRefusalsLeaveNothing(t *testing.T) {
	dir := t.TempDir()
	etc := filepath.Join(dir, "etc")
	r := fails(t, []string{"overlaps"}, "init", "--dir", etc, "--public-address", "vpn.e2e.example",
		"--pool", "198.19.1.0/24", "--vnet", "198.19.0.0/16", "--state-dir", filepath.Join(dir, "state"), "--socket", filepath.Join(dir, "s"))
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	entries, _ := os.ReadDir(filepath.Join(etc, "pki"))
	if _, err := os.Stat(filepath.Join(etc, "gateway.yaml")); !os.IsNotExist(err) || len(entries) != 0 {
		t.Fatalf("a refused init left files: gateway.yaml %v, pki %v", err, entries)
	}
	base := []string{"init", "--dir", etc, "--public-address", "vpn.e2e.example", "--pool", "100.64.0.0/24", "--vnet", "198.19.0.0/16"}
	fails(t, []string{"--auth radius needs at least one --radius-server"}, append(base, "--auth", "radius")...)
	fails(t, []string{"go with --auth radius"}, append(base, "--radius-server", "198.19.0.10")...)
	secret := filepath.Join(dir, "radius.secret")
	if err := os.WriteFile(secret, []byte("a secret of some length\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fails(t, []string{"radius.servers[0].secret_file", "readable by others"}, append(base, "--auth", "radius", "--radius-server", "198.19.0.10", "--radius-secret-file", secret)...)
	if _, err := os.Stat(filepath.Join(etc, "gateway.yaml")); !os.IsNotExist(err) {
		t.Fatalf("a refused RADIUS init left gateway.yaml: %v", err)
	}
	fails(t, []string{"--public-address, --pool and --vnet are required"}, "init", "--dir", etc)
}

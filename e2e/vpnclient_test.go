package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/internal/freeradius"
	"github.com/p2sgw/p2sgw/internal/strongswan"
	"github.com/p2sgw/p2sgw/internal/testnet"
)

// TestVPNClientPackageStrongSwan: `p2sgw vpn-client generate` with a user's certificate makes
// a zip whose Linux/swanctl directory, copied as it is, connects strongSwan to the gateway
// and reaches the VNet: no hand-editing.
func TestVPNClientPackageStrongSwan(t *testing.T) {
	testnet.Require(t, strongswan.Tools...)
	tp := testnet.New(t, testnet.Options{Clients: 1, ForwardOnGateway: true})
	// The clients' namespaces resolve no names: the gateway is known by its address.
	g := startIKEGatewayWith(t, tp, []string{"--public-address", testnet.GatewayAddr.String()})
	g.issueClient(t, "alice@example.com", "ecdsa-p256")
	out := filepath.Join(t.TempDir(), "VpnClientConfiguration.zip")
	ok(t, "vpn-client", "generate", "--socket", g.socket, "--out", out,
		"--client", filepath.Join(g.dir, "clients", "alice@example.com"), "--password", "pw")
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the package with a private key: %v, mode %v (want 0600)", err, st.Mode().Perm())
	}
	dir := unzipDir(t, out, "Linux/swanctl/")
	conf, err := os.ReadFile(filepath.Join(dir, "swanctl.conf"))
	if err != nil {
		t.Fatal(err)
	}
	ike, child := swanctlNames(t, string(conf))
	c := strongswan.Start(t, tp.Clients[0], filepath.Join(t.TempDir(), "swan"))
	if out, err := c.LoadDir(context.Background(), dir); err != nil {
		t.Fatalf("swanctl --load-all of the generated directory: %v\n%s\n%s", err, out, conf)
	}
	if out, err := c.InitiateChild(context.Background(), ike, child); err != nil {
		t.Fatalf("connect with the generated swanctl.conf: %v\n%s\nconfig:\n%s\ngateway:\n%s", err, out, conf, g.proc.Output())
	}
	resp, err := tp.Clients[0].HTTPClient(10 * time.Second).Get(tp.StartVNetHTTP(t))
	if err != nil {
		t.Fatalf("through the tunnel: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(body), testnet.VNetGreeting) {
		t.Fatalf("the VNet host answered %q", body)
	}

	// The admin API serves the package for download, without anyone's key.
	api := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", g.socket)
	}}}
	dl, err := api.Get("http://p2sgw/v1/vpn-client/package")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(dl.Body)
	dl.Body.Close()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil || dl.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("GET /v1/vpn-client/package: %v, %s, %.200s", err, dl.Header.Get("Content-Type"), data)
	}
	names := map[string]bool{}
	for _, f := range zr.File {
		names[f.Name] = true
		if strings.Contains(f.Name, "private/") || strings.HasSuffix(f.Name, ".key") {
			t.Errorf("the download holds a key: %s", f.Name)
		}
	}
	if !names["Generic/VpnSettings.xml"] || !names["Generic/VpnServerRoot.cer"] || !names["README.txt"] {
		t.Errorf("the download lacks the generic files: %v", names)
	}
}

// unzipDir extracts the files under prefix of the zip into a new directory, keeping their
// modes, and returns it.
func unzipDir(t *testing.T, path, prefix string) string {
	t.Helper()
	r, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dir := t.TempDir()
	n := 0
	for _, f := range r.File {
		if !strings.HasPrefix(f.Name, prefix) || strings.HasSuffix(f.Name, "/") {
			continue
		}
		dst := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(f.Name, prefix)))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			t.Fatal(err)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, f.Mode().Perm()|0o600); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n == 0 {
		t.Fatalf("no files under %s in %s", prefix, path)
	}
	return dir
}

// swanctlNames returns the first connection's name and its first child's name.
func swanctlNames(t *testing.T, conf string) (ike, child string) {
	t.Helper()
	m := regexp.MustCompile(`(?s)connections\s*\{\s*([\w.-]+)\s*\{.*?children\s*\{\s*([\w.-]+)\s*\{`).FindStringSubmatch(conf)
	if m == nil {
		t.Fatalf("no connection with a child in:\n%s", conf)
	}
	return m[1], m[2]
}

// TestVPNClientPackageEAPMSCHAPv2: on a RADIUS gateway the package's swanctl directory, plus
// the password file its comment describes, signs a FreeRADIUS user in with EAP-MSCHAPv2.
func TestVPNClientPackageEAPMSCHAPv2(t *testing.T) {
	testnet.Require(t, radiusTools...)
	tp := testnet.New(t, testnet.Options{Clients: 1, ForwardOnGateway: true})
	rs := freeradius.Start(t, tp.VNet, freeradius.Options{Users: []freeradius.User{{Name: "alice", Password: "correct horse battery staple"}}})
	g := startRADIUSGatewayWith(t, tp, []string{"--public-address", testnet.GatewayAddr.String()}, "radius", []*freeradius.Server{rs})
	out := filepath.Join(t.TempDir(), "VpnClientConfiguration.zip")
	ok(t, "vpn-client", "generate", "--socket", g.socket, "--out", out)
	dir := unzipDir(t, out, "Linux/swanctl/")
	conf, err := os.ReadFile(filepath.Join(dir, "swanctl.conf"))
	if err != nil {
		t.Fatal(err)
	}
	ike, child := swanctlNames(t, string(conf))
	// What the user adds, as the comment in swanctl.conf says.
	secret := "connections {\n\t" + ike + " {\n\t\tlocal {\n\t\t\teap_id = alice\n\t\t}\n\t}\n}\nsecrets {\n\teap-" + ike +
		" {\n\t\tid = alice\n\t\tsecret = \"correct horse battery staple\"\n\t}\n}\n"
	if err := os.MkdirAll(filepath.Join(dir, "conf.d"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "conf.d", ike+"-secret.conf"), []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	c := strongswan.Start(t, tp.Clients[0], filepath.Join(t.TempDir(), "swan"))
	if out, err := c.LoadDir(context.Background(), dir); err != nil {
		t.Fatalf("swanctl --load-all: %v\n%s\n%s", err, out, conf)
	}
	if out, err := c.InitiateChild(context.Background(), ike, child); err != nil {
		t.Fatalf("connect with the generated swanctl.conf: %v\n%s\nconfig:\n%s\ngateway:\n%s", err, out, conf, g.proc.Output())
	}
	conns := g.connections(t)
	if len(conns) != 1 || conns[0].User != "alice" || conns[0].AuthMethod != "radius" {
		t.Fatalf("connections: %+v", conns)
	}
	resp, err := tp.Clients[0].HTTPClient(10 * time.Second).Get(tp.StartVNetHTTP(t))
	if err != nil {
		t.Fatalf("through the tunnel: %v", err)
	}
	resp.Body.Close()
}

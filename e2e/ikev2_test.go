package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/ike"
	"github.com/p2sgw/p2sgw/ike/transform"
	"github.com/p2sgw/p2sgw/internal/strongswan"
	"github.com/p2sgw/p2sgw/internal/testnet"
	"github.com/p2sgw/p2sgw/pki"
)

// vnetBlob is what the VNet host serves for the bulk transfer: 64 MiB of seeded pseudo-random
// bytes, whose SHA-256 the client compares.
const vnetBlobSize = 64 << 20

func blob() []byte {
	r := rand.NewChaCha8([32]byte{'p', '2', 's', 'g', 'w'})
	b := make([]byte, vnetBlobSize)
	r.Read(b)
	return b
}

// ikeGateway is a p2sgw serve with IKEv2 running in the topology's gateway namespace.
type ikeGateway struct {
	tp     *testnet.Topology
	dir    string
	config string
	socket string
	root   *pki.CA // the client root, uploaded
	proc   *testnet.Process
}

// startIKEGateway makes a gateway with p2sgw init (editing its gateway.yaml with edits, old →
// new), starts it in the gateway namespace, and uploads a client root made with p2sgw pki.
func startIKEGateway(t *testing.T, tp *testnet.Topology, edits ...string) *ikeGateway {
	t.Helper()
	return startIKEGatewayWith(t, tp, nil, edits...)
}

// startIKEGatewayWith is startIKEGateway with more p2sgw init flags.
func startIKEGatewayWith(t *testing.T, tp *testnet.Topology, initArgs []string, edits ...string) *ikeGateway {
	t.Helper()
	dir := t.TempDir()
	g := &ikeGateway{tp: tp, dir: dir, config: filepath.Join(dir, "etc", "gateway.yaml"), socket: filepath.Join(dir, "control.sock")}
	ok(t, append([]string{"init", "--dir", filepath.Join(dir, "etc"), "--name", "e2e-ikev2", "--public-address", "vpn.e2e.example",
		"--pool", "100.64.0.0/24", "--vnet", testnet.VNetPrefix.String(), "--dns", "198.19.0.53",
		"--state-dir", filepath.Join(dir, "state"), "--socket", g.socket, "--tunnel-types", "ikev2"}, initArgs...)...)
	if os.Getenv("P2SGW_E2E_DEBUG") != "" {
		edits = append(edits, "level: info", "level: debug")
	}
	b, err := os.ReadFile(g.config)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(edits); i += 2 {
		if !bytes.Contains(b, []byte(edits[i])) {
			t.Fatalf("gateway.yaml lacks %q", edits[i])
		}
		b = bytes.Replace(b, []byte(edits[i]), []byte(edits[i+1]), 1)
	}
	if err := os.WriteFile(g.config, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := tp.Gateway.Command(context.Background(), bin, "serve", "--config", g.config)
	g.proc = tp.Gateway.StartCmd(t, cmd)
	waitSocket(t, g.socket, g.proc)
	rootDir := filepath.Join(dir, "client-root")
	ok(t, "pki", "create-root", "--cn", "P2SRootCert", "--out", rootDir)
	ok(t, "root-cert", "add", "--socket", g.socket, "--name", "P2SRootCert", "--file", filepath.Join(rootDir, "root.cer"))
	if g.root, err = pki.LoadCA(filepath.Join(rootDir, "root.crt"), filepath.Join(rootDir, "root.key")); err != nil {
		t.Fatal(err)
	}
	return g
}

// issueClient makes a client certificate with p2sgw pki issue-client, as an admin does.
func (g *ikeGateway) issueClient(t *testing.T, name, keyType string) *pki.Cert {
	t.Helper()
	out := filepath.Join(g.dir, "clients", name)
	ok(t, "pki", "issue-client", "--root", filepath.Join(g.dir, "client-root"), "--cn", name, "--key", keyType, "--out", out, "--p12-password", "pw")
	cert, err := pki.ReadCertificate(filepath.Join(out, "client.crt"))
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(out, "client.key"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := pki.ParsePrivateKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &pki.Cert{Cert: cert, Key: key, Issuer: g.root.Cert}
}

func waitSocket(t *testing.T, path string, p *testnet.Process) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if r := p2sgw(t, "status", "--socket", path); r.code == 0 {
			return
		}
		select {
		case <-p.Exited():
			t.Fatalf("p2sgw serve exited at start:\n%s", p.Output())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("p2sgw serve did not answer within 15s:\n%s", p.Output())
		}
	}
}

// client makes a strongSwan client in namespace i with a certificate for name from the
// uploaded root (or from issuer, if given).
// client makes a strongSwan client in namespace i with cert, asking to reach remoteTS (the
// VNet if none).
func (g *ikeGateway) client(t *testing.T, i int, name string, cert *pki.Cert, remoteTS ...netip.Prefix) (*strongswan.Client, strongswan.Conn) {
	t.Helper()
	return g.clientWith(t, i, name, cert, func(*strongswan.Conn) {}, remoteTS...)
}

// clientWith is client with a change to the connection before it is loaded. cert is nil for
// a client that authenticates with a password.
func (g *ikeGateway) clientWith(t *testing.T, i int, name string, cert *pki.Cert, change func(*strongswan.Conn), remoteTS ...netip.Prefix) (*strongswan.Client, strongswan.Conn) {
	t.Helper()
	var key, chain []byte
	if cert != nil {
		var err error
		if key, err = cert.KeyPEM(); err != nil {
			t.Fatal(err)
		}
		chain = cert.ChainPEM()
	}
	caPEM, err := os.ReadFile(filepath.Join(g.dir, "etc", "pki", "server-root.crt"))
	if err != nil {
		t.Fatal(err)
	}
	c := strongswan.Start(t, g.tp.Clients[i], filepath.Join(t.TempDir(), "swan"))
	conn := strongswan.Conn{
		Name: "p2s", Gateway: testnet.GatewayAddr, RemoteID: "vpn.e2e.example", CACertPEM: caPEM,
		Auth: strongswan.AuthPubkey, LocalID: name, CertPEM: chain, KeyPEM: key,
		RemoteTS: remoteTS,
	}
	if len(conn.RemoteTS) == 0 {
		conn.RemoteTS = []netip.Prefix{testnet.VNetPrefix}
	}
	change(&conn)
	if err := c.Load(context.Background(), conn); err != nil {
		t.Fatalf("load strongSwan config: %v\n%s", err, c.Log())
	}
	return c, conn
}

// poolInUse is the first pool's in_use from p2sgw status --json.
func (g *ikeGateway) poolInUse(t *testing.T) int {
	t.Helper()
	st := decodeJSON[struct {
		Pools []struct {
			InUse int `json:"in_use"`
		} `json:"pools"`
	}](t, ok(t, "status", "--json", "--socket", g.socket))
	if len(st.Pools) == 0 {
		t.Fatal("status lists no pool")
	}
	return st.Pools[0].InUse
}

// dumpNetwork logs the links, addresses and routes of the namespaces, for a failed test.
func dumpNetwork(t *testing.T, nss ...*testnet.Namespace) {
	t.Helper()
	for _, ns := range nss {
		for _, cmd := range [][]string{{"ip", "-s", "link"}, {"ip", "addr"}, {"ip", "route", "show", "table", "all"}} {
			out, _ := ns.Run(t, context.Background(), cmd[0], cmd[1:]...)
			t.Logf("%s: %v\n%s", ns.Name, cmd, out)
		}
	}
}

type connJSON struct {
	ID            string `json:"id"`
	User          string `json:"user"`
	VPNAddress    string `json:"vpn_address"`
	PublicAddress string `json:"public_address"`
	Protocol      string `json:"protocol"`
	AuthMethod    string `json:"auth_method"`
	IngressBytes  uint64 `json:"ingress_bytes"`
	EgressBytes   uint64 `json:"egress_bytes"`
}

func (g *ikeGateway) connections(t *testing.T) []connJSON {
	t.Helper()
	return decodeJSON[[]connJSON](t, ok(t, "connections", "list", "--json", "--socket", g.socket))
}

// metrics scrapes the gateway's /metrics on its admin socket: every sample, by its name and
// labels as the exposition format writes them.
func (g *ikeGateway) metrics(t *testing.T) map[string]float64 {
	t.Helper()
	hc := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", g.socket)
	}}}
	resp, err := hc.Get("http://p2sgw/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// virtualIP returns the address strongSwan got, from swanctl --list-sas.
func virtualIP(t *testing.T, c *strongswan.Client) netip.Addr {
	t.Helper()
	out, err := c.ListSAs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Fields(out) {
		if a, err := netip.ParsePrefix(f); err == nil && strings.HasPrefix(f, "100.64.") && a.Bits() == 32 {
			return a.Addr()
		}
	}
	t.Fatalf("no virtual IP in swanctl --list-sas:\n%s", out)
	return netip.Addr{}
}

// clientSAEnds waits up to 10 s for strongSwan to have no established SA (the gateway deleted
// it) and returns how long that took; after that the test fails with what the client still has.
func clientSAEnds(t *testing.T, c *strongswan.Client, after string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		out, _ := c.ListSAs(context.Background())
		if !strings.Contains(out, "ESTABLISHED") {
			return time.Since(start)
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("after %s the client still has its SA:\n%s", after, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestIKEv2WithStrongSwan: strongSwan clients with certificates from p2sgw pki connect to p2sgw
// serve, get an address from the pool and the DNS server, move 64 MiB from the VNet through
// the tunnel with a matching checksum, ping both ways, cannot reach each other, and are
// disconnected by the admin.
func TestIKEv2WithStrongSwan(t *testing.T) {
	testnet.Require(t, strongswan.Tools...)
	tp := testnet.New(t, testnet.Options{Clients: 2, ForwardOnGateway: true})
	g := startIKEGateway(t, tp)
	data := blob()
	sum := sha256.Sum256(data)
	tp.VNet.StartHTTP(t, netip.AddrPortFrom(testnet.VNetHostAddr, 8080).String(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "blob", time.Time{}, bytes.NewReader(data))
	}))

	var clients []*strongswan.Client
	var vips []netip.Addr
	for i, tc := range []struct{ name, key string }{{"alice@example.com", "ecdsa-p256"}, {"bob@example.com", "rsa-2048"}} {
		cert := g.issueClient(t, tc.name, tc.key)
		// Both ask for the pool too: the gateway must narrow them to the VNet.
		c, _ := g.client(t, i, tc.name, cert, testnet.VNetPrefix, testnet.PoolPrefix)
		if out, err := c.Initiate(context.Background(), "p2s"); err != nil {
			t.Fatalf("%s (%s): initiate: %v\n%s\ncharon log:\n%s\ngateway log:\n%s", tc.name, tc.key, err, out, c.Log(), g.proc.Output())
		}
		clients = append(clients, c)
		vips = append(vips, virtualIP(t, c))
		if !strings.Contains(c.DNSServers(), "198.19.0.53") {
			t.Errorf("%s: pushed DNS not installed; resolve plugin wrote %q", tc.name, c.DNSServers())
		}
	}
	if vips[0] == vips[1] {
		t.Fatalf("two clients share %s", vips[0])
	}

	t.Run("64 MiB from the VNet through the tunnel", func(t *testing.T) {
		cl := tp.Clients[0].HTTPClient(20 * time.Second)
		resp, err := cl.Get(fmt.Sprintf("http://%s:8080/blob", testnet.VNetHostAddr))
		if err != nil {
			dumpNetwork(t, tp.Gateway, tp.Clients[0], tp.VNet)
			t.Fatalf("GET through the tunnel: %v\ngateway log:\n%s\nclient log:\n%s", err, g.proc.Output(), clients[0].Log())
		}
		defer resp.Body.Close()
		h := sha256.New()
		n, err := io.Copy(h, resp.Body)
		if err != nil || n != vnetBlobSize {
			t.Fatalf("read %d bytes, %v", n, err)
		}
		if got := h.Sum(nil); !bytes.Equal(got, sum[:]) {
			t.Fatalf("checksum %s, want %s", hex.EncodeToString(got), hex.EncodeToString(sum[:]))
		}
	})

	t.Run("ping both ways", func(t *testing.T) {
		ctx := context.Background()
		if out, err := tp.Clients[0].Run(t, ctx, "ping", "-c", "2", "-W", "2", testnet.VNetHostAddr.String()); err != nil {
			t.Fatalf("client → VNet: %v\n%s", err, out)
		}
		if out, err := tp.VNet.Run(t, ctx, "ping", "-c", "2", "-W", "2", vips[0].String()); err != nil {
			t.Fatalf("VNet → client: %v\n%s", err, out)
		}
	})

	t.Run("clients cannot reach each other", func(t *testing.T) {
		sas, _ := clients[0].ListSAs(context.Background())
		if strings.Contains(sas, "remote 100.64.") {
			t.Errorf("the gateway granted alice the pool:\n%s", sas)
		}
		if out, err := tp.Clients[0].Run(t, context.Background(), "ping", "-c", "1", "-W", "1", vips[1].String()); err == nil {
			t.Fatalf("alice reached bob at %s:\n%s", vips[1], out)
		}
	})

	var aliceID string
	t.Run("connection health", func(t *testing.T) {
		conns := g.connections(t)
		if len(conns) != 2 {
			t.Fatalf("connections = %+v, want 2", conns)
		}
		for _, c := range conns {
			if c.Protocol != "IKEv2" || !strings.HasPrefix(c.ID, "IKEv2_") || !strings.HasPrefix(c.PublicAddress, "198.18.1.") {
				t.Errorf("connection %+v", c)
			}
			if c.User == "alice@example.com" {
				aliceID = c.ID
				if c.VPNAddress != vips[0].String() || c.EgressBytes < vnetBlobSize || c.IngressBytes == 0 {
					t.Errorf("alice's connection %+v: want %s and over 64 MiB sent to her", c, vips[0])
				}
			}
		}
		if n := g.poolInUse(t); n != 2 {
			t.Errorf("pool in use = %d, want 2", n)
		}
		// The metrics count the same traffic as the connections (within 1%: the counters
		// are read a moment apart).
		var in, out uint64
		for _, c := range conns {
			in, out = in+c.IngressBytes, out+c.EgressBytes
		}
		m := g.metrics(t)
		for dir, want := range map[string]uint64{"in": in, "out": out} {
			got := m[`p2sgw_tunnel_bytes_total{direction="`+dir+`"}`]
			if got < float64(want)*0.99 || got > float64(want)*1.01 {
				t.Errorf("metrics: %s bytes %v, the connections counted %d", dir, got, want)
			}
		}
		if m[`p2sgw_connections{auth_method="certificate",protocol="IKEv2"}`] != 2 {
			t.Errorf("metrics: connections %v, want 2", m[`p2sgw_connections{auth_method="certificate",protocol="IKEv2"}`])
		}
		mine := decodeJSON[[]connJSON](t, ok(t, "connections", "list", "--user", "ALICE@example.com", "--protocol", "ikev2", "--json", "--socket", g.socket))
		if len(mine) != 1 || mine[0].ID != aliceID {
			t.Errorf("connections list --user alice: %+v, want only %s", mine, aliceID)
		}
	})

	t.Run("disconnect ends the session on both sides", func(t *testing.T) {
		if aliceID == "" {
			t.Skip("no connection id")
		}
		out := ok(t, "connections", "disconnect", "--user", "alice@example.com", "--socket", g.socket)
		if !strings.Contains(out.stdout, "Disconnected "+aliceID) {
			t.Errorf("disconnect --user alice: %s", out.stdout)
		}
		clientSAEnds(t, clients[0], "connections disconnect")
		for _, c := range g.connections(t) {
			if c.ID == aliceID {
				t.Fatalf("alice still listed after disconnect")
			}
		}
		// The P2S diagnostic events of her session: who, from where, which address, why.
		log := g.proc.Output()
		if !logLine(log, `msg="client connected"`, "category=p2s", "id="+aliceID, "user=alice@example.com", "protocol=IKEv2", "auth=certificate", "public_address=198.18.1.1:", "vpn_address="+vips[0].String()) {
			t.Errorf("no P2S connected event for %s:\n%s", aliceID, log)
		}
		if !logLine(log, `msg="client disconnected"`, "category=p2s", "id="+aliceID, "user=alice@example.com", "protocol=IKEv2", "public_address=198.18.1.1:", "vpn_address="+vips[0].String(), `reason="disconnected by admin`, "egress_bytes=") {
			t.Errorf("no P2S disconnected event for %s:\n%s", aliceID, log)
		}
	})
}

// TestIKEv2Refusals: a revoked certificate, one from a root that was not uploaded, an expired
// one and one without EKU clientAuth are refused with AUTHENTICATION_FAILED, logged with the
// reason, and lease nothing.
func TestIKEv2Refusals(t *testing.T) {
	testnet.Require(t, strongswan.Tools...)
	tp := testnet.New(t, testnet.Options{Clients: 1, ForwardOnGateway: true})
	// Only warnings, except the P2S events: the per-category level lets the refusals through.
	g := startIKEGateway(t, tp, "level: info", "level: warn\n  categories:\n    p2s: info")

	revoked := g.issueClient(t, "revoked@example.com", "ecdsa-p256")
	ok(t, "revoked-cert", "add", "--socket", g.socket, "--name", "lost-laptop", "--thumbprint", pki.ThumbprintsOf(revoked.Cert.Raw).SHA1)
	other, _ := pki.NewRoot("Not uploaded", pki.Options{})
	stranger, _ := other.IssueClient("stranger@example.com", pki.Options{})
	past := func() time.Time { return time.Now().AddDate(0, 0, -10) }
	expired, _ := g.root.IssueClient("expired@example.com", pki.Options{Days: 2, Now: past})
	server, _ := g.root.IssueServer([]string{"noeku.example.com"}, nil, pki.Options{}) // serverAuth only

	for _, tc := range []struct {
		name, id string
		cert     *pki.Cert
		logged   string
	}{
		{"revoked", "revoked@example.com", revoked, "revoked"},
		{"root not uploaded", "stranger@example.com", stranger, "not trusted"},
		{"expired", "expired@example.com", expired, "expired"},
		{"no EKU clientAuth", "noeku.example.com", server, "clientAuth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := g.client(t, 0, tc.id, tc.cert)
			out, err := c.Initiate(context.Background(), "p2s")
			if err == nil {
				t.Fatalf("connected:\n%s", out)
			}
			if !strings.Contains(c.Log(), "AUTHENTICATION_FAILED") {
				t.Errorf("strongSwan did not get AUTHENTICATION_FAILED:\n%s", c.Log())
			}
			// One P2S diagnostic line says who was refused, from where, and why.
			if !logLine(g.proc.Output(), `msg="client refused"`, "category=p2s", "protocol=IKEv2", "public_address=198.18.1.", "user="+tc.id, "stage=IKE_AUTH", "reason=AUTHENTICATION_FAILED", tc.logged) {
				t.Errorf("gateway log lacks a refusal of %s naming %q:\n%s", tc.id, tc.logged, g.proc.Output())
			}
			if n := g.poolInUse(t); n != 0 {
				t.Errorf("a refused client holds an address (%d in use)", n)
			}
		})
	}
	if strings.Contains(g.proc.Output(), "category=gateway") || strings.Contains(g.proc.Output(), "category=ikev2") {
		t.Errorf("log.level warn let gateway or ikev2 lines through:\n%s", g.proc.Output())
	}
	// Each refusal is counted by its reason.
	if n := g.metrics(t)[`p2sgw_handshake_refusals_total{protocol="IKEv2",reason="AUTHENTICATION_FAILED",stage="IKE_AUTH"}`]; n != 4 {
		t.Errorf("metrics count %v AUTHENTICATION_FAILED refusals, the test provoked 4", n)
	}
}

// TestMetricsListen: with metrics_listen, a Prometheus server on the VNet scrapes /metrics in
// plain HTTP and a load balancer gets /healthz; status lists the listener.
func TestMetricsListen(t *testing.T) {
	testnet.Require(t)
	tp := testnet.New(t, testnet.Options{Clients: 1})
	addr := testnet.GatewayVNetAddr.String() + ":9100"
	g := startIKEGatewayWith(t, tp, []string{"--metrics-listen", addr})
	hc := tp.VNet.HTTPClient(5 * time.Second)
	resp, err := hc.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape from the VNet: %v\n%s", err, g.proc.Output())
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `p2sgw_pool_addresses{pool="100.64.0.0/24"} 253`) {
		t.Errorf("metrics lack the pool:\n%.2000s", body)
	}
	if resp, err := hc.Get("http://" + addr + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("/healthz: %v", err)
	}
	if resp, err := hc.Get("http://" + addr + "/v1/status"); err == nil && resp.StatusCode == 200 {
		t.Error("the plain metrics listener serves the admin API")
	}
	if resp, err := hc.Get("http://" + addr + "/debug/pprof/heap"); err == nil && resp.StatusCode == 200 {
		t.Error("the plain metrics listener serves Go's profiles")
	}
	// The admin socket serves them, for a developer chasing CPU or memory.
	admin := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", g.socket)
	}}}
	if resp, err := admin.Get("http://p2sgw/debug/pprof/goroutine?debug=1"); err != nil || resp.StatusCode != 200 {
		t.Errorf("/debug/pprof/goroutine on the admin socket: %v", err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "goroutine profile: total") {
			t.Errorf("/debug/pprof/goroutine on the admin socket: %.300s", body)
		}
	}
	if !strings.Contains(ok(t, "status", "--socket", g.socket).stdout, "metrics") {
		t.Error("status does not list the metrics listener")
	}
}

// TestIKEv2ClientToClient: with client_to_client on, the gateway grants the pool in the traffic
// selectors and forwards between clients: alice pings bob.
func TestIKEv2ClientToClient(t *testing.T) {
	testnet.Require(t, strongswan.Tools...)
	tp := testnet.New(t, testnet.Options{Clients: 2, ForwardOnGateway: true})
	g := startIKEGateway(t, tp, "client_to_client: false", "client_to_client: true")
	var vips []netip.Addr
	for i, name := range []string{"alice@example.com", "bob@example.com"} {
		c, _ := g.client(t, i, name, g.issueClient(t, name, "ecdsa-p256"), testnet.VNetPrefix, testnet.PoolPrefix)
		if out, err := c.Initiate(context.Background(), "p2s"); err != nil {
			t.Fatalf("%s: %v\n%s\n%s", name, err, out, c.Log())
		}
		vips = append(vips, virtualIP(t, c))
	}
	if out, err := tp.Clients[0].Run(t, context.Background(), "ping", "-c", "2", "-W", "2", vips[1].String()); err != nil {
		t.Fatalf("alice could not reach bob with client_to_client on: %v\n%s\ngateway log:\n%s", err, out, g.proc.Output())
	}
}

// TestIKEv2LiveRevocation: revoking a connected client's certificate, or removing its root, ends
// its session at once (Azure applies revocation to new connections only).
func TestIKEv2LiveRevocation(t *testing.T) {
	testnet.Require(t, strongswan.Tools...)
	tp := testnet.New(t, testnet.Options{Clients: 1, ForwardOnGateway: true})
	g := startIKEGateway(t, tp)
	cert := g.issueClient(t, "alice@example.com", "ecdsa-p256")
	c, _ := g.client(t, 0, "alice@example.com", cert)
	connect := func() {
		t.Helper()
		if out, err := c.Initiate(context.Background(), "p2s"); err != nil {
			t.Fatalf("connect: %v\n%s", err, out)
		}
	}
	ended := func(what string) {
		t.Helper()
		start := time.Now()
		if conns := g.connections(t); len(conns) != 0 {
			t.Fatalf("after %s the session is still listed: %+v", what, conns)
		}
		clientSAEnds(t, c, what)
		t.Logf("%s: the client's SA ended %v after the command returned", what, time.Since(start).Round(time.Millisecond))
	}

	connect()
	ok(t, "revoked-cert", "add", "--socket", g.socket, "--name", "alice-laptop", "--thumbprint", pki.ThumbprintsOf(cert.Cert.Raw).SHA256)
	ended("revoking the certificate")
	if out, err := c.Initiate(context.Background(), "p2s"); err == nil {
		t.Fatalf("reconnected with a revoked certificate:\n%s", out)
	}

	ok(t, "revoked-cert", "remove", "--socket", g.socket, "alice-laptop")
	connect()
	ok(t, "root-cert", "remove", "--socket", g.socket, "P2SRootCert")
	ended("removing the root")
	if !strings.Contains(g.proc.Output(), "its certificate no longer passes the policy") {
		t.Errorf("the gateway did not log why it ended the sessions:\n%s", g.proc.Output())
	}
}

// TestIKEv2DeadPeer: a client that vanishes (charon killed, so no Delete) is detected by the
// liveness checks and removed, and its address freed, after the dead peer timeout.
func TestIKEv2DeadPeer(t *testing.T) {
	testnet.Require(t, strongswan.Tools...)
	tp := testnet.New(t, testnet.Options{Clients: 1, ForwardOnGateway: true})
	g := startIKEGateway(t, tp, "dpd_interval: 30s", "dpd_interval: 1s", "dead_peer_timeout: 2m", "dead_peer_timeout: 3s")
	c, _ := g.client(t, 0, "alice@example.com", g.issueClient(t, "alice@example.com", "ecdsa-p256"))
	if out, err := c.Initiate(context.Background(), "p2s"); err != nil {
		t.Fatalf("connect: %v\n%s", err, out)
	}
	if n := len(g.connections(t)); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for len(g.connections(t)) != 0 {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("the vanished client is still listed after 30s:\n%s", g.proc.Output())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("vanished client removed %v after it was killed (dpd_interval 1s, dead_peer_timeout 3s)", time.Since(start).Round(100*time.Millisecond))
	if n := g.poolInUse(t); n != 0 {
		t.Errorf("the vanished client's address is still leased (%d in use)", n)
	}
	if !strings.Contains(g.proc.Output(), "no answer to the liveness check") {
		t.Errorf("the gateway did not log why it removed the client:\n%s", g.proc.Output())
	}
	if n := g.metrics(t)[`p2sgw_ike_events_total{event="dead_peer"}`]; n != 1 {
		t.Errorf("metrics count %v dead peers, want 1", n)
	}
}

// TestIKEv2ChildRekey: strongSwan rekeys its CHILD SA every few seconds (with and without PFS)
// while pinging the VNet; the gateway installs each new CHILD SA and retires the old one, and
// the pings keep getting answers.
func TestIKEv2ChildRekey(t *testing.T) {
	testnet.Require(t, strongswan.Tools...)
	for _, esp := range []string{"aes256gcm16", "aes256gcm16-ecp256"} {
		t.Run(esp, func(t *testing.T) {
			tp := testnet.New(t, testnet.Options{Clients: 1, ForwardOnGateway: true})
			g := startIKEGateway(t, tp)
			c, _ := g.clientWith(t, 0, "alice@example.com", g.issueClient(t, "alice@example.com", "ecdsa-p256"), func(conn *strongswan.Conn) {
				conn.RekeyTime = "3s"
				conn.ESPProposals = esp
			})
			if out, err := c.Initiate(context.Background(), "p2s"); err != nil {
				t.Fatalf("connect: %v\n%s", err, out)
			}
			before := virtualIP(t, c)
			// A checksummed transfer across the rekeys: 16 MiB read at about 2 MiB/s.
			data := blob()[:16<<20]
			sum := sha256.Sum256(data)
			web := tp.VNet.StartHTTP(t, netip.AddrPortFrom(testnet.VNetHostAddr, 8080).String(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.ServeContent(w, r, "blob", time.Time{}, bytes.NewReader(data))
			}))
			transfer := make(chan error, 1)
			go func() {
				resp, err := tp.Clients[0].HTTPClient(time.Minute).Get(web + "blob")
				if err != nil {
					transfer <- err
					return
				}
				defer resp.Body.Close()
				h := sha256.New()
				buf := make([]byte, 256<<10)
				for {
					n, err := resp.Body.Read(buf)
					h.Write(buf[:n])
					if err == io.EOF {
						break
					}
					if err != nil {
						transfer <- err
						return
					}
					time.Sleep(120 * time.Millisecond)
				}
				if got := h.Sum(nil); !bytes.Equal(got, sum[:]) {
					transfer <- fmt.Errorf("checksum %x, want %x", got, sum)
					return
				}
				transfer <- nil
			}()
			out, err := tp.Clients[0].Run(t, context.Background(), "ping", "-c", "16", "-i", "0.5", "-W", "2", testnet.VNetHostAddr.String())
			if err != nil {
				t.Fatalf("ping across rekeys: %v\n%s\ngateway log:\n%s", err, out, g.proc.Output())
			}
			t.Logf("ping across rekeys: %s", lastLines(out, 2))
			if !strings.Contains(out, " 0% packet loss") {
				t.Errorf("packets lost across rekeys: %s", lastLines(out, 2))
			}
			if n := strings.Count(g.proc.Output(), "CHILD SA rekeyed"); n < 2 {
				t.Fatalf("the gateway rekeyed %d times in 8 s with rekey_time 3s:\n%s\nclient:\n%s", n, g.proc.Output(), c.Log())
			}
			if after := virtualIP(t, c); after != before {
				t.Fatalf("address changed across rekeys: %s → %s", before, after)
			}
			if err := <-transfer; err != nil {
				t.Fatalf("the transfer across the rekeys: %v", err)
			}
			if conns := g.connections(t); len(conns) != 1 || conns[0].IngressBytes == 0 {
				t.Fatalf("connections after rekeys: %+v", conns)
			}
		})
	}
}

// logLine reports whether one line of log has every one of parts.
func logLine(log string, parts ...string) bool {
	for line := range strings.Lines(log) {
		all := true
		for _, p := range parts {
			if !strings.Contains(line, p) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}

// TestIKEv2UnderFlood: 10,000 IKE_SA_INIT requests from 50 addresses of one client host (never
// finished) while a real strongSwan client on another host connects: the gateway sheds the
// flood with per-source limits and cookies, and the real client, which returns the cookie, gets
// in.
func TestIKEv2UnderFlood(t *testing.T) {
	testnet.Require(t, strongswan.Tools...)
	tp := testnet.New(t, testnet.Options{Clients: 2, ForwardOnGateway: true})
	g := startIKEGateway(t, tp)
	flooder := tp.Clients[0]
	var conns []net.PacketConn
	for i := 1; i <= 50; i++ {
		a := netip.AddrFrom4([4]byte{198, 18, 2, byte(i)})
		if out, err := flooder.Run(t, context.Background(), "ip", "addr", "add", a.String()+"/16", "dev", "eth0"); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		pc, err := flooder.ListenPacket("udp4", netip.AddrPortFrom(a, 0).String())
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		conns = append(conns, pc)
	}
	// One valid request; each flood packet is it with another initiator SPI.
	root, _ := pki.NewRoot("flood", pki.Options{})
	fc, _ := root.IssueClient("flood@example.com", pki.Options{})
	_, tmpl, err := ike.NewInitiator(&ike.InitiatorConfig{
		Identity: ike.Identity{Chain: []*x509.Certificate{fc.Cert}, Key: fc.Key}, IKEProposals: transform.DefaultIKEProposals(),
		ESPProposals: transform.DefaultESPProposals(), Group: transform.DHCurve25519,
	}, netip.AddrPort{}, netip.AddrPort{})
	if err != nil {
		t.Fatal(err)
	}
	gw := net.UDPAddrFromAddrPort(netip.AddrPortFrom(testnet.GatewayAddr, 500))
	done := make(chan struct{})
	go func() {
		defer close(done)
		pkt := bytes.Clone(tmpl)
		for i := 0; i < 10000; i++ {
			binary.BigEndian.PutUint64(pkt[:8], uint64(i+1)<<20|0xf100d)
			conns[i%len(conns)].WriteTo(pkt, gw)
		}
	}()

	c, _ := g.client(t, 1, "alice@example.com", g.issueClient(t, "alice@example.com", "ecdsa-p256"))
	if out, err := c.Initiate(context.Background(), "p2s"); err != nil {
		t.Fatalf("the real client could not connect during the flood: %v\n%s\n%s", err, out, c.Log())
	}
	<-done
	if conns := g.connections(t); len(conns) != 1 || conns[0].User != "alice@example.com" {
		t.Fatalf("connections after the flood: %+v", conns)
	}
	t.Logf("connected during a 10,000-packet IKE_SA_INIT flood; strongSwan returned a cookie: %v",
		strings.Contains(c.Log(), "COOKIE"))
}

// TestIKEv2Fragmentation: a client with an RSA-4096 certificate across a path whose MTU is 1280
// fragments its IKE_AUTH (RFC 7383) and the gateway reassembles it; the gateway, with an RSA-4096
// certificate too, fragments its answer and strongSwan reassembles that.
func TestIKEv2Fragmentation(t *testing.T) {
	testnet.Require(t, strongswan.Tools...)
	tp := testnet.New(t, testnet.Options{Clients: 1, ForwardOnGateway: true, MTU: 1280})
	g := startIKEGatewayWith(t, tp, []string{"--key", "rsa-4096"})
	c, _ := g.client(t, 0, "alice@example.com", g.issueClient(t, "alice@example.com", "rsa-4096"))
	if out, err := c.Initiate(context.Background(), "p2s"); err != nil {
		t.Fatalf("connect: %v\n%s\n%s\ngateway:\n%s", err, out, c.Log(), g.proc.Output())
	}
	if !strings.Contains(c.Log(), "splitting IKE message") {
		t.Fatalf("strongSwan did not fragment its IKE_AUTH:\n%s", c.Log())
	}
	if !strings.Contains(c.Log(), "reassembled fragmented IKE message") {
		t.Fatalf("strongSwan did not receive a fragmented answer:\n%s", c.Log())
	}
	resp, err := tp.Clients[0].HTTPClient(10 * time.Second).Get(tp.StartVNetHTTP(t))
	if err != nil {
		t.Fatalf("through the tunnel: %v", err)
	}
	resp.Body.Close()
}

// TestIKEv2IKERekey: strongSwan rekeys its IKE SA every few seconds; the gateway answers, moves
// the session to the new IKE SA, forgets the old one when it is deleted, and the tunnel carries
// on — pings get answers, and a disconnect still reaches the client through the new IKE SA.
func TestIKEv2IKERekey(t *testing.T) {
	testnet.Require(t, strongswan.Tools...)
	tp := testnet.New(t, testnet.Options{Clients: 1, ForwardOnGateway: true})
	g := startIKEGateway(t, tp)
	c, _ := g.clientWith(t, 0, "alice@example.com", g.issueClient(t, "alice@example.com", "ecdsa-p256"), func(conn *strongswan.Conn) {
		conn.IKERekeyTime = "3s"
	})
	if out, err := c.Initiate(context.Background(), "p2s"); err != nil {
		t.Fatalf("connect: %v\n%s", err, out)
	}
	out, err := tp.Clients[0].Run(t, context.Background(), "ping", "-c", "16", "-i", "0.5", "-W", "2", testnet.VNetHostAddr.String())
	if err != nil || !strings.Contains(out, " 0% packet loss") {
		t.Fatalf("ping across IKE SA rekeys: %v\n%s\ngateway log:\n%s", err, out, g.proc.Output())
	}
	if n := strings.Count(g.proc.Output(), "IKE SA rekeyed"); n < 2 {
		t.Fatalf("the gateway rekeyed the IKE SA %d times in 8 s with rekey_time 3s:\n%s\nclient:\n%s", n, g.proc.Output(), c.Log())
	}
	conns := g.connections(t)
	if len(conns) != 1 {
		t.Fatalf("connections after IKE SA rekeys: %+v", conns)
	}
	ok(t, "connections", "disconnect", conns[0].ID, "--socket", g.socket)
	clientSAEnds(t, c, "a disconnect through the rekeyed IKE SA")
}

// TestIKEv2MOBIKE: the client's address changes (the old one is removed); strongSwan moves its
// SAs with MOBIKE (UPDATE_SA_ADDRESSES), and the gateway follows: same session, same VPN
// address, traffic flows from the new address.
func TestIKEv2MOBIKE(t *testing.T) {
	testnet.Require(t, strongswan.Tools...)
	tp := testnet.New(t, testnet.Options{Clients: 1, ForwardOnGateway: true})
	g := startIKEGateway(t, tp)
	c, _ := g.client(t, 0, "alice@example.com", g.issueClient(t, "alice@example.com", "ecdsa-p256"))
	if out, err := c.Initiate(context.Background(), "p2s"); err != nil {
		t.Fatalf("connect: %v\n%s", err, out)
	}
	before := g.connections(t)
	ns, ctx := tp.Clients[0], context.Background()
	for _, cmd := range [][]string{
		// Keep the new address (and its route) when the old primary one goes.
		{"sysctl", "-w", "net.ipv4.conf.eth0.promote_secondaries=1"},
		{"ip", "addr", "add", "198.18.1.100/16", "dev", "eth0"},
		{"ip", "addr", "del", tp.Clients[0].Addr.String() + "/16", "dev", "eth0"},
	} {
		if out, err := ns.Run(t, ctx, cmd[0], cmd[1:]...); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		conns := g.connections(t)
		if len(conns) == 1 && strings.HasPrefix(conns[0].PublicAddress, "198.18.1.100:") {
			if conns[0].ID != before[0].ID || conns[0].VPNAddress != before[0].VPNAddress {
				t.Fatalf("the session changed when the client moved: %+v → %+v", before[0], conns[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway did not follow the client: %+v\nclient:\n%s\ngateway:\n%s", conns, c.Log(), g.proc.Output())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out, err := ns.Run(t, ctx, "ping", "-c", "3", "-W", "2", testnet.VNetHostAddr.String()); err != nil {
		t.Fatalf("no traffic after the move: %v\n%s", err, out)
	}
	if !strings.Contains(g.proc.Output(), "client moved (MOBIKE)") {
		t.Errorf("the move did not come through MOBIKE:\n%s", g.proc.Output())
	}
}

// TestIKEv2GatewayRekey: the gateway rekeys a CHILD SA itself when its lifetime ends (the client
// does not): a CREATE_CHILD_SA of ours, then our Delete of the old SA; pings keep flowing.
func TestIKEv2GatewayRekey(t *testing.T) {
	testnet.Require(t, strongswan.Tools...)
	tp := testnet.New(t, testnet.Options{Clients: 1, ForwardOnGateway: true})
	g := startIKEGateway(t, tp, "child_lifetime: 3h", "child_lifetime: 3s")
	c, _ := g.client(t, 0, "alice@example.com", g.issueClient(t, "alice@example.com", "ecdsa-p256"))
	if out, err := c.Initiate(context.Background(), "p2s"); err != nil {
		t.Fatalf("connect: %v\n%s", err, out)
	}
	out, err := tp.Clients[0].Run(t, context.Background(), "ping", "-c", "16", "-i", "0.5", "-W", "2", testnet.VNetHostAddr.String())
	if err != nil || !strings.Contains(out, " 0% packet loss") {
		t.Fatalf("ping across the gateway's rekeys: %v\n%s\ngateway log:\n%s", err, out, g.proc.Output())
	}
	if n := strings.Count(g.proc.Output(), "CHILD SA rekeyed"); n < 2 {
		t.Fatalf("the gateway rekeyed %d times in 8 s with child_lifetime 3s:\n%s\nclient:\n%s", n, g.proc.Output(), c.Log())
	}
	if !strings.Contains(c.Log(), "received DELETE for ESP CHILD_SA") {
		t.Errorf("the client never got our Delete of the old CHILD SA:\n%s", c.Log())
	}
	if conns := g.connections(t); len(conns) != 1 {
		t.Fatalf("connections after the gateway's rekeys: %+v", conns)
	}
}

// TestIKEv2GatewayIKERekey: the gateway rekeys the IKE SA itself when ike_lifetime ends (the
// client does not): it becomes the new SA's initiator, deletes the old SA, and still answers as
// the gateway on the new one — the client's CHILD SA rekeys and its disconnect go through it.
// Pings keep flowing throughout.
func TestIKEv2GatewayIKERekey(t *testing.T) {
	testnet.Require(t, strongswan.Tools...)
	tp := testnet.New(t, testnet.Options{Clients: 1, ForwardOnGateway: true})
	g := startIKEGateway(t, tp, "ike_lifetime: 8h", "ike_lifetime: 3s")
	c, _ := g.clientWith(t, 0, "alice@example.com", g.issueClient(t, "alice@example.com", "ecdsa-p256"), func(conn *strongswan.Conn) {
		conn.RekeyTime = "4s" // the client rekeys its CHILD SA on the SAs the gateway made
	})
	if out, err := c.Initiate(context.Background(), "p2s"); err != nil {
		t.Fatalf("connect: %v\n%s", err, out)
	}
	before := virtualIP(t, c)
	out, err := tp.Clients[0].Run(t, context.Background(), "ping", "-c", "20", "-i", "0.5", "-W", "2", testnet.VNetHostAddr.String())
	if err != nil || !strings.Contains(out, " 0% packet loss") {
		t.Fatalf("ping across the gateway's IKE SA rekeys: %v\n%s\ngateway log:\n%s", err, out, g.proc.Output())
	}
	log := g.proc.Output()
	if n := len(regexp.MustCompile(`msg="IKE SA rekeyed" .*by="the gateway"`).FindAllString(log, -1)); n < 2 {
		t.Fatalf("the gateway rekeyed the IKE SA %d times in 10 s with ike_lifetime 3s:\n%s\nclient:\n%s", n, log, c.Log())
	}
	if strings.Contains(log, `by="the client"`) {
		t.Errorf("the client rekeyed the IKE SA; this test is about the gateway's rekeys:\n%s", log)
	}
	if n := g.metrics(t)[`p2sgw_ike_events_total{event="ike_sa_rekey"}`]; n < 2 {
		t.Errorf("metrics count %v IKE SA rekeys, the log shows at least 2", n)
	}
	if n := strings.Count(log, "CHILD SA rekeyed"); n < 1 {
		t.Errorf("no CHILD SA rekey by the client on the gateway's IKE SAs:\n%s\nclient:\n%s", log, c.Log())
	}
	if n := strings.Count(c.Log(), "received DELETE for IKE_SA"); n < 2 {
		t.Errorf("the client got %d Deletes of old IKE SAs:\n%s", n, c.Log())
	}
	if after := virtualIP(t, c); after != before {
		t.Fatalf("address changed across the IKE SA rekeys: %s → %s", before, after)
	}
	conns := g.connections(t)
	if len(conns) != 1 {
		t.Fatalf("connections after the gateway's IKE SA rekeys: %+v", conns)
	}
	ok(t, "connections", "disconnect", conns[0].ID, "--socket", g.socket)
	clientSAEnds(t, c, "a disconnect through the gateway's IKE SA")
}

// TestIKEv2EAPTLS: strongSwan authenticates with EAP-TLS (Azure's Windows certificate profile),
// terminated by the gateway: same policy, an address, traffic; a revoked certificate fails.
func TestIKEv2EAPTLS(t *testing.T) {
	testnet.Require(t, strongswan.Tools...)
	tp := testnet.New(t, testnet.Options{Clients: 2, ForwardOnGateway: true})
	g := startIKEGateway(t, tp)
	eapTLS := func(conn *strongswan.Conn) { conn.Auth = strongswan.AuthEAPTLS }
	c, _ := g.clientWith(t, 0, "alice@example.com", g.issueClient(t, "alice@example.com", "ecdsa-p256"), eapTLS)
	if out, err := c.Initiate(context.Background(), "p2s"); err != nil {
		t.Fatalf("EAP-TLS connect: %v\n%s\n%s\ngateway:\n%s", err, out, c.Log(), g.proc.Output())
	}
	conns := g.connections(t)
	if len(conns) != 1 || conns[0].User != "alice@example.com" || conns[0].AuthMethod != "eap-tls" {
		t.Fatalf("connections: %+v", conns)
	}
	resp, err := tp.Clients[0].HTTPClient(10 * time.Second).Get(tp.StartVNetHTTP(t))
	if err != nil {
		t.Fatalf("through the tunnel: %v", err)
	}
	resp.Body.Close()

	revoked := g.issueClient(t, "bob@example.com", "ecdsa-p256")
	ok(t, "revoked-cert", "add", "--socket", g.socket, "--name", "bob", "--thumbprint", pki.ThumbprintsOf(revoked.Cert.Raw).SHA1)
	b, _ := g.clientWith(t, 1, "bob@example.com", revoked, eapTLS)
	if out, err := b.Initiate(context.Background(), "p2s"); err == nil {
		t.Fatalf("a revoked certificate connected with EAP-TLS:\n%s", out)
	}
	if !strings.Contains(g.proc.Output(), "revoked") {
		t.Errorf("the gateway did not log the revocation:\n%s", g.proc.Output())
	}
}

// TestIKEv2ProposalMatrix drives strongSwan with the proposals the native clients offer
// (../shared/INTEROP.md): each connects to the default proposals — except Windows' built-in
// defaults (MODP-1024, SHA-1), which are refused unless legacy_windows_proposals is on.
func TestIKEv2ProposalMatrix(t *testing.T) {
	testnet.Require(t, strongswan.Tools...)
	clients := []struct {
		name, ike, esp string
		legacyOnly     bool
	}{
		{"Windows 10/11 with our policy", "aes256gcm16-prfsha256-ecp256", "aes256gcm16", false},
		{"Windows 10/11 defaults", "aes256-sha1-modp1024,aes128-sha1-modp1024,aes256-sha256-modp1024", "aes256-sha1,aes128-sha1", true},
		{"macOS", "aes256-sha256-modp2048", "aes256-sha256", false},
		{"iOS", "aes256-sha256-ecp256,aes256-sha256-modp2048", "aes256-sha256,aes256gcm16", false},
		{"Android 12+", "aes256gcm16-prfsha256-curve25519,aes256-sha256-modp2048,aes256-sha256-modp4096", "aes256gcm16,aes256-sha256", false},
	}
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprintf("legacy_windows_proposals=%v", legacy), func(t *testing.T) {
			tp := testnet.New(t, testnet.Options{Clients: 1, ForwardOnGateway: true})
			var g *ikeGateway
			if legacy {
				g = startIKEGateway(t, tp, "legacy_windows_proposals: false", "legacy_windows_proposals: true")
			} else {
				g = startIKEGateway(t, tp)
			}
			cert := g.issueClient(t, "alice@example.com", "ecdsa-p256")
			for i, cl := range clients {
				t.Run(cl.name, func(t *testing.T) {
					c, _ := g.clientWith(t, 0, "alice@example.com", cert, func(conn *strongswan.Conn) {
						conn.Name = fmt.Sprintf("p2s%d", i)
						conn.Proposals, conn.ESPProposals = cl.ike, cl.esp
					})
					out, err := c.Initiate(context.Background(), fmt.Sprintf("p2s%d", i))
					want := legacy || !cl.legacyOnly
					switch {
					case want && err != nil:
						t.Fatalf("refused: %v\n%s\n%s", err, out, c.Log())
					case !want && err == nil:
						t.Fatalf("connected with Windows' weak defaults and the switch off:\n%s", out)
					case !want && !strings.Contains(c.Log(), "NO_PROPOSAL_CHOSEN"):
						t.Errorf("refused, but not with NO_PROPOSAL_CHOSEN:\n%s", c.Log())
					}
					if err == nil {
						c.Terminate(context.Background(), fmt.Sprintf("p2s%d", i))
					}
				})
			}
		})
	}
}

// TestIKEv2ConnectionLimit: with a Custom SKU's max_ikev2_connections of 1, the second client
// is refused (INTERNAL_ADDRESS_FAILURE), the refusal is logged and counted, and the IKE SA the
// client holds after it is deleted; once the first disconnects, the second gets in.
func TestIKEv2ConnectionLimit(t *testing.T) {
	testnet.Require(t, strongswan.Tools...)
	tp := testnet.New(t, testnet.Options{Clients: 2, ForwardOnGateway: true})
	g := startIKEGatewayWith(t, tp, []string{"--sku", "Custom", "--max-connections", "10"},
		"max_connections: 10", "max_connections: 10\n  max_ikev2_connections: 1")
	alice, _ := g.client(t, 0, "alice@example.com", g.issueClient(t, "alice@example.com", "ecdsa-p256"))
	if out, err := alice.Initiate(context.Background(), "p2s"); err != nil {
		t.Fatalf("first client: %v\n%s", err, out)
	}
	bob, _ := g.client(t, 1, "bob@example.com", g.issueClient(t, "bob@example.com", "ecdsa-p256"))
	if out, err := bob.Initiate(context.Background(), "p2s"); err == nil {
		t.Fatalf("a second client passed max_ikev2_connections 1:\n%s", out)
	}
	if !strings.Contains(g.proc.Output(), "1 of 1 IKEv2 connections in use (SKU Custom)") {
		t.Errorf("the gateway did not log the limit:\n%s", g.proc.Output())
	}
	if n := g.metrics(t)[`p2sgw_handshake_refusals_total{protocol="IKEv2",reason="INTERNAL_ADDRESS_FAILURE",stage="IKE_AUTH"}`]; n != 1 {
		t.Errorf("metrics count %v limit refusals, want 1", n)
	}
	// The refused client authenticated, so it holds an IKE SA until the gateway's Delete.
	clientSAEnds(t, bob, "the refusal")
	ok(t, "connections", "disconnect", "--user", "alice@example.com", "--socket", g.socket)
	clientSAEnds(t, alice, "connections disconnect")
	if out, err := bob.Initiate(context.Background(), "p2s"); err != nil {
		t.Fatalf("the second client once the first left: %v\n%s\nclient:\n%s\ngateway:\n%s", err, out, bob.Log(), g.proc.Output())
	}
}

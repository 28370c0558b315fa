package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/api"
	"github.com/p2sgw/p2sgw/apiclient"
	"github.com/p2sgw/p2sgw/certauth"
	"github.com/p2sgw/p2sgw/config"
	"github.com/p2sgw/p2sgw/pki"
	"github.com/p2sgw/p2sgw/session"
	"github.com/p2sgw/p2sgw/store/memstore"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func testConfig(t *testing.T) *config.Config {
	t.Helper()
	dir := t.TempDir()
	cfg := &config.Config{
		Name:               "gw-test",
		PublicAddress:      "vpn.test.example",
		ClientAddressPools: []netip.Prefix{netip.MustParsePrefix("100.64.0.0/29")},
		VNetAddressSpace:   []netip.Prefix{netip.MustParsePrefix("198.19.0.0/16")},
		StateDir:           filepath.Join(dir, "state"),
		Admin:              config.Admin{Socket: filepath.Join(dir, "control.sock")},
		// No IKEv2: unit tests must not create a TUN device or bind UDP 500 in the root
		// namespace. The protocols are tested in network namespaces (e2e).
		TunnelTypes: []string{config.TunnelSSTP},
	}
	cfg.ApplyDefaults()
	return cfg
}

func newTestGateway(t *testing.T, cfg *config.Config) *Gateway {
	t.Helper()
	// AdminOnly: unit tests must not create a TUN device or open tunnel listeners in the root
	// namespace. The protocols are tested in network namespaces (e2e).
	g, err := newWithStore(context.Background(), cfg, Options{Log: quiet, Version: "test", AdminOnly: true}, memstore.New())
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func mustRoot(t *testing.T, cn string) *pki.CA {
	t.Helper()
	ca, err := pki.NewRoot(cn, pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func mustClient(t *testing.T, ca *pki.CA, name string) *x509.Certificate {
	t.Helper()
	c, err := ca.IssueClient(name, pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c.Cert
}

func b64(c *x509.Certificate) string { return base64.StdEncoding.EncodeToString(c.Raw) }

func apiStatus(err error) int {
	var e *api.Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

func TestRootsAndRevocationDriveThePolicy(t *testing.T) {
	ctx := context.Background()
	g := newTestGateway(t, testConfig(t))
	ca := mustRoot(t, "P2SRoot")
	alice := mustClient(t, ca, "alice@example.com")

	if _, err := g.Policy().Verify(alice, nil, time.Now()); !errors.Is(err, certauth.ErrUntrusted) {
		t.Fatalf("before upload: %v, want ErrUntrusted", err)
	}
	if _, err := g.AddRootCert(ctx, api.AddRootCertRequest{Name: "P2SRoot", PublicCertData: b64(ca.Cert)}); err != nil {
		t.Fatal(err)
	}
	if id, err := g.Policy().Verify(alice, nil, time.Now()); err != nil || id.Root != "P2SRoot" {
		t.Fatalf("after upload: %+v, %v", id, err)
	}
	tp := pki.ThumbprintsOf(alice.Raw)
	if _, err := g.AddRevokedCert(ctx, api.AddRevokedCertRequest{Name: "alice", Thumbprint: strings.ToLower(tp.SHA256)}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Policy().Verify(alice, nil, time.Now()); !errors.Is(err, certauth.ErrRevoked) {
		t.Fatalf("after revocation: %v, want ErrRevoked", err)
	}
	if err := g.RemoveRevokedCert(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Policy().Verify(alice, nil, time.Now()); err != nil {
		t.Fatalf("after reinstatement: %v", err)
	}
	if err := g.RemoveRootCert(ctx, "P2SRoot"); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Policy().Verify(alice, nil, time.Now()); !errors.Is(err, certauth.ErrUntrusted) {
		t.Fatalf("after root removal: %v, want ErrUntrusted", err)
	}
}

func TestRootLimitComesFromTheSKU(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	cfg.SKU = config.SKUCustom
	cfg.Limits = &config.Limits{MaxConnections: 10, MaxRootCerts: 2}
	g := newTestGateway(t, cfg)
	for i, name := range []string{"r1", "r2", "r3"} {
		_, err := g.AddRootCert(ctx, api.AddRootCertRequest{Name: name, PublicCertData: b64(mustRoot(t, name).Cert)})
		switch {
		case i < 2 && err != nil:
			t.Fatalf("root %d: %v", i+1, err)
		case i == 2 && apiStatus(err) != http.StatusForbidden:
			t.Fatalf("third root with a limit of 2: %v, want 403", err)
		}
	}
	st, _ := g.Status(ctx)
	if st.RootCerts != 2 || st.SKU.MaxRootCerts != 2 {
		t.Fatalf("status: %d roots, max %d", st.RootCerts, st.SKU.MaxRootCerts)
	}
}

func TestDisconnectEndsTheSessionAndFreesItsAddress(t *testing.T) {
	ctx := context.Background()
	g := newTestGateway(t, testConfig(t))
	var mu sync.Mutex
	closed := map[string]string{}
	add := func(user, proto string) *session.Session {
		id := session.NewID(proto)
		addr, err := g.Pools().Acquire(ctx, user, id)
		if err != nil {
			t.Fatal(err)
		}
		s := &session.Session{ID: id, User: user, Protocol: proto, AuthMethod: "certificate", VPNAddr: addr,
			PublicAddr: netip.MustParseAddrPort("198.18.1.1:4500"), StartedAt: time.Now(),
			Close: func(reason string) {
				// As a protocol does once its tunnel is down: free the address.
				mu.Lock()
				closed[id] = reason
				mu.Unlock()
				g.Pools().Release(ctx, addr, id)
			}}
		if err := g.Sessions().Add(ctx, s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := add("alice", session.IKEv2)
	b := add("bob", session.SSTP)
	a.Counters.IngressBytes.Add(1500)

	conns, _ := g.Connections(ctx)
	if len(conns) != 2 || conns[0].ID != a.ID || conns[0].IngressBytes != 1500 || conns[0].VPNAddress != a.VPNAddr.String() || conns[0].PublicAddress != "198.18.1.1:4500" {
		t.Fatalf("connections = %+v", conns)
	}
	st, _ := g.Status(ctx)
	if st.Connections.Total != 2 || st.Connections.ByProtocol["IKEv2"] != 1 || st.Connections.ByProtocol["SSTP"] != 1 || st.Pools[0].InUse != 2 {
		t.Fatalf("status = %+v", st)
	}

	// One unknown id refuses the whole request: nothing is disconnected.
	if _, err := g.Disconnect(ctx, []string{a.ID, "IKEv2_NOPE"}); apiStatus(err) != http.StatusNotFound || !strings.Contains(err.Error(), "IKEv2_NOPE") {
		t.Fatalf("Disconnect with an unknown id = %v, want 404 naming it", err)
	}
	if len(closed) != 0 {
		t.Fatalf("sessions closed despite the refusal: %v", closed)
	}
	done, err := g.Disconnect(ctx, []string{a.ID})
	if err != nil || len(done) != 1 || closed[a.ID] != "disconnected by admin" {
		t.Fatalf("Disconnect = %v, %v; closed %v", done, err, closed)
	}
	if st, _ := g.Status(ctx); st.Pools[0].InUse != 1 || st.Connections.Total != 1 {
		t.Fatalf("after disconnect: pool in use %d, connections %d; want 1 and 1", st.Pools[0].InUse, st.Connections.Total)
	}

	// Shutting down ends the remaining sessions.
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error)
	go func() { served <- g.Serve(sctx, stop) }()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if closed[b.ID] != "gateway shutting down" {
		t.Fatalf("shutdown did not close bob's session: %v", closed)
	}
	if n := g.Pools()[0].InUse(); n != 0 {
		t.Fatalf("after shutdown %d addresses are still leased, want 0", n)
	}
}

func TestReloadKeepsRestartOnlySettings(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	g := newTestGateway(t, cfg)
	next := testConfig(t) // another state dir and socket
	next.SKU = "VpnGw2"
	next.ApplyDefaults()
	kept, err := g.apply(ctx, next)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(kept, ",") != "state_dir,admin" {
		t.Errorf("kept settings = %v, want state_dir and admin", kept)
	}
	got := g.Config()
	if got.SKU != "VpnGw2" {
		t.Errorf("SKU = %s, want VpnGw2", got.SKU)
	}
	if got.StateDir != cfg.StateDir || got.Admin.Socket != cfg.Admin.Socket {
		t.Errorf("state dir / socket changed live: %s %s", got.StateDir, got.Admin.Socket)
	}
}

func TestReloadKeepsPoolsAndTheirLeases(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	g := newTestGateway(t, cfg)
	addr, _ := g.Pools().Acquire(ctx, "alice", "IKEv2_A")
	next := *cfg
	next.ClientAddressPools = append([]netip.Prefix{netip.MustParsePrefix("100.65.0.0/24")}, cfg.ClientAddressPools...)
	if _, err := g.apply(ctx, &next); err != nil {
		t.Fatal(err)
	}
	p := g.Pools().Find(addr)
	if p == nil || p.InUse() != 1 || len(g.Pools()) != 2 {
		t.Fatalf("after adding a pool, alice's lease was lost (pools %d)", len(g.Pools()))
	}
}

// TestAdminOverMutualTLS serves the admin API on loopback TCP: a client with a certificate from
// the admin CA is served, one without a certificate or with another CA's is refused.
func TestAdminOverMutualTLS(t *testing.T) {
	dir := t.TempDir()
	adminCA := mustRoot(t, "admin CA")
	srv, err := adminCA.IssueServer(nil, []netip.Addr{netip.MustParseAddr("127.0.0.1")}, pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.WriteFiles(dir, "admin"); err != nil {
		t.Fatal(err)
	}
	if err := adminCA.WriteFiles(dir, "admin-ca"); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.Admin.Listen = "127.0.0.1:0"
	cfg.Admin.TLSCertificate = filepath.Join(dir, "admin.crt")
	cfg.Admin.TLSKey = filepath.Join(dir, "admin.key")
	cfg.Admin.ClientCA = filepath.Join(dir, "admin-ca.crt")
	g := newTestGateway(t, cfg)
	ctx, stop := context.WithCancel(context.Background())
	ready := make(chan struct{})
	served := make(chan error, 1)
	go func() { served <- g.Serve(ctx, func() { close(ready) }) }()
	defer func() { stop(); <-served }()
	<-ready
	var addr string
	for _, l := range g.listenerInfo() {
		if l.Name == "admin-tls" {
			addr = l.Address
		}
	}
	if addr == "" {
		t.Fatal("no admin-tls listener")
	}

	roots := x509.NewCertPool()
	roots.AddCert(adminCA.Cert)
	tlsCert := func(ca *pki.CA) []tls.Certificate {
		c, err := ca.IssueClient("admin", pki.Options{})
		if err != nil {
			t.Fatal(err)
		}
		key, _ := c.KeyPEM()
		pair, err := tls.X509KeyPair(c.ChainPEM(), key)
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{pair}
	}
	call := func(certs []tls.Certificate) error {
		c := apiclient.NewTLS(addr, &tls.Config{RootCAs: roots, Certificates: certs, MinVersion: tls.VersionTLS12})
		_, err := c.Status(context.Background())
		return err
	}
	if err := call(tlsCert(adminCA)); err != nil {
		t.Fatalf("client with an admin certificate: %v", err)
	}
	if err := call(nil); err == nil {
		t.Fatal("client without a certificate was served")
	}
	if err := call(tlsCert(mustRoot(t, "stranger"))); err == nil {
		t.Fatal("client with another CA's certificate was served")
	}
}

func TestUnixSocketIsPrivateAndStaleOneReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "control.sock")
	ln, err := listenUnix(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, %v", fi.Mode().Perm(), err)
	}
	if _, err := listenUnix(path); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second listener on a live socket: %v", err)
	}
	ln.Close() // leaves the file behind, as a crash would
	ln2, err := listenUnix(path)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	ln2.Close()
}

// TestRevocationEndsLiveSessions: revoking a certificate, or removing the root it chains to,
// ends the sessions that authenticated with it at once; other sessions stay.
func TestRevocationEndsLiveSessions(t *testing.T) {
	ctx := context.Background()
	g := newTestGateway(t, testConfig(t))
	ca := mustRoot(t, "P2SRoot")
	other := mustRoot(t, "Other")
	for _, r := range []struct {
		name string
		ca   *pki.CA
	}{{"P2SRoot", ca}, {"Other", other}} {
		if _, err := g.AddRootCert(ctx, api.AddRootCertRequest{Name: r.name, PublicCertData: b64(r.ca.Cert)}); err != nil {
			t.Fatal(err)
		}
	}
	closed := map[string]string{}
	add := func(user string, issuer *pki.CA) *session.Session {
		cert := mustClient(t, issuer, user)
		s := &session.Session{ID: session.NewID(session.IKEv2), User: user, Protocol: session.IKEv2, StartedAt: time.Now(),
			Certificates: [][]byte{cert.Raw}}
		s.Close = func(reason string) { closed[user] = reason }
		if err := g.Sessions().Add(ctx, s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	alice := add("alice", ca)
	add("bob", ca)
	add("carol", other)

	tp := pki.ThumbprintsOf(alice.Certificates[0])
	if _, err := g.AddRevokedCert(ctx, api.AddRevokedCertRequest{Name: "alice-laptop", Thumbprint: tp.SHA1}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(closed["alice"], "revoked") || closed["bob"] != "" || closed["carol"] != "" {
		t.Fatalf("after revoking alice: closed %v", closed)
	}
	if err := g.RemoveRootCert(ctx, "Other"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(closed["carol"], "not trusted") || closed["bob"] != "" {
		t.Fatalf("after removing carol's root: closed %v", closed)
	}
	if g.Sessions().Count("") != 1 || g.Sessions().List()[0].User != "bob" {
		t.Fatalf("sessions left: %v", g.Sessions().List())
	}
}

// TestRestartOnlyWithTunnels: with the IKEv2 listener running, what it was built from cannot
// change on reload; the VNet, client_to_client and the pools can (the data plane's policy and
// the TUN's addresses follow).
func TestRestartOnlyWithTunnels(t *testing.T) {
	a := testConfig(t)
	b := *a
	b.TUN, b.ClientToClient = "p2sgw9", true
	b.VNetAddressSpace = []netip.Prefix{netip.MustParsePrefix("198.20.0.0/16")}
	b.ClientAddressPools = []netip.Prefix{netip.MustParsePrefix("100.65.0.0/24")}
	b.IKE.DPDInterval = "5s"
	if got := strings.Join(restartOnly(a, &b, true), ","); got != "tun,ike" {
		t.Fatalf("restart-only with tunnels = %s", got)
	}
	if got := restartOnly(a, &b, false); len(got) != 0 {
		t.Fatalf("restart-only without tunnels = %v", got)
	}
	keepRestartOnly(a, &b, true)
	if b.TUN != a.TUN || b.ClientAddressPools[0].String() != "100.65.0.0/24" || !b.ClientToClient || b.VNetAddressSpace[0].String() != "198.20.0.0/16" {
		t.Fatalf("after keepRestartOnly: %+v", b)
	}
}

// TestRestartOnlyRADIUS: the RADIUS servers, timeout and retries change live; whether
// accounting is on and its interval need a restart, and so does adding or removing the section.
func TestRestartOnlyRADIUS(t *testing.T) {
	no := false
	two := 2
	a := testConfig(t)
	a.RADIUS = &config.RADIUS{Servers: []config.RADIUSServer{{Address: "198.19.0.20:1812", Secret: "s3cret-s3cret-s3cret"}}, InterimInterval: "5m"}
	b := *a
	rb := *a.RADIUS
	b.RADIUS = &rb
	rb.Servers = []config.RADIUSServer{{Address: "198.19.0.21:1812", Secret: "an0ther-s3cret-here"}}
	rb.Timeout, rb.Retries = "2s", &two
	if got := restartOnly(a, &b, true); len(got) != 0 {
		t.Fatalf("new servers, timeout and retries: restart-only = %v", got)
	}
	rb.Accounting, rb.InterimInterval = &no, "1m"
	if got := strings.Join(restartOnly(a, &b, true), ","); got != "radius.accounting,radius.interim_interval" {
		t.Fatalf("accounting off, new interval: restart-only = %s", got)
	}
	keepRestartOnly(a, &b, true)
	if b.RADIUS.Accounting != nil || b.RADIUS.InterimInterval != "5m" || b.RADIUS.Servers[0].Address != "198.19.0.21:1812" || *b.RADIUS.Retries != 2 {
		t.Fatalf("after keepRestartOnly: %+v", *b.RADIUS)
	}
	if a.RADIUS.Servers[0].Address != "198.19.0.20:1812" {
		t.Fatalf("keepRestartOnly changed the running config: %+v", *a.RADIUS)
	}
	c := *a
	c.RADIUS = nil
	if got := strings.Join(restartOnly(a, &c, true), ","); got != "radius" {
		t.Fatalf("section removed: restart-only = %s", got)
	}
	keepRestartOnly(a, &c, true)
	if c.RADIUS != a.RADIUS {
		t.Fatalf("section removed: the running one is not kept")
	}
}

// TestReloadPools: a reload that changes the pools keeps every session whose address still
// lies in a pool — a pool that grew takes over its lease, so the address is not handed out
// twice — and ends the sessions of a pool that was removed, releasing their addresses.
func TestReloadPools(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	cfg.ClientAddressPools = []netip.Prefix{netip.MustParsePrefix("100.64.0.0/29"), netip.MustParsePrefix("100.64.1.0/29")}
	g := newTestGateway(t, cfg)
	closed := map[string]string{}
	add := func(user string) *session.Session {
		id := session.NewID(session.IKEv2)
		addr, err := g.Pools().Acquire(ctx, user, id)
		if err != nil {
			t.Fatal(err)
		}
		s := &session.Session{ID: id, User: user, Protocol: session.IKEv2, StartedAt: time.Now(), VPNAddr: addr}
		s.Close = func(reason string) { closed[user] = reason }
		if err := g.Sessions().Add(ctx, s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	// The first /29 has five leasable addresses: the sixth session goes to the second pool.
	var sessions []*session.Session
	for _, u := range []string{"a", "b", "c", "d", "e", "f"} {
		sessions = append(sessions, add(u))
	}
	if got := sessions[5].VPNAddr.String(); got != "100.64.1.2" {
		t.Fatalf("sixth session got %s, want 100.64.1.2 from the second pool", got)
	}

	// The first pool grows to a /28; the second is removed.
	next := *g.Config()
	next.ClientAddressPools = []netip.Prefix{netip.MustParsePrefix("100.64.0.0/28")}
	if _, err := g.apply(ctx, &next); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(closed["f"], "pool was removed") || len(closed) != 1 {
		t.Fatalf("closed %v: want only f's session, for its removed pool", closed)
	}
	pools := g.Pools()
	if len(pools) != 1 || pools[0].Prefix().String() != "100.64.0.0/28" {
		t.Fatalf("pools after reload: %v", pools)
	}
	if n := pools[0].InUse(); n != 5 {
		t.Fatalf("the /28 holds %d leases, want the 5 live sessions' addresses", n)
	}
	// A new client gets none of the live sessions' addresses.
	addr, err := pools[0].Acquire(ctx, "g", session.NewID(session.IKEv2))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sessions[:5] {
		if s.VPNAddr == addr {
			t.Fatalf("a new client got %s, which %s holds", addr, s.User)
		}
	}

	// A reload with an invalid pool changes nothing.
	bad := *g.Config()
	bad.ClientAddressPools = []netip.Prefix{netip.MustParsePrefix("2001:db8::/64")}
	if _, err := g.apply(ctx, &bad); err == nil {
		t.Fatal("an IPv6 pool was applied")
	}
	if got := g.Pools(); len(got) != 1 || got[0] != pools[0] {
		t.Fatalf("pools after a refused reload: %v", got)
	}
}

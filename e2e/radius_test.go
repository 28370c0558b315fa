package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/internal/freeradius"
	"github.com/p2sgw/p2sgw/internal/strongswan"
	"github.com/p2sgw/p2sgw/internal/testnet"
)

// radiusTools are what a RADIUS test needs: strongSwan as the client, FreeRADIUS as the server.
var radiusTools = append(append([]string(nil), strongswan.Tools...), freeradius.Tools...)

// startRADIUSGateway starts p2sgw with auth (e.g. "radius" or "certificate,radius") and the
// given FreeRADIUS servers, in failover order, each with its secret in a 0600 file; edits
// change gateway.yaml as for startIKEGateway (e.g. "timeout: 5s", "timeout: 1s").
func startRADIUSGateway(t *testing.T, tp *testnet.Topology, auth string, servers []*freeradius.Server, edits ...string) *ikeGateway {
	t.Helper()
	return startRADIUSGatewayWith(t, tp, nil, auth, servers, edits...)
}

// startRADIUSGatewayWith is startRADIUSGateway with more p2sgw init flags.
func startRADIUSGatewayWith(t *testing.T, tp *testnet.Topology, initArgs []string, auth string, servers []*freeradius.Server, edits ...string) *ikeGateway {
	t.Helper()
	args := append([]string{"--auth", auth}, initArgs...)
	for i, s := range servers {
		f := filepath.Join(t.TempDir(), fmt.Sprintf("radius%d.secret", i))
		if err := os.WriteFile(f, []byte(s.Secret()+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--radius-server", s.AuthAddr(), "--radius-secret-file", f)
	}
	return startIKEGatewayWith(t, tp, args, edits...)
}

// passwordClient is a strongSwan client in namespace i that signs in with EAP-MSCHAPv2.
func (g *ikeGateway) passwordClient(t *testing.T, i int, user, password string) *strongswan.Client {
	t.Helper()
	c, _ := g.clientWith(t, i, user, nil, func(conn *strongswan.Conn) {
		conn.Auth, conn.Password = strongswan.AuthEAPMSCHAPv2, password
	})
	return c
}

// TestRADIUSEAPMSCHAPv2: a user from FreeRADIUS's users file signs in with EAP-MSCHAPv2
// relayed by the gateway: it gets the Framed-IP-Address FreeRADIUS assigns, reaches the VNet,
// and its session is accounted (Start, Interim-Update, Stop with the connection id as
// Acct-Session-Id and the octets the gateway counted); a wrong password is refused with the
// reason in the log; a Session-Timeout ends a session.
func TestRADIUSEAPMSCHAPv2(t *testing.T) {
	testnet.Require(t, radiusTools...)
	tp := testnet.New(t, testnet.Options{Clients: 3, ForwardOnGateway: true})
	framed := netip.MustParseAddr("100.64.0.77")
	rs := freeradius.Start(t, tp.VNet, freeradius.Options{Users: []freeradius.User{
		{Name: "alice", Password: "correct horse battery staple", FramedIP: framed, Class: "p2s-users", ReplyMessage: "Welcome, Alice"},
		{Name: "bob", Password: "tr0ub4dor&3"},
		{Name: "carol", Password: "hunter2hunter2", SessionTimeout: 3 * time.Second},
	}})
	g := startRADIUSGateway(t, tp, "radius", []*freeradius.Server{rs}, "interim_interval: 5m", "interim_interval: 2s")

	alice := g.passwordClient(t, 0, "alice", "correct horse battery staple")
	if out, err := alice.Initiate(context.Background(), "p2s"); err != nil {
		t.Fatalf("EAP-MSCHAPv2 connect: %v\n%s\nclient:\n%s\ngateway:\n%s\nFreeRADIUS:\n%s", err, out, alice.Log(), g.proc.Output(), rs.Log())
	}
	if got := virtualIP(t, alice); got != framed {
		t.Fatalf("alice got %s; FreeRADIUS's Framed-IP-Address is %s", got, framed)
	}
	// Traffic through the tunnel: 1 MiB from the VNet.
	data := blob()[:1<<20]
	web := tp.VNet.StartHTTP(t, netip.AddrPortFrom(testnet.VNetHostAddr, 8080).String(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "blob", time.Time{}, bytes.NewReader(data))
	}))
	resp, err := tp.Clients[0].HTTPClient(10 * time.Second).Get(web + "blob")
	if err != nil {
		t.Fatalf("through the tunnel: %v", err)
	}
	if n, err := io.Copy(io.Discard, resp.Body); err != nil || n != int64(len(data)) {
		t.Fatalf("through the tunnel: %d octets, %v", n, err)
	}
	resp.Body.Close()
	conns := g.connections(t)
	if len(conns) != 1 || conns[0].User != "alice" || conns[0].AuthMethod != "radius" || conns[0].VPNAddress != framed.String() {
		t.Fatalf("connections: %+v", conns)
	}
	id := conns[0].ID
	if !strings.Contains(g.proc.Output(), "Welcome, Alice") {
		t.Errorf("the gateway did not log FreeRADIUS's Reply-Message:\n%s", g.proc.Output())
	}

	// A wrong password: refused, and the gateway says why.
	bob := g.passwordClient(t, 1, "bob", "wrong password")
	if out, err := bob.Initiate(context.Background(), "p2s"); err == nil {
		t.Fatalf("a wrong password connected:\n%s", out)
	}
	if !strings.Contains(g.proc.Output(), "bob: rejected by the authentication server") {
		t.Errorf("the gateway did not log the reject:\n%s", g.proc.Output())
	}

	// Session-Timeout: carol's session ends after 3 s, and its Stop says why.
	carol := g.passwordClient(t, 2, "carol", "hunter2hunter2")
	if out, err := carol.Initiate(context.Background(), "p2s"); err != nil {
		t.Fatalf("carol: %v\n%s", err, out)
	}
	var carolID string
	for _, c := range g.connections(t) {
		if c.User == "carol" {
			carolID = c.ID
		}
	}
	clientSAEnds(t, carol, "carol's 3 s Session-Timeout")
	if cause := waitAcct(t, rs, carolID, "Stop", nil)["Acct-Terminate-Cause"]; cause != "Session-Timeout" {
		t.Errorf("carol's Stop has Acct-Terminate-Cause %q, want Session-Timeout", cause)
	}

	// Accounting: wait for an Interim-Update after the transfer, then disconnect.
	interim := waitAcct(t, rs, id, "Interim-Update", func(r freeradius.Record) bool { return acctUint(r, "Acct-Output-Octets") > 0 })
	before := g.connections(t)[0]
	if before.ID != id {
		t.Fatalf("connections after carol's timeout: %+v", g.connections(t))
	}
	ok(t, "connections", "disconnect", id, "--socket", g.socket)
	clientSAEnds(t, alice, "connections disconnect")
	start := waitAcct(t, rs, id, "Start", nil)
	stop := waitAcct(t, rs, id, "Stop", nil)
	for _, r := range []freeradius.Record{start, interim, stop} {
		if r["User-Name"] != "alice" || r["Framed-IP-Address"] != framed.String() || !strings.Contains(r["Class"], "p2s-users") && !strings.Contains(r["Class"], hexOf("p2s-users")) {
			t.Errorf("%s record: %v", r["Acct-Status-Type"], r)
		}
	}
	// The Stop counts what the gateway counted (Input: from the client, Output: to it), give
	// or take the last packets before the disconnect.
	in, out := acctUint(stop, "Acct-Input-Octets"), acctUint(stop, "Acct-Output-Octets")
	if out < before.EgressBytes || out > before.EgressBytes+64<<10 || in < before.IngressBytes || in > before.IngressBytes+64<<10 {
		t.Errorf("Stop octets in %d out %d; the gateway counted ingress %d egress %d before the disconnect", in, out, before.IngressBytes, before.EgressBytes)
	}
	if out < 1<<20 {
		t.Errorf("Stop reports %d octets to the client after a 1 MiB download", out)
	}
	if stop["Acct-Terminate-Cause"] != "Admin-Reset" {
		t.Errorf("Acct-Terminate-Cause %q after an admin disconnect, want Admin-Reset", stop["Acct-Terminate-Cause"])
	}
}

// waitAcct waits up to 10 s for FreeRADIUS's detail log to hold a record of status for the
// session id that also satisfies ok (if given), and returns it.
func waitAcct(t *testing.T, rs *freeradius.Server, id, status string, ok func(freeradius.Record) bool) freeradius.Record {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, r := range rs.AcctRecords(t) {
			if r["Acct-Session-Id"] == id && r["Acct-Status-Type"] == status && (ok == nil || ok(r)) {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s record for %s in FreeRADIUS's detail log: %v\nFreeRADIUS:\n%s", status, id, rs.AcctRecords(t), rs.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func acctUint(r freeradius.Record, attr string) uint64 {
	n, _ := strconv.ParseUint(r[attr], 10, 64)
	return n
}

func hexOf(s string) string { return fmt.Sprintf("0x%x", s) }

// TestRADIUSEAPTLS: EAP-TLS relayed to FreeRADIUS, with a client certificate from FreeRADIUS's
// own CA (one the gateway does not trust): the RADIUS server decides, the gateway relays.
func TestRADIUSEAPTLS(t *testing.T) {
	testnet.Require(t, radiusTools...)
	tp := testnet.New(t, testnet.Options{Clients: 1, ForwardOnGateway: true})
	rs := freeradius.Start(t, tp.VNet, freeradius.Options{})
	g := startRADIUSGateway(t, tp, "radius", []*freeradius.Server{rs})
	cert := rs.IssueClient(t, "carol@example.com")
	c, _ := g.clientWith(t, 0, "carol@example.com", cert, func(conn *strongswan.Conn) {
		conn.Auth = strongswan.AuthEAPTLS
		conn.AAAID = rs.ServerName()
		conn.AAACACertPEM = rs.CAPEM()
	})
	if out, err := c.Initiate(context.Background(), "p2s"); err != nil {
		t.Fatalf("EAP-TLS through FreeRADIUS: %v\n%s\nclient:\n%s\ngateway:\n%s\nFreeRADIUS:\n%s", err, out, c.Log(), g.proc.Output(), rs.Log())
	}
	conns := g.connections(t)
	if len(conns) != 1 || conns[0].User != "carol@example.com" || conns[0].AuthMethod != "radius" {
		t.Fatalf("connections: %+v", conns)
	}
	resp, err := tp.Clients[0].HTTPClient(10 * time.Second).Get(tp.StartVNetHTTP(t))
	if err != nil {
		t.Fatalf("through the tunnel: %v", err)
	}
	resp.Body.Close()
}

// TestRADIUSWithCertificates: with certificate and RADIUS both on, each client gets in the way
// it asks: a certificate client with IKEv2 signatures, a password client through RADIUS (it
// declines the EAP-TLS the gateway offers first with a Nak, and is relayed).
func TestRADIUSWithCertificates(t *testing.T) {
	testnet.Require(t, radiusTools...)
	tp := testnet.New(t, testnet.Options{Clients: 2, ForwardOnGateway: true})
	rs := freeradius.Start(t, tp.VNet, freeradius.Options{Users: []freeradius.User{{Name: "alice", Password: "correct horse battery staple"}}})
	g := startRADIUSGateway(t, tp, "certificate,radius", []*freeradius.Server{rs})
	cert, _ := g.client(t, 0, "bob@example.com", g.issueClient(t, "bob@example.com", "ecdsa-p256"))
	if out, err := cert.Initiate(context.Background(), "p2s"); err != nil {
		t.Fatalf("certificate client: %v\n%s", err, out)
	}
	alice := g.passwordClient(t, 1, "alice", "correct horse battery staple")
	if out, err := alice.Initiate(context.Background(), "p2s"); err != nil {
		t.Fatalf("password client with EAP-TLS offered first: %v\n%s\nclient:\n%s\ngateway:\n%s", err, out, alice.Log(), g.proc.Output())
	}
	methods := map[string]string{}
	for _, c := range g.connections(t) {
		methods[c.User] = c.AuthMethod
	}
	if methods["bob@example.com"] != "certificate" || methods["alice"] != "radius" {
		t.Fatalf("auth methods: %v", methods)
	}
}

// TestRADIUSFailover: with the first server silent (frozen: no answer, no ICMP refusal), a
// client connects through the second after the first's timeout and retries; `status` shows
// the first down and the second up. With every server stopped the client is refused promptly
// and the log says why.
func TestRADIUSFailover(t *testing.T) {
	testnet.Require(t, radiusTools...)
	tp := testnet.New(t, testnet.Options{Clients: 1, ForwardOnGateway: true})
	users := []freeradius.User{{Name: "alice", Password: "correct horse battery staple"}}
	first := freeradius.Start(t, tp.VNet, freeradius.Options{Users: users})
	second := freeradius.Start(t, tp.VNet, freeradius.Options{Users: users, Addr: netip.MustParseAddr("198.19.0.11")})
	g := startRADIUSGateway(t, tp, "radius", []*freeradius.Server{first, second}, "timeout: 5s", "timeout: 1s", "retries: 2", "retries: 1")
	if err := first.Freeze(); err != nil {
		t.Fatal(err)
	}

	alice := g.passwordClient(t, 0, "alice", "correct horse battery staple")
	began := time.Now()
	if out, err := alice.Initiate(context.Background(), "p2s"); err != nil {
		t.Fatalf("connect with the first server silent: %v\n%s\ngateway:\n%s", err, out, g.proc.Output())
	}
	t.Logf("connected %v after the connect began, through the second server (timeout 1s, retries 1)", time.Since(began).Round(100*time.Millisecond))
	st := decodeJSON[radiusStatusJSON](t, ok(t, "status", "--json", "--socket", g.socket))
	if len(st.RADIUSServers) != 2 || st.RADIUSServers[0].State != "down" || st.RADIUSServers[1].State != "up" || st.RADIUSServers[0].Timeouts == 0 {
		t.Fatalf("RADIUS servers in status: %+v", st.RADIUSServers)
	}
	text := ok(t, "status", "--socket", g.socket).stdout
	if !strings.Contains(text, first.AuthAddr()) || !strings.Contains(text, "down") {
		t.Errorf("status does not show the first server down:\n%s", text)
	}
	if _, err := alice.Terminate(context.Background(), "p2s"); err != nil {
		t.Fatal(err)
	}

	first.Stop()
	second.Stop()
	began = time.Now()
	if out, err := alice.Initiate(context.Background(), "p2s"); err == nil {
		t.Fatalf("connected with every RADIUS server down:\n%s", out)
	}
	t.Logf("refused %v after the connect began, every server down", time.Since(began).Round(100*time.Millisecond))
	if !strings.Contains(g.proc.Output(), "did not answer") {
		t.Errorf("the gateway's log does not say the RADIUS servers did not answer:\n%s", g.proc.Output())
	}
}

type radiusStatusJSON struct {
	RADIUSServers []struct {
		Address   string `json:"address"`
		State     string `json:"state"`
		LastError string `json:"last_error"`
		Timeouts  uint64 `json:"timeouts"`
	} `json:"radius_servers"`
}

// TestRADIUSReload: a reload that replaces the RADIUS server (and rotates the shared secret in
// its file) takes effect without a restart: the Stop of a session that began on the old server
// goes to the new one, the next sign-in is answered by the new one, status lists only it, and
// the latency histogram counts its answers.
func TestRADIUSReload(t *testing.T) {
	testnet.Require(t, radiusTools...)
	ctx := context.Background()
	tp := testnet.New(t, testnet.Options{Clients: 1, ForwardOnGateway: true})
	users := []freeradius.User{{Name: "alice", Password: "correct horse battery staple"}}
	first := freeradius.Start(t, tp.VNet, freeradius.Options{Users: users})
	second := freeradius.Start(t, tp.VNet, freeradius.Options{Users: users, Addr: netip.MustParseAddr("198.19.0.11")})
	g := startRADIUSGateway(t, tp, "radius", []*freeradius.Server{first})

	alice := g.passwordClient(t, 0, "alice", "correct horse battery staple")
	if out, err := alice.Initiate(ctx, "p2s"); err != nil {
		t.Fatalf("connect through the first server: %v\n%s", err, out)
	}
	id := g.connections(t)[0].ID
	waitAcct(t, first, id, "Start", nil)

	b, err := os.ReadFile(g.config)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`secret_file: (\S+)`).FindSubmatch(b)
	if m == nil || !bytes.Contains(b, []byte(first.AuthAddr())) {
		t.Fatalf("gateway.yaml names no secret file or not %s:\n%s", first.AuthAddr(), b)
	}
	if err := os.WriteFile(string(m[1]), []byte(second.Secret()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b = bytes.ReplaceAll(b, []byte(first.AuthAddr()), []byte(second.AuthAddr()))
	b = bytes.ReplaceAll(b, []byte(first.AcctAddr()), []byte(second.AcctAddr()))
	if err := os.WriteFile(g.config, b, 0o644); err != nil {
		t.Fatal(err)
	}
	first.Stop()
	ok(t, "reload", "--socket", g.socket)

	ok(t, "connections", "disconnect", id, "--socket", g.socket)
	clientSAEnds(t, alice, "connections disconnect")
	waitAcct(t, second, id, "Stop", nil)

	if out, err := alice.Initiate(ctx, "p2s"); err != nil {
		t.Fatalf("connect after the reload: %v\n%s\ngateway:\n%s", err, out, g.proc.Output())
	}
	st := decodeJSON[radiusStatusJSON](t, ok(t, "status", "--json", "--socket", g.socket))
	if len(st.RADIUSServers) != 1 || st.RADIUSServers[0].Address != second.AuthAddr() || st.RADIUSServers[0].State != "up" {
		t.Fatalf("RADIUS servers in status after the reload: %+v", st.RADIUSServers)
	}
	metric := fmt.Sprintf(`p2sgw_radius_request_duration_seconds_count{kind="access",server="%s"}`, second.AuthAddr())
	if n := g.metrics(t)[metric]; n == 0 {
		t.Errorf("metrics: %s = 0", metric)
	}
	if strings.Contains(g.proc.Output(), "needs a restart") {
		t.Errorf("the reload kept a RADIUS setting for a restart:\n%s", g.proc.Output())
	}
}

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/internal/freeradius"
	"github.com/p2sgw/p2sgw/internal/sstpc"
	"github.com/p2sgw/p2sgw/internal/testnet"
	"github.com/p2sgw/p2sgw/pki"
	"github.com/p2sgw/p2sgw/vpnclient"
	"golang.zx2c4.com/wireguard/tun"
)

// TestSSTPWithSSTPC: Debian's sstpc + pppd (in User-Mode Linux) signs in over SSTP with
// MS-CHAPv2 and with PAP (sstp_pap on), checked by FreeRADIUS through the gateway: it gets an address from
// the pool, pings the VNet host and fetches a file from it with a matching checksum; a wrong
// password is refused and the gateway says why.
func TestSSTPWithSSTPC(t *testing.T) {
	testnet.Require(t, append(append([]string(nil), radiusTools...), sstpc.Tools...)...)
	tp := testnet.New(t, testnet.Options{Clients: 1, ForwardOnGateway: true})
	rs := freeradius.Start(t, tp.VNet, freeradius.Options{Users: []freeradius.User{{Name: "alice", Password: "correct horse battery staple"}}})
	g := startRADIUSGatewayWith(t, tp, []string{"--tunnel-types", "sstp"}, "radius", []*freeradius.Server{rs}, "sstp_pap: false", "sstp_pap: true")
	data := blob()[:4<<20]
	sum := sha256.Sum256(data)
	web := tp.VNet.StartHTTP(t, netip.AddrPortFrom(testnet.VNetHostAddr, 8080).String(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "blob", time.Time{}, bytes.NewReader(data))
	}))
	ca := filepath.Join(g.dir, "etc", "pki", "server-root.crt")
	server := netip.AddrPortFrom(testnet.GatewayAddr, 443)
	for _, auth := range []string{sstpc.AuthMSCHAPv2, sstpc.AuthPAP} {
		t.Run(auth, func(t *testing.T) {
			res := sstpc.Run(t, tp.Clients[0], sstpc.Options{
				Server: server, User: "alice", Password: "correct horse battery staple", Auth: auth, CAFile: ca,
				Ping: []netip.Addr{testnet.VNetHostAddr}, Fetch: []string{web + "blob"},
			})
			if !res.Connected {
				t.Fatalf("sstpc did not connect:\n%s\ngateway:\n%s", res.Log, g.proc.Output())
			}
			if !netip.MustParsePrefix("100.64.0.0/24").Contains(res.Addr) {
				t.Errorf("ppp0 got %v, not from the pool", res.Addr)
			}
			if !res.Pings[testnet.VNetHostAddr] {
				t.Errorf("no ping through the tunnel:\n%s", res.Log)
			}
			if f := res.Fetches[web+"blob"]; f.Size != int64(len(data)) || f.SHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("fetch through the tunnel: %+v, want %d octets with SHA-256 %x", f, len(data), sum)
			}
			if !strings.Contains(g.proc.Output(), "protocol=SSTP auth=radius") {
				t.Errorf("the gateway did not log the SSTP connection:\n%s", g.proc.Output())
			}
			// pppd's MPPE keys (MS-CHAPv2) or none (PAP) made sstpc's Compound MAC; the gateway
			// checked it against the keys from FreeRADIUS.
			if n := strings.Count(g.proc.Output(), "SSTP crypto binding verified"); n < 1 {
				t.Errorf("no verified crypto binding in the gateway's log:\n%s", g.proc.Output())
			}

			bad := sstpc.Run(t, tp.Clients[0], sstpc.Options{Server: server, User: "alice", Password: "wrong", Auth: auth, CAFile: ca, Timeout: 30 * time.Second})
			if bad.Connected {
				t.Fatalf("a wrong password connected:\n%s", bad.Log)
			}
			if !logLine(g.proc.Output(), `msg="client refused"`, "category=p2s", "protocol=SSTP", "user=alice", "reason=rejected") {
				t.Errorf("the gateway did not log the refusal:\n%s", g.proc.Output())
			}
		})
	}
}

// TestSSTPOwnClientEAPTLS: p2sgw's own SSTP client (vpnclient) signs in with EAP-TLS, using a
// client certificate from `p2sgw pki issue-client`, terminated by the gateway; a TUN device in
// the client namespace carries the kernel's TCP through the tunnel, and 64 MiB come from the
// VNet host with a matching checksum. Revoking the certificate ends the session at once; a
// revoked certificate is refused.
func TestSSTPOwnClientEAPTLS(t *testing.T) {
	testnet.Require(t) // root and namespaces; the client is our own
	tp := testnet.New(t, testnet.Options{Clients: 1, ForwardOnGateway: true})
	g := startIKEGatewayWith(t, tp, []string{"--tunnel-types", "sstp"})
	alice := g.issueClient(t, "alice@example.com", "ecdsa-p256")
	data := blob()[:64<<20]
	sum := sha256.Sum256(data)
	web := tp.VNet.StartHTTP(t, netip.AddrPortFrom(testnet.VNetHostAddr, 8080).String(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost { // an upload: its SHA-256 and length back
			h := sha256.New()
			n, err := io.Copy(h, r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			fmt.Fprintf(w, "%x %d", h.Sum(nil), n)
			return
		}
		http.ServeContent(w, r, "blob", time.Time{}, bytes.NewReader(data))
	}))
	roots := x509.NewCertPool()
	rootPEM, err := os.ReadFile(filepath.Join(g.dir, "etc", "pki", "server-root.crt"))
	if err != nil {
		t.Fatal(err)
	}
	serverRoot, err := pki.ParseCertificate(rootPEM)
	if err != nil {
		t.Fatal(err)
	}
	roots.AddCert(serverRoot)
	dial := func(cert *pki.Cert) (*vpnclient.SSTP, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		tc := tls.Certificate{PrivateKey: cert.Key, Leaf: cert.Cert, Certificate: [][]byte{cert.Cert.Raw}}
		return vpnclient.DialSSTP(ctx, vpnclient.SSTPConfig{
			Server: netip.AddrPortFrom(testnet.GatewayAddr, 443).String(), ServerName: "vpn.e2e.example", Roots: roots,
			Certificate: &tc, Dial: tp.Clients[0].DialContext,
		})
	}
	tunnel, err := dial(alice)
	if err != nil {
		t.Fatalf("EAP-TLS over SSTP: %v\ngateway:\n%s", err, g.proc.Output())
	}
	defer tunnel.Close()
	conns := g.connections(t)
	if len(conns) != 1 || conns[0].Protocol != "SSTP" || conns[0].AuthMethod != "eap-tls" || conns[0].User != "alice@example.com" || conns[0].VPNAddress != tunnel.Addr.String() {
		t.Fatalf("connections: %+v (the tunnel has %v)", conns, tunnel.Addr)
	}
	bridgeTUN(t, tp.Clients[0], tunnel)
	resp, err := tp.Clients[0].HTTPClient(2 * time.Minute).Get(web + "blob")
	if err != nil {
		t.Fatalf("through the SSTP tunnel: %v", err)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	if err != nil || n != int64(len(data)) || !bytes.Equal(h.Sum(nil), sum[:]) {
		t.Fatalf("64 MiB through the tunnel: %d octets, %v, checksum %x want %x", n, err, h.Sum(nil), sum)
	}
	if conns := g.connections(t); len(conns) != 1 || conns[0].EgressBytes < uint64(len(data)) {
		t.Errorf("the gateway counted %+v after 64 MiB", conns)
	}
	// And 32 MiB up, from the client to the VNet: the gateway hands a client's frames to the
	// data plane in batches, in place in its read buffers.
	up := data[:32<<20]
	upSum := sha256.Sum256(up)
	resp, err = tp.Clients[0].HTTPClient(2*time.Minute).Post(web+"upload", "application/octet-stream", bytes.NewReader(up))
	if err != nil {
		t.Fatalf("upload through the SSTP tunnel: %v", err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf("%x %d", upSum, len(up)); string(got) != want {
		t.Fatalf("32 MiB up: the VNet host got %.200q, want %q", got, want)
	}
	if conns := g.connections(t); len(conns) != 1 || conns[0].IngressBytes < uint64(len(up)) {
		t.Errorf("the gateway counted %+v after 32 MiB up", conns)
	}

	// Revoking alice's certificate ends her live SSTP session too.
	ok(t, "revoked-cert", "add", "--socket", g.socket, "--name", "alice", "--thumbprint", pki.ThumbprintsOf(alice.Cert.Raw).SHA1)
	deadline := time.Now().Add(5 * time.Second)
	for len(g.connections(t)) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("alice's SSTP session outlived the revocation of her certificate: %+v", g.connections(t))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := tunnel.ReadPacket(); err == nil {
		// Packets still queued are fine; the tunnel must end after them.
		for err == nil {
			_, err = tunnel.ReadPacket()
		}
	}

	bob := g.issueClient(t, "bob@example.com", "ecdsa-p256")
	ok(t, "revoked-cert", "add", "--socket", g.socket, "--name", "bob", "--thumbprint", pki.ThumbprintsOf(bob.Cert.Raw).SHA1)
	if bad, err := dial(bob); err == nil {
		bad.Close()
		t.Fatal("a revoked certificate signed in over SSTP")
	}
	if !strings.Contains(g.proc.Output(), "revoked") {
		t.Errorf("the gateway did not log the revocation:\n%s", g.proc.Output())
	}
}

// bridgeTUN gives the client namespace a TUN device with the tunnel's address and a route to
// the VNet through it, and copies packets between the two until the test ends.
func bridgeTUN(t *testing.T, ns *testnet.Namespace, tunnel *vpnclient.SSTP) {
	t.Helper()
	var dev tun.Device
	if err := ns.Do(func() error {
		var err error
		dev, err = tun.CreateTUN("sstp0", 1400)
		return err
	}); err != nil {
		t.Fatalf("TUN in %s: %v", ns, err)
	}
	t.Cleanup(func() { dev.Close() })
	for _, args := range [][]string{
		{"ip", "addr", "add", tunnel.Addr.String() + "/32", "dev", "sstp0"},
		{"ip", "link", "set", "sstp0", "up"},
		{"ip", "route", "add", testnet.VNetPrefix.String(), "dev", "sstp0"},
	} {
		if out, err := ns.Run(t, context.Background(), args[0], args[1:]...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	const offset = 16 // room for the TUN's virtio-net header
	go func() {       // the kernel → the tunnel
		bufs := make([][]byte, dev.BatchSize())
		sizes := make([]int, len(bufs))
		for i := range bufs {
			bufs[i] = make([]byte, offset+65535)
		}
		for {
			n, err := dev.Read(bufs, sizes, offset)
			if err != nil {
				return
			}
			// A batch as it came, in as few TLS records as it fits (the gateway takes the
			// frames apart and hands them to the data plane as a batch too).
			pkts := make([][]byte, n)
			for i := range n {
				pkts[i] = bufs[i][offset : offset+sizes[i]]
			}
			if tunnel.WritePackets(pkts) != nil {
				return
			}
		}
	}()
	go func() { // the tunnel → the kernel
		buf := make([]byte, offset+65535)
		for {
			pkt, err := tunnel.ReadPacket()
			if err != nil {
				return
			}
			n := copy(buf[offset:], pkt)
			dev.Write([][]byte{buf[:offset+n]}, offset)
		}
	}()
}

// TestSSTPEAPRelayedToRADIUS: with auth_types radius, an SSTP client's EAP goes to the RADIUS
// server: EAP-TLS with a certificate from FreeRADIUS's own CA (one the gateway does not trust)
// signs in, the HLAK for the crypto binding coming from the Access-Accept's MS-MPPE keys.
func TestSSTPEAPRelayedToRADIUS(t *testing.T) {
	testnet.Require(t, freeradius.Tools...)
	tp := testnet.New(t, testnet.Options{Clients: 1, ForwardOnGateway: true})
	rs := freeradius.Start(t, tp.VNet, freeradius.Options{})
	g := startRADIUSGatewayWith(t, tp, []string{"--tunnel-types", "sstp"}, "radius", []*freeradius.Server{rs})
	rootPEM, err := os.ReadFile(filepath.Join(g.dir, "etc", "pki", "server-root.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots, aaaRoots := x509.NewCertPool(), x509.NewCertPool()
	roots.AppendCertsFromPEM(rootPEM)
	aaaRoots.AppendCertsFromPEM(rs.CAPEM())
	carol := rs.IssueClient(t, "carol@example.com")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tunnel, err := vpnclient.DialSSTP(ctx, vpnclient.SSTPConfig{
		Server: netip.AddrPortFrom(testnet.GatewayAddr, 443).String(), ServerName: "vpn.e2e.example", Roots: roots,
		Certificate:   &tls.Certificate{PrivateKey: carol.Key, Leaf: carol.Cert, Certificate: [][]byte{carol.Cert.Raw}},
		EAPServerName: rs.ServerName(), EAPRoots: aaaRoots, Dial: tp.Clients[0].DialContext,
	})
	if err != nil {
		t.Fatalf("EAP-TLS relayed to FreeRADIUS over SSTP: %v\ngateway:\n%s\nFreeRADIUS:\n%s", err, g.proc.Output(), rs.Log())
	}
	defer tunnel.Close()
	conns := g.connections(t)
	if len(conns) != 1 || conns[0].Protocol != "SSTP" || conns[0].AuthMethod != "radius" || conns[0].User != "carol@example.com" {
		t.Fatalf("connections: %+v", conns)
	}
	if !strings.Contains(g.proc.Output(), "SSTP crypto binding verified") {
		t.Errorf("no verified crypto binding:\n%s", g.proc.Output())
	}
}

// TestSSTPConnectionLimit: the SKU's SSTP cap (here a Custom SKU's max_sstp_connections: 1)
// refuses the connection that would pass it, with the reason in the log, while IKEv2 is not
// affected by it.
func TestSSTPConnectionLimit(t *testing.T) {
	testnet.Require(t)
	tp := testnet.New(t, testnet.Options{Clients: 1, ForwardOnGateway: true})
	g := startIKEGatewayWith(t, tp, []string{"--tunnel-types", "sstp", "--sku", "Custom", "--max-connections", "10"},
		"max_connections: 10", "max_connections: 10\n  max_sstp_connections: 1")
	rootPEM, err := os.ReadFile(filepath.Join(g.dir, "etc", "pki", "server-root.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(rootPEM)
	dial := func(name string) (*vpnclient.SSTP, error) {
		c := g.issueClient(t, name, "ecdsa-p256")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return vpnclient.DialSSTP(ctx, vpnclient.SSTPConfig{
			Server: netip.AddrPortFrom(testnet.GatewayAddr, 443).String(), ServerName: "vpn.e2e.example", Roots: roots,
			Certificate: &tls.Certificate{PrivateKey: c.Key, Leaf: c.Cert, Certificate: [][]byte{c.Cert.Raw}}, Dial: tp.Clients[0].DialContext,
		})
	}
	first, err := dial("alice@example.com")
	if err != nil {
		t.Fatalf("first SSTP client: %v\n%s", err, g.proc.Output())
	}
	defer first.Close()
	if second, err := dial("bob@example.com"); err == nil {
		second.Close()
		t.Fatal("a second SSTP connection passed max_sstp_connections: 1")
	}
	if !strings.Contains(g.proc.Output(), "1 of 1 SSTP connections in use (SKU Custom)") {
		t.Errorf("the gateway did not log the limit:\n%s", g.proc.Output())
	}
	if conns := g.connections(t); len(conns) != 1 || conns[0].User != "alice@example.com" {
		t.Errorf("connections: %+v", conns)
	}
}

package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/internal/freeradius"
	"github.com/p2sgw/p2sgw/internal/sstpc"
	"github.com/p2sgw/p2sgw/internal/testnet"
)

// TestSSTPWithSSTPC: Debian's sstpc + pppd (in User-Mode Linux) signs in over SSTP with
// MS-CHAPv2 and with PAP, checked by FreeRADIUS through the gateway: it gets an address from
// the pool, pings the VNet host and fetches a file from it with a matching checksum; a wrong
// password is refused and the gateway says why.
func TestSSTPWithSSTPC(t *testing.T) {
	testnet.Require(t, append(append([]string(nil), radiusTools...), sstpc.Tools...)...)
	tp := testnet.New(t, testnet.Options{Clients: 1, ForwardOnGateway: true})
	rs := freeradius.Start(t, tp.VNet, freeradius.Options{Users: []freeradius.User{{Name: "alice", Password: "correct horse battery staple"}}})
	g := startRADIUSGatewayWith(t, tp, []string{"--tunnel-types", "sstp"}, "radius", []*freeradius.Server{rs})
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
			if !strings.Contains(g.proc.Output(), "SSTP sign-in refused") {
				t.Errorf("the gateway did not log the refusal:\n%s", g.proc.Output())
			}
		})
	}
}

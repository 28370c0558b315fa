package testnet

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// VNetGreeting starts every answer of the VNet host's HTTP server (StartVNetHTTP):
// "p2sgw-vnet-ok <client address:port>\n". A test that finds it in a body it fetched from
// a client namespace has proved that the client reached the VNet.
const VNetGreeting = "p2sgw-vnet-ok"

// VNetHTTPAddr is where StartVNetHTTP listens.
var VNetHTTPAddr = netip.AddrPortFrom(VNetHostAddr, 80)

// StartVNetHTTP starts the greeting server on VNetHTTPAddr in the VNet namespace and
// returns its URL, "http://198.19.0.10:80/". See StartHTTP.
func (tp *Topology) StartVNetHTTP(t T) string {
	t.Helper()
	return tp.VNet.StartHTTP(t, VNetHTTPAddr.String(), http.HandlerFunc(greet))
}

// greet answers with VNetGreeting and the address the request came from, as the server
// saw it: the client's own address shows that nothing translated it on the way.
func greet(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "%s %s\n", VNetGreeting, r.RemoteAddr)
}

// StartHTTP serves h on the TCP address addr inside the namespace and returns the base
// URL. The server stops when the test ends or the topology closes, whichever comes
// first. StartHTTP calls t.Fatal if it cannot listen.
func (n *Namespace) StartHTTP(t T, addr string, h http.Handler) string {
	t.Helper()
	ln, err := n.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("testnet: listen on %s in %s: %v", addr, n.Name, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	if err := n.tp.onClose(srv.Close); err != nil {
		srv.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/"
}

// HTTPClient returns an HTTP client whose every connection is dialled inside the
// namespace, with the given timeout per request and per dial (0: none). It uses no proxy,
// whatever the environment says, and keeps no idle connections, which would keep a
// deleted namespace alive.
func (n *Namespace) HTTPClient(timeout time.Duration) *http.Client {
	dial := n.DialContext
	if timeout > 0 {
		// net/http lets a dial outlive its cancelled request; bound it.
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			return n.DialContext(ctx, network, addr)
		}
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:             nil,
			DialContext:       dial,
			DisableKeepAlives: true,
		},
	}
}

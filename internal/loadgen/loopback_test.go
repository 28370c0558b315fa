package loadgen

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/certauth"
	"github.com/p2sgw/p2sgw/esp"
	"github.com/p2sgw/p2sgw/ike"
	"github.com/p2sgw/p2sgw/ike/transform"
	"github.com/p2sgw/p2sgw/netio"
	"github.com/p2sgw/p2sgw/pki"
	"github.com/p2sgw/p2sgw/pool"
	"github.com/p2sgw/p2sgw/store/memstore"
)

// gateway is our IKEv2 responder (ike.Server) on loopback sockets: enough of a gateway to run
// the generator against without namespaces. It answers echo requests through the tunnels.
type gateway struct {
	ikeAddr, nattAddr netip.AddrPort
	serverRoot        *pki.CA
	clientRoot        *pki.CA

	mu      sync.Mutex // guards tunnels
	tunnels map[netip.Addr]*ike.Tunnel
	up      atomic.Int64
	ended   atomic.Int64
}

var vnetHost = netip.MustParseAddr("198.19.0.10")

// world is a gateway's credentials and policy, and the client root it trusts.
type world struct {
	rc         *ike.ResponderConfig
	serverRoot *pki.CA
	clientRoot *pki.CA
}

func newWorld(t *testing.T, ikeProposals []transform.Proposal) *world {
	t.Helper()
	w := &world{}
	var err error
	if w.serverRoot, err = pki.NewRoot("server root", pki.Options{}); err != nil {
		t.Fatal(err)
	}
	server, err := w.serverRoot.IssueServer([]string{"vpn.loadgen.test"}, nil, pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if w.clientRoot, err = pki.NewRoot("client root", pki.Options{}); err != nil {
		t.Fatal(err)
	}
	policy := new(certauth.Policy)
	policy.SetRoots(map[string]*x509.Certificate{"client root": w.clientRoot.Cert})
	addrs, err := pool.New(context.Background(), netip.MustParsePrefix("100.64.0.0/18"), memstore.New(), "n1", nil)
	if err != nil {
		t.Fatal(err)
	}
	var spi, session atomic.Uint32
	spi.Store(0x10000)
	w.rc = &ike.ResponderConfig{
		Identity:     ike.Identity{Chain: []*x509.Certificate{server.Cert}, Key: server.Key},
		IKEProposals: ikeProposals,
		ESPProposals: transform.DefaultESPProposals(),
		Authenticate: func(leaf *x509.Certificate, inter []*x509.Certificate) (string, error) {
			id, err := policy.Verify(leaf, inter, time.Now())
			if err != nil {
				return "", err
			}
			return id.Name, nil
		},
		Assign: func(name string, _ *ike.Grant) (*ike.Lease, error) {
			a, err := addrs.Acquire(context.Background(), name, fmt.Sprintf("s-%d", session.Add(1)))
			if err != nil {
				return nil, err
			}
			return &ike.Lease{Addr: a, Subnets: []netip.Prefix{netip.MustParsePrefix("198.19.0.0/16")}}, nil
		},
		AllocateSPI: func() (uint32, error) { return spi.Add(1), nil },
	}
	return w
}

func startGateway(t *testing.T, ikeProposals []transform.Proposal, limits ike.Limits, timers ike.Timers) *gateway {
	t.Helper()
	w := newWorld(t, ikeProposals)
	g := &gateway{tunnels: map[netip.Addr]*ike.Tunnel{}, serverRoot: w.serverRoot, clientRoot: w.clientRoot}
	rc := w.rc
	ikeConn, err := netio.Listen("127.0.0.1:0", 16)
	if err != nil {
		t.Fatal(err)
	}
	natt, err := netio.Listen("127.0.0.1:0", 16)
	if err != nil {
		t.Fatal(err)
	}
	g.ikeAddr, g.nattAddr = ikeConn.LocalAddr(), natt.LocalAddr()
	srv := ike.NewServer(rc, ikeConn, natt, ike.Hooks{
		Established: func(sa *ike.SA, tun *ike.Tunnel) error {
			g.mu.Lock()
			g.tunnels[tun.Addr()] = tun
			g.mu.Unlock()
			g.up.Add(1)
			return nil
		},
		Ended: func(sa *ike.SA, tun *ike.Tunnel, _ string) {
			g.mu.Lock()
			delete(g.tunnels, tun.Addr())
			g.mu.Unlock()
			g.up.Add(-1)
			g.ended.Add(1)
		},
		Released: func(*ike.Lease) {},
		Deliver:  g.echo,
	}, timers, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.SetLimits(limits)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-served })
	return g
}

// echo answers the echo requests to vnetHost that clients send through their tunnels.
func (g *gateway) echo(from netip.Addr, bufs [][]byte, off int) int {
	for _, b := range bufs {
		typ, id, src, dst, ok := parseEcho(b[off:])
		if !ok || typ != icmpEcho || src != from || dst != vnetHost {
			continue
		}
		seq := uint16(b[off+ipv4HeaderLen+6])<<8 | uint16(b[off+ipv4HeaderLen+7])
		buf := make([]byte, esp.Headroom+echoLen+esp.Tailroom)
		appendEcho(buf[esp.Headroom:esp.Headroom], dst, src, icmpEchoReply, id, seq)
		g.mu.Lock()
		tun := g.tunnels[from]
		g.mu.Unlock()
		if tun != nil {
			tun.Send([][]byte{buf[:esp.Headroom+echoLen]}, esp.Headroom)
		}
	}
	return len(bufs)
}

// config is a generator Config against g from n loopback source addresses.
func (g *gateway) config(t *testing.T, sources int) Config {
	t.Helper()
	ids, err := MintIdentities(g.clientRoot, 3, "test")
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(g.serverRoot.Cert)
	var srcs []netip.Addr
	for i := range sources {
		srcs = append(srcs, netip.AddrFrom4([4]byte{127, 0, 1, byte(i + 1)}))
	}
	return Config{
		Gateway: g.ikeAddr.Addr(), IKEPort: g.ikeAddr.Port(), NATTPort: g.nattAddr.Port(),
		ServerName: "vpn.loadgen.test", Roots: roots, Identities: ids, Group: transform.DHCurve25519,
		Sources: srcs, Retransmit: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, time.Second},
	}
}

// TestRunOverLoopback: 40 sessions from 4 sources with a cookie for every one, echo traffic
// through each, a hold across the gateway's liveness checks, and a teardown the gateway
// acknowledges.
func TestRunOverLoopback(t *testing.T) {
	g := startGateway(t, transform.DefaultIKEProposals(), ike.Limits{CookieThreshold: 0, HalfOpenPerSource: 5},
		ike.Timers{DPDInterval: 500 * time.Millisecond, DeadPeerTimeout: 10 * time.Second})
	cfg := g.config(t, 4)
	cfg.Sessions, cfg.Concurrency = 40, 16
	cfg.Traffic, cfg.TrafficTo = 2, vnetHost
	cfg.Hold = 1500 * time.Millisecond
	cfg.Teardown = true
	r, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Established != 40 || r.Failed != 0 || r.Rate <= 0 || r.Latency.P50 <= 0 || r.Latency.P99 < r.Latency.P50 {
		t.Fatalf("ramp: %+v", r)
	}
	if r.Cookies != 40 {
		t.Errorf("%d cookies, want one per session (the gateway demands them always)", r.Cookies)
	}
	if r.Concurrency != 16 || r.Sources != 4 {
		t.Errorf("concurrency %d from %d sources, want 16 from 4", r.Concurrency, r.Sources)
	}
	if tr := r.Traffic; tr == nil || tr.Sent != 80 || tr.Replies != 80 || tr.Answered != 40 {
		t.Errorf("traffic: %+v", r.Traffic)
	}
	if h := r.Hold; h == nil || h.End != 40 || h.Liveness < 40 || h.DeletedByGateway != 0 {
		t.Errorf("hold: %+v", r.Hold)
	}
	if td := r.Teardown; td == nil || td.Sent != 40 || td.Acknowledged != 40 {
		t.Errorf("teardown: %+v", r.Teardown)
	}
	deadline := time.Now().Add(5 * time.Second)
	for g.ended.Load() != 40 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := g.ended.Load(); n != 40 {
		t.Errorf("the gateway ended %d sessions, want 40", n)
	}
}

// TestRunRefused: a gateway that takes none of our proposals refuses every handshake, and the
// report says so by reason.
func TestRunRefused(t *testing.T) {
	onlyECP256 := []transform.Proposal{{Number: 1, Protocol: transform.ProtocolIKE, Transforms: []transform.Transform{
		transform.EncrAESGCM16.Transform(256), transform.PRFHMACSHA256.Transform(), transform.DHECP256.Transform(),
	}}}
	g := startGateway(t, onlyECP256, ike.DefaultLimits, ike.Timers{})
	cfg := g.config(t, 1)
	cfg.Sessions, cfg.Group = 5, transform.DHECP384
	r, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Established != 0 || r.Failed != 5 || r.Failures["refused: NO_PROPOSAL_CHOSEN"] != 5 {
		t.Fatalf("report: %+v", r)
	}
}

// lossyConn drops the first datagrams it is asked to send.
type lossyConn struct {
	netio.Conn
	drop atomic.Int64
}

func (c *lossyConn) WriteBatch(pkts []netio.Packet) (int, error) {
	if c.drop.Add(-1) >= 0 {
		return len(pkts), nil
	}
	return c.Conn.WriteBatch(pkts)
}

// TestRunRetransmits: requests lost on the way are sent again and the sessions still come up.
func TestRunRetransmits(t *testing.T) {
	g := startGateway(t, transform.DefaultIKEProposals(), ike.DefaultLimits, ike.Timers{})
	cfg := g.config(t, 1)
	cfg.Sessions, cfg.Concurrency, cfg.Teardown = 3, 1, true
	cfg.Listen = func(local netip.AddrPort) (netio.Conn, error) {
		c, err := netio.Listen(local.String(), 4)
		if err != nil {
			return nil, err
		}
		lc := &lossyConn{Conn: c}
		lc.drop.Store(2) // the first IKE_SA_INIT and its first retransmission
		return lc, nil
	}
	r, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Established != 3 || r.Retransmits != 2 {
		t.Fatalf("report: %+v", r)
	}
	if r.Latency.Max < 600 {
		t.Errorf("the slowest handshake took %.0f ms, want at least the 600 ms of two waits", r.Latency.Max)
	}
}

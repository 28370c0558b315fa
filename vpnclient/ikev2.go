package vpnclient

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/p2sgw/p2sgw/esp"
	"github.com/p2sgw/p2sgw/ike"
	"github.com/p2sgw/p2sgw/ike/message"
	"github.com/p2sgw/p2sgw/ike/transform"
	"github.com/p2sgw/p2sgw/netio"
)

// IKEv2 ports (RFC 7296 §2.23): the first exchange goes to 500; IKE_AUTH, ESP and everything
// after go to 4500 in UDP encapsulation (RFC 3948), as a client behind NAT does — and p2sgw's
// clients always do, so the gateway needs no other data path.
const (
	ikePort  = 500
	nattPort = 4500
)

// Defaults of IKEv2Config.
const (
	DefaultDPDInterval     = 10 * time.Second
	DefaultDeadPeerTimeout = 6 * time.Second
	// quietAfterSend is how long the gateway may stay silent after we sent traffic before we
	// check that it is alive, whatever DPDInterval says: a restarted gateway drops our ESP
	// without a word, and the user is waiting.
	quietAfterSend = 2 * time.Second
	// handshakeTimeout bounds IKE_SA_INIT + IKE_AUTH with their retransmissions.
	handshakeTimeout = 15 * time.Second
)

// ErrDeadPeer: the gateway stopped answering.
var ErrDeadPeer = errors.New("vpnclient: the gateway stopped answering (dead peer)")

// ErrDeleted: the gateway ended the session (disconnect, shutdown, revocation).
var ErrDeleted = errors.New("vpnclient: the gateway ended the session")

// IKEv2Config is how to reach a gateway over IKEv2 and authenticate with a certificate.
type IKEv2Config struct {
	// Server is the gateway: a host name or address, with an optional :port for IKE (500).
	// NAT-T goes to port 4500 of the same host.
	Server string
	// ServerName is the name the gateway's certificate must carry (its IKE identity); Roots
	// verify that certificate.
	ServerName string
	Roots      *x509.CertPool
	// Identity is our certificate chain and key; LocalID our IKE identity (empty: the
	// certificate's name).
	Identity ike.Identity
	LocalID  string
	// RemoteTS are the prefixes we ask to reach; nil asks for everything, which the gateway
	// narrows to its VNet.
	RemoteTS []netip.Prefix
	// Proposals for IKE and ESP; nil means ours (transform.DefaultIKEProposals/ESP).
	IKEProposals, ESPProposals []transform.Proposal
	// DPDInterval is how long the gateway may be silent before we check it is alive;
	// DeadPeerTimeout how long that check retransmits before the tunnel counts as dead.
	DPDInterval, DeadPeerTimeout time.Duration
	// Deliver takes the packets the gateway sent us, decrypted: each is bufs[i][offset:],
	// with at least 10 bytes free before it (a TUN's virtio header). Called from one
	// goroutine; the buffers are reused when it returns.
	Deliver func(bufs [][]byte, offset int)
	// Moved, if set, is called (from Run) when our address towards the gateway changed.
	Moved func(netip.AddrPort)
	Log   *slog.Logger
}

// IKEv2 is an established IKEv2 tunnel. Send packets with Send; Run keeps the IKE SA alive
// and returns when the tunnel ends.
type IKEv2 struct {
	// Lease is what the gateway gave us: our address, its DNS servers and the prefixes the
	// tunnel reaches (Session is empty: the gateway's connection id is its own).
	Lease ike.Lease
	// Local is our socket's address.
	Local netip.AddrPort

	cfg      IKEv2Config
	log      *slog.Logger
	conn     netio.Conn
	server   netip.AddrPort // port 4500
	ikeIn    chan []byte
	readDone chan struct{}

	lastRecv, lastSent atomic.Int64 // Unix nanoseconds
	source             atomic.Value // netip.AddrPort: the address the kernel sends from to the gateway

	mu      sync.Mutex // guards out, in, pkts and closed
	out     *esp.Outbound
	in      map[uint32]*esp.Inbound
	pkts    []netio.Packet
	closed  bool
	stats   struct{ in, out atomic.Uint64 } // bytes of inner packets
	sa, old *ike.SA                         // owned by Run
}

// DialIKEv2 connects to the gateway: IKE_SA_INIT and IKE_AUTH with our certificate, with
// retransmissions. It returns the established tunnel, whose Run must then be called.
func DialIKEv2(ctx context.Context, cfg IKEv2Config) (*IKEv2, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.DPDInterval <= 0 {
		cfg.DPDInterval = DefaultDPDInterval
	}
	if cfg.DeadPeerTimeout <= 0 {
		cfg.DeadPeerTimeout = DefaultDeadPeerTimeout
	}
	if cfg.IKEProposals == nil {
		cfg.IKEProposals = transform.DefaultIKEProposals()
	}
	if cfg.ESPProposals == nil {
		cfg.ESPProposals = transform.DefaultESPProposals()
	}
	if len(cfg.RemoteTS) == 0 {
		cfg.RemoteTS = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}
	}
	server, err := resolveServer(ctx, cfg.Server)
	if err != nil {
		return nil, err
	}
	conn, err := netio.Listen("0.0.0.0:0", 64)
	if err != nil {
		return nil, fmt.Errorf("vpnclient: UDP socket: %w", err)
	}
	netio.EnableGRO(conn)
	t := &IKEv2{
		cfg: cfg, log: cfg.Log, conn: conn,
		server: netip.AddrPortFrom(server.Addr(), nattPort),
		ikeIn:  make(chan []byte, 16), readDone: make(chan struct{}),
		in: make(map[uint32]*esp.Inbound),
	}
	t.Local = conn.LocalAddr()
	go t.readLoop()
	if err := t.handshake(ctx, server); err != nil {
		t.conn.Close()
		<-t.readDone
		return nil, err
	}
	now := time.Now().UnixNano()
	t.lastRecv.Store(now)
	if src, ok := t.route(); ok {
		t.source.Store(src)
	}
	return t, nil
}

// route returns the address and port our packets to the gateway leave from, as the kernel's
// routing says now.
func (t *IKEv2) route() (netip.AddrPort, bool) {
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(t.server))
	if err != nil {
		return netip.AddrPort{}, false
	}
	defer c.Close()
	a := c.LocalAddr().(*net.UDPAddr).AddrPort()
	return netip.AddrPortFrom(a.Addr().Unmap(), t.Local.Port()), true
}

// Source returns the address and port our packets to the gateway leave from.
func (t *IKEv2) Source() netip.AddrPort {
	a, _ := t.source.Load().(netip.AddrPort)
	return a
}

// resolveServer returns the gateway's IKE address (port 500 unless given).
func resolveServer(ctx context.Context, s string) (netip.AddrPort, error) {
	host, port := s, "500"
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
	if err != nil || len(addrs) == 0 {
		return netip.AddrPort{}, fmt.Errorf("vpnclient: gateway %q: %v", host, err)
	}
	ap, err := netip.ParseAddrPort(net.JoinHostPort(addrs[0].Unmap().String(), port))
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("vpnclient: gateway %q: %w", s, err)
	}
	return ap, nil
}

// handshake runs IKE_SA_INIT (to port 500) and IKE_AUTH (to 4500).
func (t *IKEv2) handshake(ctx context.Context, server netip.AddrPort) error {
	icfg := &ike.InitiatorConfig{
		Identity: t.cfg.Identity, IKEProposals: t.cfg.IKEProposals, ESPProposals: t.cfg.ESPProposals,
		Group: transform.DHCurve25519, LocalID: t.cfg.LocalID, ServerName: t.cfg.ServerName,
		Roots: t.cfg.Roots, RemoteTS: t.cfg.RemoteTS, AllocateSPI: randomSPI,
	}
	sa, req, err := ike.NewInitiator(icfg, t.Local, server)
	if err != nil {
		return fmt.Errorf("vpnclient: %w", err)
	}
	deadline := time.NewTimer(handshakeTimeout)
	defer deadline.Stop()
	to := server
	wait := time.Second
	retry := time.NewTimer(0)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("vpnclient: no answer from the gateway %s within %v", server.Addr(), handshakeTimeout)
		case <-retry.C:
			// The request, again until it is answered: 1, 2, 4, 4 … s apart.
			t.sendIKE(to, req, sa.Extra())
			retry.Reset(wait)
			wait = min(2*wait, 4*time.Second)
		case msg := <-t.ikeIn:
			next, ev, err := sa.Handle(msg)
			switch {
			case ev == ike.EventFailed || (err != nil && sa.State() == ike.StateFailed):
				return fmt.Errorf("vpnclient: the gateway refused us: %w", err)
			case ev == ike.EventEstablished:
				return t.established(sa)
			case err != nil:
				t.log.Debug("IKE message ignored during the handshake", "err", err)
			case next != nil:
				// The next request (IKE_AUTH), or IKE_SA_INIT again with a cookie or
				// another group: sent at once.
				req, wait = next, time.Second
				to = server
				if sa.State() != ike.StateInitSent {
					to = t.server // IKE_AUTH and on: port 4500
				}
				retry.Reset(0)
			}
		}
	}
}

// established installs the CHILD SA's ESP SAs.
func (t *IKEv2) established(sa *ike.SA) error {
	if sa.Lease == nil || !sa.Lease.Addr.IsValid() {
		return errors.New("vpnclient: the gateway gave us no address")
	}
	in, out, err := sa.Child.ESPSAs()
	if err != nil {
		return fmt.Errorf("vpnclient: ESP: %w", err)
	}
	t.sa = sa
	t.Lease = *sa.Lease
	t.mu.Lock()
	t.out = out
	t.in[sa.Child.InSPI] = in
	t.mu.Unlock()
	return nil
}

// sendIKE sends an IKE message (and its extra fragments): plain to port 500, with the
// non-ESP marker to 4500.
func (t *IKEv2) sendIKE(to netip.AddrPort, msg []byte, extra [][]byte) {
	pkts := make([]netio.Packet, 0, 1+len(extra))
	for _, m := range append([][]byte{msg}, extra...) {
		b := m
		if to.Port() != ikePort {
			b = append(esp.AppendMarker(make([]byte, 0, 4+len(m))), m...)
		}
		pkts = append(pkts, netio.Packet{Buf: b, Remote: to})
	}
	if _, err := t.conn.WriteBatch(pkts); err != nil {
		t.log.Debug("IKE send failed", "to", to, "err", err)
	}
}

// readLoop reads the socket until it is closed: ESP goes to Deliver, IKE to Run.
func (t *IKEv2) readLoop() {
	defer close(t.readDone)
	const batch = 64
	pkts := make([]netio.Packet, batch)
	for i := range pkts {
		pkts[i].Buf = make([]byte, 0, netio.MaxDatagram)
	}
	inner := make([][]byte, 0, batch)
	for {
		for i := range pkts {
			pkts[i].Buf = pkts[i].Buf[:0]
		}
		n, err := t.conn.ReadBatch(pkts)
		if err != nil {
			return
		}
		inner = inner[:0]
		now := time.Now().UnixNano()
		for _, p := range pkts[:n] {
			if p.Remote.Port() == ikePort { // the answer to IKE_SA_INIT: no marker on port 500
				t.queueIKE(p.Buf)
				continue
			}
			switch esp.Classify(p.Buf) {
			case esp.KindIKE:
				msg, _ := esp.IKEMessage(p.Buf)
				t.queueIKE(msg)
			case esp.KindESP:
				spi, _ := esp.SPI(p.Buf)
				t.mu.Lock()
				in := t.in[spi]
				t.mu.Unlock()
				if in == nil {
					continue
				}
				pkt, _, drop := in.Open(p.Buf)
				if drop != esp.DropNone {
					continue
				}
				t.lastRecv.Store(now)
				if len(pkt) == 0 {
					continue // a dummy packet (next header 59)
				}
				hl := in.Transform().HeaderLen()
				inner = append(inner, p.Buf[hl-deliverOffset:hl+len(pkt)])
				t.stats.in.Add(uint64(len(pkt)))
			}
		}
		if len(inner) > 0 && t.cfg.Deliver != nil {
			t.cfg.Deliver(inner, deliverOffset)
		}
	}
}

// randomSPI returns a random inbound ESP SPI (1-255 are reserved, RFC 4303 §2.1).
func randomSPI() (uint32, error) {
	var b [4]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return 0, err
		}
		if spi := binary.BigEndian.Uint32(b[:]); spi > 255 {
			return spi, nil
		}
	}
}

// deliverOffset is where decrypted packets start in the buffers handed to Deliver: the
// shortest ESP header (SPI, sequence number, GCM's IV), room for the TUN's virtio header.
const deliverOffset = 16

func (t *IKEv2) queueIKE(msg []byte) {
	select {
	case t.ikeIn <- append([]byte(nil), msg...):
	default: // Run is behind; the gateway retransmits
	}
}

// Send seals each packet bufs[i][offset:] in place and sends the batch to the gateway. Each
// buffer needs esp.Headroom bytes before offset and esp.Tailroom capacity after its end.
func (t *IKEv2) Send(bufs [][]byte, offset int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || t.out == nil {
		return
	}
	t.pkts = t.pkts[:0]
	for _, b := range bufs {
		n := len(b) - offset
		pkt, err := t.out.Seal(b[:cap(b)], offset, n)
		if err != nil {
			continue
		}
		t.stats.out.Add(uint64(n))
		t.pkts = append(t.pkts, netio.Packet{Buf: pkt, Remote: t.server})
	}
	if len(t.pkts) > 0 {
		t.lastSent.Store(time.Now().UnixNano())
		t.conn.WriteBatch(t.pkts)
	}
}

// Traffic returns the bytes of inner packets received and sent.
func (t *IKEv2) Traffic() (in, out uint64) { return t.stats.in.Load(), t.stats.out.Load() }

// Run keeps the tunnel: it answers the gateway's requests (liveness checks, rekeys, Delete),
// checks the gateway is alive when it falls silent, and returns why the tunnel ended:
// ErrDeleted, ErrDeadPeer, or ctx's error after telling the gateway (a Delete). The socket is
// closed when it returns.
func (t *IKEv2) Run(ctx context.Context) error {
	defer func() {
		t.mu.Lock()
		t.closed = true
		t.mu.Unlock()
		t.conn.Close()
		<-t.readDone
	}()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var (
		pending  []byte    // our request awaiting its answer
		firstTry time.Time // when it was first sent
		nextTry  time.Time
		wait     time.Duration
	)
	ask := func(req []byte, err error) {
		if err != nil {
			t.log.Debug("IKE request not built", "err", err)
			return
		}
		pending, firstTry, wait = req, time.Now(), 500*time.Millisecond
		nextTry = firstTry.Add(wait)
		t.sendIKE(t.server, req, t.sa.Extra())
	}
	for {
		select {
		case <-ctx.Done():
			if del, err := t.sa.Delete(); err == nil {
				t.sendIKE(t.server, del, nil)
				t.awaitDeleteAnswer(time.Second)
			}
			return ctx.Err()
		case msg := <-t.ikeIn:
			if err := t.handleIKE(msg); err != nil {
				return err
			}
			if pending != nil && !t.sa.Awaiting() {
				pending = nil // answered
			}
		case now := <-tick.C:
			switch {
			case pending != nil && now.Sub(firstTry) > t.cfg.DeadPeerTimeout:
				return fmt.Errorf("%w: no answer to a liveness check for %v", ErrDeadPeer, t.cfg.DeadPeerTimeout)
			case pending != nil && now.After(nextTry):
				wait = min(2*wait, 4*time.Second)
				nextTry = now.Add(wait)
				t.sendIKE(t.server, pending, t.sa.Extra())
			case pending == nil && !t.sa.Awaiting():
				if src, ok := t.route(); ok && src != t.Source() {
					// We moved (a new address, another interface): tell the gateway at once
					// (MOBIKE), rather than wait for our next packet to show it.
					t.log.Info("local address changed", "from", t.Source(), "to", src, "mobike", t.sa.MOBIKE())
					t.source.Store(src)
					if t.cfg.Moved != nil {
						t.cfg.Moved(src)
					}
					if t.sa.MOBIKE() {
						ask(t.sa.UpdateAddresses(src, t.server))
						continue
					}
				}
				recv, sent := time.Unix(0, t.lastRecv.Load()), time.Unix(0, t.lastSent.Load())
				quiet := now.Sub(recv)
				if quiet > t.cfg.DPDInterval || (sent.After(recv) && quiet > quietAfterSend) {
					ask(t.sa.Liveness())
				}
			}
		}
	}
}

// awaitDeleteAnswer waits up to d for the answer to our Delete.
func (t *IKEv2) awaitDeleteAnswer(d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case msg := <-t.ikeIn:
			if _, ev, _ := t.sa.Handle(msg); ev == ike.EventDeleted {
				return
			}
		case <-timer.C:
			return
		}
	}
}

// handleIKE processes a message from the gateway for the current IKE SA, or for the one a
// rekey replaced. It returns an error when the tunnel has ended.
func (t *IKEv2) handleIKE(msg []byte) error {
	h, err := message.DecodeHeader(msg)
	if err != nil {
		return nil
	}
	sa := t.sa
	if t.old != nil {
		if i, r := t.old.SPIs(); h.SPIi == i && h.SPIr == r {
			sa = t.old
		}
	}
	resp, ev, err := sa.Handle(msg)
	if resp != nil {
		t.sendIKE(t.server, resp, sa.Extra())
	}
	if err != nil {
		t.log.Debug("IKE message dropped", "err", err)
		return nil
	}
	t.lastRecv.Store(time.Now().UnixNano())
	if sa == t.old {
		if ev == ike.EventDeleted {
			t.old = nil
		}
		return nil
	}
	switch ev {
	case ike.EventDeleted:
		return ErrDeleted
	case ike.EventChildDeleted:
		return fmt.Errorf("%w: it deleted the CHILD SA", ErrDeleted)
	case ike.EventChildRekeyed:
		in, out, err := sa.Rekeyed.ESPSAs()
		if err != nil {
			return fmt.Errorf("vpnclient: ESP: %w", err)
		}
		t.mu.Lock()
		t.in[sa.Rekeyed.InSPI] = in // the old inbound SA stays until its Delete
		t.out = out
		t.mu.Unlock()
		sa.InstallRekeyed()
		t.log.Info("CHILD SA rekeyed by the gateway")
	case ike.EventOldChildDeleted:
		if old := sa.OldChild; old != nil {
			t.mu.Lock()
			delete(t.in, old.InSPI)
			t.mu.Unlock()
			sa.OldChild = nil
		}
	case ike.EventIKERekeyed:
		t.old, t.sa = sa, sa.RekeyedIKE
		sa.RekeyedIKE = nil
		t.log.Info("IKE SA rekeyed by the gateway")
	}
	return nil
}

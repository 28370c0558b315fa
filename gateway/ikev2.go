package gateway

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/p2sgw/p2sgw/api"
	"github.com/p2sgw/p2sgw/config"
	"github.com/p2sgw/p2sgw/dataplane"
	"github.com/p2sgw/p2sgw/ike"
	"github.com/p2sgw/p2sgw/ike/transform"
	"github.com/p2sgw/p2sgw/internal/logcat"
	"github.com/p2sgw/p2sgw/netio"
	"github.com/p2sgw/p2sgw/session"
)

// ikev2 is the running IKEv2 listener with its data plane.
type ikev2 struct {
	g     *Gateway
	srv   *ike.Server
	plane *dataplane.Plane

	spiMu sync.Mutex // guards spis
	spis  map[uint32]bool
}

// startDataPlane opens the TUN device and runs the data plane that the tunnel protocols attach
// their sessions to, until ctx is done; done is closed when it has stopped.
func (g *Gateway) startDataPlane(ctx context.Context, cfg *config.Config) (*dataplane.Plane, <-chan struct{}, error) {
	dev, err := openTUN(cfg.TUN, g.Pools())
	if err != nil {
		return nil, nil, err
	}
	plane := dataplane.New(dev, planePolicy(cfg), g.logFor(logcat.Dataplane))
	if r := rateOf(g.sku(cfg)); r > 0 {
		plane.SetRate(r)
		g.log.Info("throughput limited to the SKU's rate in each direction", "sku", g.sku(cfg).Name, "max_mbps", g.sku(cfg).ThroughputMbps)
	}
	g.mu.Lock()
	g.plane = plane
	g.mu.Unlock()
	g.lnMu.Lock()
	g.listeners = append(g.listeners, &listener{info: api.Listener{Name: "tun", Network: "ip", Address: cfg.TUN, State: "up"}})
	g.lnMu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := plane.Run(ctx); err != nil {
			g.log.Error("data plane stopped", "err", err)
		}
	}()
	return plane, done, nil
}

// startIKEv2 runs the IKEv2 server on UDP 500 and 4500 with its sessions on plane, until ctx
// is done; done is closed when it has stopped.
func (g *Gateway) startIKEv2(ctx context.Context, cfg *config.Config, plane *dataplane.Plane) (done <-chan struct{}, err error) {
	id, err := serverIdentity(cfg)
	if err != nil {
		return nil, err
	}
	ikeConn, err := netio.Listen(cfg.Listen.IKE, 64)
	if err != nil {
		return nil, fmt.Errorf("listen.ike %s: %w", cfg.Listen.IKE, err)
	}
	natt, err := netio.Listen(cfg.Listen.NATT, 64)
	if err != nil {
		ikeConn.Close()
		return nil, fmt.Errorf("listen.nat_t %s: %w", cfg.Listen.NATT, err)
	}
	netio.EnableGRO(natt) // ESP arrives in runs per client: one trip up the stack per run
	v := &ikev2{g: g, plane: plane, spis: make(map[uint32]bool)}
	ikeProps, espProps := transform.DefaultIKEProposals(), transform.DefaultESPProposals()
	rc := &ike.ResponderConfig{
		Identity:     id,
		IKEProposals: ikeProps,
		ESPProposals: espProps,
		Legacy:       cfg.LegacyWindowsProposals,
		CARequests:   v.caRequests,
		Authenticate: v.authenticate,
		Assign:       v.assign,
		AllocateSPI:  v.allocateSPI,
		Now:          g.now,
	}
	if slices.Contains(cfg.AuthTypes, config.AuthCertificate) {
		rc.EAPTLS = eapTLSConfig(id)
	}
	if g.aaa != nil {
		rc.RelayEAP = g.aaa.relay
	}
	log := g.logFor(logcat.IKEv2)
	v.srv = ike.NewServer(rc, ikeConn, natt, ike.Hooks{
		Established: v.established,
		Ended:       v.ended,
		Released:    v.released,
		Deliver:     plane.Deliver,
		FreeSPI:     v.freeSPI,
		Refused: func(r ike.Refusal) {
			g.refuse(session.IKEv2, r.Exchange, r.Reason, r.Remote, r.Identity, r.Err)
		},
		Happened: func(event string) { g.metrics.ikeEvents.WithLabelValues(event).Inc() },
	}, timers(cfg), log)

	g.lnMu.Lock()
	g.listeners = append(g.listeners,
		&listener{info: api.Listener{Name: "ikev2", Network: "udp", Address: ikeConn.LocalAddr().String(), State: "listening"}},
		&listener{info: api.Listener{Name: "ikev2-nat-t", Network: "udp", Address: natt.LocalAddr().String(), State: "listening"}},
	)
	g.lnMu.Unlock()

	ch := make(chan struct{})
	go func() {
		defer close(ch)
		if err := v.srv.Serve(ctx); err != nil {
			log.Error("IKEv2 listener stopped", "err", err)
		}
	}()
	log.Info("IKEv2 listening", "ike", ikeConn.LocalAddr(), "nat_t", natt.LocalAddr(), "tun", cfg.TUN)
	return ch, nil
}

// serverIdentity loads the gateway's certificate chain and key. The chain sent to clients
// leaves out a self-signed root: clients must have it already.
func serverIdentity(cfg *config.Config) (ike.Identity, error) {
	pair, err := tls.LoadX509KeyPair(cfg.ServerCertificate, cfg.ServerKey)
	if err != nil {
		return ike.Identity{}, fmt.Errorf("server_certificate/server_key: %w", err)
	}
	key, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return ike.Identity{}, fmt.Errorf("server_key: %T cannot sign", pair.PrivateKey)
	}
	var chain []*x509.Certificate
	for i, der := range pair.Certificate {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return ike.Identity{}, fmt.Errorf("server_certificate: %w", err)
		}
		if i > 0 && c.CheckSignatureFrom(c) == nil {
			continue
		}
		chain = append(chain, c)
	}
	return ike.Identity{Chain: chain, Key: key}, nil
}

// caRequests are the CERTREQ hashes of the trusted roots.
func (v *ikev2) caRequests() [][]byte {
	var out [][]byte
	for _, r := range v.g.policy.Roots() {
		h := sha1.Sum(r.RawSubjectPublicKeyInfo)
		out = append(out, h[:])
	}
	return out
}

func (v *ikev2) authenticate(leaf *x509.Certificate, inter []*x509.Certificate) (string, error) {
	if !slices.Contains(v.g.Config().AuthTypes, config.AuthCertificate) {
		return "", errors.New("certificate authentication is not enabled (auth_types)")
	}
	id, err := v.g.policy.Verify(leaf, inter, v.g.now())
	if err != nil {
		return "", err
	}
	return id.Name, nil
}

// assign leases an address for a new session: the one its RADIUS server granted
// (Framed-IP-Address), which must lie in a client address pool and be free, or one from the
// pools.
func (v *ikev2) assign(name string, grant *ike.Grant) (*ike.Lease, error) {
	if err := v.g.admit(session.IKEv2); err != nil {
		return nil, err
	}
	cfg := v.g.Config()
	id := session.NewID(session.IKEv2)
	var addr netip.Addr
	if grant != nil && grant.Addr.IsValid() {
		p := v.g.Pools().Find(grant.Addr)
		if p == nil {
			return nil, fmt.Errorf("Framed-IP-Address %s from RADIUS server %s lies in no client address pool (%v): fix the user's entry on the RADIUS server", grant.Addr, grant.Server, cfg.ClientAddressPools)
		}
		if err := p.AcquireAddr(context.Background(), grant.Addr, name, id); err != nil {
			return nil, fmt.Errorf("Framed-IP-Address %s from RADIUS server %s: %w", grant.Addr, grant.Server, err)
		}
		addr = grant.Addr
	} else {
		var err error
		if addr, err = v.g.Pools().Acquire(context.Background(), name, id); err != nil {
			return nil, err
		}
	}
	// What the client may reach: the VNet, and the other clients when client_to_client is on.
	reach := slices.Clone(cfg.VNetAddressSpace)
	if cfg.ClientToClient {
		reach = append(reach, cfg.ClientAddressPools...)
	}
	return &ike.Lease{Session: id, Addr: addr, DNS: cfg.DNSServers, Subnets: reach}, nil
}

func (v *ikev2) released(l *ike.Lease) {
	v.g.Pools().Release(context.Background(), l.Addr, l.Session)
}

// allocateSPI returns an inbound ESP SPI no live CHILD SA uses.
func (v *ikev2) allocateSPI() (uint32, error) {
	v.spiMu.Lock()
	defer v.spiMu.Unlock()
	var b [4]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return 0, err
		}
		spi := binary.BigEndian.Uint32(b[:])
		if spi >= 256 && !v.spis[spi] { // 1-255 are reserved (RFC 4303 §2.1)
			v.spis[spi] = true
			return spi, nil
		}
	}
}

func (v *ikev2) freeSPI(spi uint32) {
	v.spiMu.Lock()
	delete(v.spis, spi)
	v.spiMu.Unlock()
}

// established registers the session and attaches its tunnel to the data plane.
func (v *ikev2) established(sa *ike.SA, t *ike.Tunnel) error {
	s := &session.Session{
		ID:         sa.Lease.Session,
		User:       sa.Peer,
		Protocol:   session.IKEv2,
		AuthMethod: sa.AuthMethod,
		PublicAddr: t.Remote(),
		Remote:     t.Remote,
		VPNAddr:    t.Addr(),
		StartedAt:  v.g.now(),
		Stats: func() session.Traffic {
			in, out := t.Stats()
			return session.Traffic{IngressBytes: in.Bytes, IngressPackets: in.Packets, EgressBytes: out.Bytes, EgressPackets: out.Packets}
		},
		Close:        func(reason string) { v.srv.Disconnect(t, reason) },
		Certificates: sa.PeerCerts,
	}
	if err := v.plane.Attach(t.Addr(), t); err != nil {
		return err
	}
	if err := v.g.register(s); err != nil {
		v.plane.Detach(t.Addr(), t)
		return err
	}
	v.g.p2s.Info("client connected", "id", s.ID, "user", s.User, "protocol", s.Protocol, "auth", s.AuthMethod, "public_address", s.PublicAddr,
		"vpn_address", s.VPNAddr, "ike", sa.Suite(), "esp", sa.Child.Suite)
	v.g.metrics.established.Add(1)
	if sa.Grant != nil && v.g.aaa != nil {
		v.g.aaa.started(s, sa.Grant)
	}
	return nil
}

// ended removes a session whose IKE SA is gone, detaches it and frees its address.
func (v *ikev2) ended(sa *ike.SA, t *ike.Tunnel, reason string) {
	ctx := context.Background()
	v.plane.Detach(t.Addr(), t)
	tr := v.g.metrics.removeSession(ctx, sa.Lease.Session)
	if v.g.aaa != nil {
		v.g.aaa.ended(sa.Lease.Session, reason, v.g.now())
	}
	v.g.Pools().Release(ctx, t.Addr(), sa.Lease.Session)
	v.freeSPI(sa.Child.InSPI)
	dur := v.g.now().Sub(sa.Established).Round(time.Second)
	v.g.p2s.Info("client disconnected", "id", sa.Lease.Session, "user", sa.Peer, "protocol", session.IKEv2, "public_address", t.Remote(),
		"vpn_address", t.Addr(), "reason", reason, "duration", dur, "ingress_bytes", tr.IngressBytes, "egress_bytes", tr.EgressBytes)
}

func timers(cfg *config.Config) ike.Timers {
	d := cfg.IKE.Durations()
	return ike.Timers{DPDInterval: d.DPDInterval, DeadPeerTimeout: d.DeadPeerTimeout, ChildLifetime: d.ChildLifetime, IKELifetime: d.IKELifetime}
}

// planePolicy is what the data plane lets clients reach under cfg.
func planePolicy(cfg *config.Config) dataplane.Policy {
	return dataplane.Policy{Allowed: cfg.VNetAddressSpace, Pools: cfg.ClientAddressPools, ClientToClient: cfg.ClientToClient}
}

// eapTLSConfig is the TLS side of EAP-TLS: the gateway's own certificate, as in IKEv2 (one
// certificate for both, so Windows' "verify the server's identity" sees the same one).
func eapTLSConfig(id ike.Identity) *tls.Config {
	cert := tls.Certificate{PrivateKey: id.Key, Leaf: id.Chain[0]}
	for _, c := range id.Chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

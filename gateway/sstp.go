package gateway

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/p2sgw/p2sgw/api"
	"github.com/p2sgw/p2sgw/config"
	"github.com/p2sgw/p2sgw/dataplane"
	"github.com/p2sgw/p2sgw/eap"
	"github.com/p2sgw/p2sgw/ike"
	"github.com/p2sgw/p2sgw/internal/logcat"
	"github.com/p2sgw/p2sgw/ppp"
	"github.com/p2sgw/p2sgw/radius"
	"github.com/p2sgw/p2sgw/session"
	"github.com/p2sgw/p2sgw/sstp"
)

// The SSTP listener: TLS on listen.sstp, the SSTP handshake (sstp), then PPP (ppp) with the
// same authentication as IKEv2 — passwords (MS-CHAPv2, PAP) and EAP through RADIUS — and the
// client's IPv4 packets into the shared data plane. One goroutine per connection runs its PPP
// server; a second reads the TLS stream.

// sstpListener is the running SSTP listener.
type sstpListener struct {
	g      *Gateway
	plane  *dataplane.Plane
	tls    *tls.Config
	sstp   sstp.ServerConfig
	log    *slog.Logger
	wg     sync.WaitGroup
	server string // our name in CHAP challenges

	preMu sync.Mutex // guards pre and preBy
	pre   int        // connections not yet sessions
	preBy map[netip.Addr]int
}

// Connections that have not become sessions (TLS, SSTP and PPP negotiation, the RADIUS
// check) are bounded, in all and per source address: each holds buffers, goroutines and
// perhaps a RADIUS request for up to a minute and a half.
const (
	maxPreAuth          = 1024
	maxPreAuthPerSource = 16
)

// admitPreAuth takes a pre-authentication place for a connection from src; release gives it
// back (once, however often it is called).
func (s *sstpListener) admitPreAuth(src netip.Addr) (release func(), ok bool) {
	s.preMu.Lock()
	defer s.preMu.Unlock()
	if s.pre >= maxPreAuth || s.preBy[src] >= maxPreAuthPerSource {
		return nil, false
	}
	s.pre++
	s.preBy[src]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.preMu.Lock()
			defer s.preMu.Unlock()
			s.pre--
			if s.preBy[src]--; s.preBy[src] <= 0 {
				delete(s.preBy, src)
			}
		})
	}, true
}

// sstpHandshakeTimeout bounds the TLS handshake and the SSTP HTTP request of a new connection.
const sstpHandshakeTimeout = 30 * time.Second

// startSSTP listens on listen.sstp and serves SSTP clients with their sessions on plane, until
// ctx is done; done is closed when every connection has ended.
func (g *Gateway) startSSTP(ctx context.Context, cfg *config.Config, plane *dataplane.Plane) (<-chan struct{}, error) {
	id, err := serverIdentity(cfg)
	if err != nil {
		return nil, err
	}
	cert := tls.Certificate{PrivateKey: id.Key, Leaf: id.Chain[0]}
	for _, c := range id.Chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	sha1Hash, sha256Hash := sha1.Sum(id.Chain[0].Raw), sha256.Sum256(id.Chain[0].Raw)
	ln, err := net.Listen("tcp", cfg.Listen.SSTP)
	if err != nil {
		return nil, fmt.Errorf("listen.sstp %s: %w", cfg.Listen.SSTP, err)
	}
	log := g.logFor(logcat.SSTP)
	s := &sstpListener{
		g: g, plane: plane, log: log, server: cfg.Name, preBy: make(map[netip.Addr]int),
		// No ALPN: the SSTP request is HTTP/1.1 and is read by hand. No session tickets: a
		// TLS 1.3 ticket arriving after the handshake makes sstpc (1.0.18) drop the connection
		// before it sends its request, and SSTP clients do not resume anyway.
		tls:  &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, SessionTicketsDisabled: true},
		sstp: sstp.ServerConfig{CertHashSHA1: sha1Hash[:], CertHashSHA256: sha256Hash[:], Log: log},
	}
	g.lnMu.Lock()
	g.listeners = append(g.listeners, &listener{info: api.Listener{Name: "sstp", Network: "tcp", Address: ln.Addr().String(), State: "listening"}})
	g.lnMu.Unlock()
	done := make(chan struct{})
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				if ctx.Err() == nil {
					log.Error("SSTP listener stopped", "err", err)
				}
				break
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(ctx, c)
			}()
		}
		s.wg.Wait()
	}()
	log.Info("SSTP listening", "address", ln.Addr())
	return done, nil
}

// sstpConn is one SSTP client's connection: its PPP server and, once IPCP is up, its session.
type sstpConn struct {
	l       *sstpListener
	sc      *sstp.ServerConn
	ppp     *ppp.Server
	remote  netip.AddrPort
	log     *slog.Logger
	control chan string // disconnect requests, with the reason
	hlak    bool        // the HLAK was given to the SSTP layer

	lease *ike.Lease // the address Assign leased; nil until then
	grant *ike.Grant
	user  string
	auth  string
	certs [][]byte         // the client's certificate chain (EAP-TLS, DER), for live revocation
	sess  *session.Session // the connection goroutine's; nil until the session starts
	// counters are the session's, for Send: set before the data plane can call it and never
	// changed, so a Send that outlives Detach still finds them.
	counters *session.Counters
	release  func()   // gives back the connection's pre-authentication place, once
	frames   [][]byte // Send's, reused
}

// pppHeaderLen is what ppp.FrameIP puts before an IPv4 packet: FF 03 and the protocol.
const pppHeaderLen = 4

func (s *sstpListener) serve(ctx context.Context, raw net.Conn) {
	remote, _ := netip.ParseAddrPort(raw.RemoteAddr().String())
	log := s.log.With("remote", remote)
	release, ok := s.admitPreAuth(remote.Addr())
	if !ok {
		log.Debug("SSTP connection dropped: too many connections are negotiating", "max", maxPreAuth, "max_per_source", maxPreAuthPerSource)
		raw.Close()
		return
	}
	defer release()
	tc := tls.Server(raw, s.tls)
	hctx, cancel := context.WithTimeout(ctx, sstpHandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		log.Info("SSTP connection refused: TLS handshake failed", "err", err)
		raw.Close()
		return
	}
	sc, err := sstp.Accept(hctx, tc, s.sstp)
	if err != nil {
		log.Info("SSTP connection refused", "err", err)
		tc.Close()
		return
	}
	c := &sstpConn{l: s, sc: sc, remote: remote, log: log.With("correlation_id", sc.CorrelationID()), control: make(chan string, 1), release: release}
	c.ppp = ppp.NewServer(s.pppConfig(c), sc.WriteFrame)
	reason := c.run(ctx)
	c.end(reason)
}

// pppConfig is the PPP server of one connection: the methods auth_types allow, in the order
// Windows expects (EAP for certificates, MS-CHAPv2 for passwords, PAP last).
func (s *sstpListener) pppConfig(c *sstpConn) ppp.Config {
	cfg := s.g.Config()
	var methods []ppp.Method
	switch {
	case slices.Contains(cfg.AuthTypes, config.AuthRADIUS):
		// Passwords first (what a RADIUS user's client is set up for); a certificate client
		// Naks MS-CHAPv2 for EAP. PAP only when sstp_pap allows it.
		methods = append(methods, ppp.MethodMSCHAPv2, ppp.MethodEAP)
		if cfg.SSTPPAP {
			methods = append(methods, ppp.MethodPAP)
		}
	default:
		methods = append(methods, ppp.MethodEAP)
	}
	return ppp.Config{
		Methods: methods, Auth: c, ServerName: s.server, Assign: c.assign, Log: c.log,
	}
}

// SSTP packets carry at most 4095 octets (a 12-bit length), so a frame fits a readBufSize
// buffer after the data plane's headroom.
const (
	readBufSize = dataplane.Headroom + 4096
	// uplinkBatch is how many of a client's IP packets go to the data plane at once when they
	// come faster than one at a time: one TUN write for all (coalesced by the TUN's GRO), not
	// one each. The reader runs ahead by as many frames again.
	uplinkBatch = 32
)

// readFrame is a frame from the client, read into buf after the data plane's headroom.
type readFrame struct {
	buf, frame []byte
}

// run feeds the PPP server until the link ends; it returns why.
//
// A reader goroutine reads the client's frames into buffers it recycles, frame after frame.
// This goroutine hands PPP what it gets and, once the session is up, passes the IP packets to
// the data plane in place — each buffer has the headroom in front of its frame — and as a
// batch of all the frames that are waiting, so that a fast upload costs one TUN write per
// batch.
func (c *sstpConn) run(ctx context.Context) string {
	frames := make(chan readFrame, uplinkBatch)
	free := make(chan []byte, 2*uplinkBatch+1)
	readErr := make(chan error, 1)
	done := make(chan struct{})
	defer close(done) // the reader ends when end closes the connection; it must not block on frames
	go func() {
		for {
			var b []byte
			select {
			case b = <-free:
			default:
				b = make([]byte, readBufSize)
			}
			f, err := c.sc.ReadFrame(b[dataplane.Headroom:dataplane.Headroom])
			if err != nil {
				readErr <- err
				close(frames)
				return
			}
			select {
			case frames <- readFrame{b, f}:
			case <-done:
				return
			}
		}
	}()
	if err := c.ppp.Start(); err != nil {
		return "PPP: " + err.Error()
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	bound := c.sc.Connected()
	// start registers the session once PPP's IPCP is up and the crypto binding is verified:
	// before that the client is not proven to be the one that authenticated.
	start := func() error {
		if c.sess != nil || bound != nil {
			return nil
		}
		_, peer, up := c.ppp.Up()
		if !up {
			return nil
		}
		if err := c.established(peer); err != nil {
			c.log.Error("SSTP client authenticated but the session could not start", "user", c.user, "err", err)
			c.ppp.Terminate("session refused")
			return err
		}
		c.release() // no longer a pre-authentication connection
		return nil
	}
	// batch holds the IP packets for the data plane, each buffer's headroom in front of it;
	// used, their buffers, given back to the reader once the data plane is done with them.
	batch := make([][]byte, 0, uplinkBatch)
	used := make([][]byte, 0, uplinkBatch)
	deliver := func() {
		if len(batch) == 0 {
			return
		}
		// Counted as received from the client, as IKEv2's ESP counts them: what the data plane
		// drops (spoofed, not allowed) is counted by reason there.
		var bytes uint64
		for _, b := range batch {
			bytes += uint64(len(b) - dataplane.Headroom)
		}
		c.sess.Counters.IngressPackets.Add(uint64(len(batch)))
		c.sess.Counters.IngressBytes.Add(bytes)
		c.l.plane.Deliver(c.lease.Addr, batch, dataplane.Headroom)
		for _, b := range used {
			select {
			case free <- b:
			default:
			}
		}
		batch, used = batch[:0], used[:0]
	}
	// input hands one frame to PPP and queues the IP packet it carries; it returns why the
	// connection ends, or "".
	input := func(m readFrame) string {
		ip, err := c.ppp.Input(m.frame)
		if err != nil {
			c.log.Debug("PPP frame refused", "err", err)
		}
		if reason, down := c.ppp.Down(); down {
			return "PPP: " + reason
		}
		if res, ok := c.ppp.Authenticated(); ok && !c.hlak {
			c.sc.SetHLAK(res.HLAK())
			c.hlak = true
		}
		if err := start(); err != nil {
			return "session refused: " + err.Error()
		}
		if len(ip) == 0 || c.sess == nil {
			return "" // m.buf is not recycled: PPP may keep what it read from a control frame
		}
		// ip is in m.buf, at least the headroom from its start (ReadFrame put the frame there).
		at := cap(m.buf) - cap(ip)
		if at < dataplane.Headroom || at+len(ip) > len(m.buf) || &m.buf[at] != &ip[0] {
			return "" // not in m.buf after all; never so, but never handed on wrong either
		}
		batch = append(batch, m.buf[at-dataplane.Headroom:at+len(ip)])
		used = append(used, m.buf)
		return ""
	}
	for {
		select {
		case <-bound:
			bound = nil
			if err := start(); err != nil {
				return "session refused: " + err.Error()
			}
		case <-ctx.Done():
			c.ppp.Terminate("gateway shutting down")
			return "gateway shutting down"
		case reason := <-c.control:
			c.ppp.Terminate(reason)
			return reason
		case now := <-tick.C:
			if err := c.ppp.Tick(now); err != nil {
				return "PPP: " + err.Error()
			}
		case m, ok := <-frames:
			if !ok {
				err := <-readErr
				if errors.Is(err, io.EOF) || errors.Is(err, sstp.ErrDisconnected) {
					return "disconnected by the client"
				}
				if errors.Is(err, sstp.ErrBinding) {
					c.refuse("crypto_binding", "binding_failed", c.user, err)
				}
				return "SSTP: " + err.Error()
			}
			reason := input(m)
			// The frames already waiting go with it, up to a batch.
		more:
			for reason == "" && len(batch) > 0 && len(batch) < uplinkBatch {
				select {
				case m, ok := <-frames:
					if !ok {
						break more // the loop's next turn sees the end
					}
					reason = input(m)
				default:
					break more
				}
			}
			deliver()
			if reason != "" {
				return reason
			}
		}
	}
}

// Send implements dataplane.Sender: IPv4 packets to the client as PPP frames, packed into
// as few TLS records as the SSTP layer can. A packet over the client's MRU, or any after the
// link went down, is dropped. A client that stops reading holds it at most sstp's write
// timeout, after which its call fails.
//
// The PPP header goes into the headroom before each packet, so nothing is copied or
// allocated per packet; frames is reused, as the data plane calls Send from one goroutine.
func (c *sstpConn) Send(bufs [][]byte, offset int) {
	frames := c.frames[:0]
	var bytes uint64
	for _, b := range bufs {
		pkt := b[offset:]
		f, err := c.ppp.FrameIP(b[:offset-pppHeaderLen], pkt) // in place: its header ends where pkt starts
		if err != nil {
			continue
		}
		frames = append(frames, f[offset-pppHeaderLen:])
		bytes += uint64(len(pkt))
	}
	c.frames = frames
	if len(frames) == 0 || c.sc.WriteFrames(frames) != nil {
		return
	}
	c.counters.EgressPackets.Add(uint64(len(frames)))
	c.counters.EgressBytes.Add(bytes)
}

// refuse logs and counts a refused sign-in (stage: the PPP method or SSTP step).
func (c *sstpConn) refuse(stage, reason, user string, err error) {
	c.l.g.refuse(session.SSTP, stage, reason, c.remote, user, err, "correlation_id", c.sc.CorrelationID())
}

// assign leases the authenticated client its address (the RADIUS server's Framed-IP-Address,
// or one from the pool): PPP's IPCP gives it out.
func (c *sstpConn) assign(res ppp.Result) (local, peer netip.Addr, dns []netip.Addr, err error) {
	g := c.l.g
	if err := g.admit(session.SSTP); err != nil {
		c.refuse("admission", "connection_limit", res.User, err)
		return local, peer, nil, err
	}
	grant, _ := res.Data.(*ike.Grant)
	id := session.NewID(session.SSTP)
	var addr netip.Addr
	if grant != nil && grant.Addr.IsValid() {
		p := g.Pools().Find(grant.Addr)
		if p == nil {
			return local, peer, nil, fmt.Errorf("Framed-IP-Address %s from RADIUS server %s lies in no client address pool", grant.Addr, grant.Server)
		}
		if err := p.AcquireAddr(context.Background(), grant.Addr, res.User, id); err != nil {
			return local, peer, nil, err
		}
		addr = grant.Addr
	} else if addr, err = g.Pools().Acquire(context.Background(), res.User, id); err != nil {
		return local, peer, nil, err
	}
	p := g.Pools().Find(addr)
	cfg := g.Config()
	c.lease = &ike.Lease{Session: id, Addr: addr, DNS: cfg.DNSServers}
	c.grant, c.user = grant, res.User
	return p.Gateway(), addr, cfg.DNSServers, nil
}

// established registers the session and attaches it to the data plane once IPCP is up.
func (c *sstpConn) established(peer netip.Addr) error {
	g := c.l.g
	s := &session.Session{
		ID: c.lease.Session, User: c.user, Protocol: session.SSTP, AuthMethod: c.auth,
		PublicAddr: c.remote, VPNAddr: peer, StartedAt: g.now(), Certificates: c.certs,
		Close: func(reason string) {
			select {
			case c.control <- reason:
			default:
			}
		},
	}
	c.counters = &s.Counters
	if err := c.l.plane.Attach(peer, c); err != nil {
		return err
	}
	if err := g.register(s); err != nil {
		c.l.plane.Detach(peer, c)
		return err
	}
	c.sess = s
	g.p2s.Info("client connected", "id", s.ID, "user", s.User, "protocol", s.Protocol, "auth", s.AuthMethod, "public_address", s.PublicAddr, "vpn_address", s.VPNAddr)
	g.metrics.established.Add(1)
	if c.grant != nil && g.aaa != nil {
		g.aaa.started(s, c.grant)
	}
	return nil
}

// end tears the connection down and frees what it held.
func (c *sstpConn) end(reason string) {
	g := c.l.g
	ctx := context.Background()
	c.sc.Disconnect(reason)
	c.sc.Close()
	if c.sess != nil {
		c.l.plane.Detach(c.sess.VPNAddr, c)
		tr := g.metrics.removeSession(ctx, c.sess.ID)
		if g.aaa != nil {
			g.aaa.ended(c.sess.ID, reason, g.now())
		}
		g.p2s.Info("client disconnected", "id", c.sess.ID, "user", c.sess.User, "protocol", session.SSTP, "public_address", c.remote,
			"vpn_address", c.sess.VPNAddr, "reason", reason, "duration", g.now().Sub(c.sess.StartedAt).Round(time.Second),
			"ingress_bytes", tr.IngressBytes, "egress_bytes", tr.EgressBytes)
	} else {
		c.log.Info("SSTP connection ended before the session started", "user", c.user, "reason", reason)
	}
	if c.lease != nil {
		g.Pools().Release(ctx, c.lease.Addr, c.lease.Session)
	}
}

// PAP implements ppp.Authenticator through RADIUS.
func (c *sstpConn) PAP(user string, password []byte) (ppp.Result, error) {
	return c.radius("pap", user, radius.Request{UserName: user, Password: password})
}

// MSCHAPv2 implements ppp.Authenticator through RADIUS (RFC 2548): the server checks the
// response and returns the authenticator response and the MPPE keys.
func (c *sstpConn) MSCHAPv2(user string, authChallenge, peerChallenge, ntResponse []byte) (ppp.Result, error) {
	resp := make([]byte, 0, 50)
	resp = append(resp, 0, 0) // Ident, Flags
	resp = append(resp, peerChallenge...)
	resp = append(resp, make([]byte, 8)...)
	resp = append(resp, ntResponse...)
	return c.radius("mschapv2", user, radius.Request{UserName: user, MSCHAPChallenge: authChallenge, MSCHAP2Response: resp})
}

// EAP implements ppp.Authenticator: EAP-TLS terminated here with certificate auth on (a Nak
// goes on to RADIUS), else the conversation is relayed to RADIUS.
func (c *sstpConn) EAP(identity string) ppp.EAPConversation {
	cfg := c.l.g.Config()
	a := c.l.g.aaa
	switch {
	case slices.Contains(cfg.AuthTypes, config.AuthCertificate):
		return &pppEAPTLS{c: c, user: identity}
	case a != nil:
		return &pppEAP{c: c, user: identity, relay: a.relay(identity, c.remote)}
	}
	return nil
}

// radius sends one Access-Request and reads the verdict.
func (c *sstpConn) radius(method, user string, req radius.Request) (ppp.Result, error) {
	a := c.l.g.aaa
	if a == nil {
		c.log.Info("SSTP sign-in refused: passwords need radius in auth_types", "user", user, "method", method)
		return ppp.Result{Message: "authentication failed"}, nil
	}
	req.CallingStationID = c.remote.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), relayDeadline)
	defer cancel()
	resp, err := a.client.NewConversation().Exchange(ctx, req)
	if err != nil {
		c.refuse(method, "radius_unavailable", user, err)
		return ppp.Result{Message: "authentication server unavailable"}, nil
	}
	if resp.Code != radius.CodeAccessAccept {
		msg := "rejected by the authentication server"
		if len(resp.ReplyMessage) > 0 {
			msg += ": " + strings.Join(resp.ReplyMessage, " ")
		}
		c.refuse(method, "rejected", user, errors.New(msg))
		return ppp.Result{Message: truncate(msg, 200)}, nil
	}
	if method == "mschapv2" && len(resp.MSK) < 32 {
		// Without the keys the crypto binding would use a zero HLAK, which a man in the middle
		// can compute: refuse rather than lose SSTP's protection against relayed sign-ins.
		c.log.Warn("the RADIUS server accepted MS-CHAPv2 without MS-MPPE keys; have it send them (FreeRADIUS: mschap use_mppe = yes)", "user", user, "server", resp.Server)
		c.refuse(method, "no_mppe_keys", user, fmt.Errorf("RADIUS server %s accepted MS-CHAPv2 without MS-MPPE keys", resp.Server))
		return ppp.Result{Message: "authentication failed"}, nil
	}
	res := ppp.Result{OK: true, User: user, Data: &ike.Grant{
		Server: resp.Server, Addr: resp.FramedIP, SessionTimeout: resp.SessionTimeout, Class: resp.Class, Messages: resp.ReplyMessage,
	}}
	if len(resp.MSCHAP2Success) > 1 {
		res.AuthResponse = string(resp.MSCHAP2Success[1:])
	}
	if len(resp.MSK) >= 32 {
		res.RecvKey, res.SendKey = resp.MSK[:len(resp.MSK)/2], resp.MSK[len(resp.MSK)/2:]
	}
	c.auth = "radius"
	return res, nil
}

// truncate cuts s to at most n bytes (on a rune boundary), for text that goes to the client.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// pppEAP is ppp.EAPConversation over the RADIUS relay.
type pppEAP struct {
	c     *sstpConn
	user  string
	relay ike.EAPRelay
}

func (e *pppEAP) Exchange(packet []byte) ([]byte, bool, ppp.Result, error) {
	ans, err := e.relay.Exchange(packet)
	if err != nil {
		e.c.refuse("eap", "radius_unavailable", e.user, err)
		return nil, true, ppp.Result{Message: "authentication server unavailable"}, nil
	}
	switch ans.Verdict {
	case ike.EAPContinue:
		return ans.Packet, false, ppp.Result{}, nil
	case ike.EAPAccept:
		if len(ans.MSK) < 32 {
			// As for MS-CHAPv2: a zero HLAK would let a relayed sign-in through.
			e.c.log.Warn("the RADIUS server accepted EAP without MS-MPPE keys; have it send them", "user", e.user)
			e.c.refuse("eap", "no_mppe_keys", e.user, errors.New("the RADIUS server accepted EAP without MS-MPPE keys"))
			return nil, true, ppp.Result{Message: "authentication failed"}, nil
		}
		e.c.auth = "radius"
		return ans.Packet, true, ppp.Result{OK: true, User: e.user, MSK: ans.MSK, Data: ans.Grant}, nil
	default:
		e.c.refuse("eap", "rejected", e.user, errors.New(ans.Reason))
		return ans.Packet, true, ppp.Result{Message: ans.Reason}, nil
	}
}

// pppEAPTLS is EAP-TLS terminated by the gateway for an SSTP client (Windows' certificate
// profile): the client's certificate goes through the same policy as IKEv2's (trusted roots,
// revocation, EKU, validity). A client that declines EAP-TLS with a Nak is handed to RADIUS
// when it is on.
type pppEAPTLS struct {
	c      *sstpConn
	user   string
	tls    *eap.TLSServer
	id     uint8
	name   string
	certs  [][]byte // DER
	reason error    // why the policy refused the certificate
	relay  ppp.EAPConversation
	first  []byte // the identity response, for the relay
}

func (e *pppEAPTLS) Exchange(packet []byte) ([]byte, bool, ppp.Result, error) {
	if e.relay != nil {
		return e.relay.Exchange(packet)
	}
	pkt, err := eap.Parse(packet)
	if err != nil {
		return nil, true, ppp.Result{Message: "malformed EAP"}, err
	}
	switch {
	case e.tls == nil:
		e.first = packet
		cfg := e.c.l.tls.Clone()
		cfg.ClientAuth = tls.RequireAnyClientCert
		cfg.VerifyPeerCertificate = e.verify
		e.tls = eap.NewTLSServer(cfg)
		e.id = pkt.Identifier + 1
		return e.tls.Start(e.id).Bytes(), false, ppp.Result{}, nil
	case pkt.Code == eap.CodeResponse && pkt.Type == eap.TypeNak && e.c.l.g.aaa != nil:
		e.tls.Close()
		e.relay = &pppEAP{c: e.c, user: e.user, relay: e.c.l.g.aaa.relay(e.user, e.c.remote)}
		return e.relay.Exchange(e.first)
	}
	next, err := e.tls.Next(pkt)
	if err != nil {
		why := err
		if e.reason != nil {
			why = e.reason
		}
		e.c.refuse("eap-tls", "certificate_refused", e.user, why)
		return next.Bytes(), true, ppp.Result{Message: why.Error()}, nil
	}
	if next.Code != eap.CodeSuccess {
		return next.Bytes(), false, ppp.Result{}, nil
	}
	e.c.auth = "eap-tls"
	e.c.certs = e.certs
	return next.Bytes(), true, ppp.Result{OK: true, User: e.name, MSK: e.tls.MSK}, nil
}

// verify is the certificate policy inside the TLS handshake.
func (e *pppEAPTLS) verify(raw [][]byte, _ [][]*x509.Certificate) error {
	certs, err := eap.PeerCertificates(raw)
	if err != nil {
		return err
	}
	id, err := e.c.l.g.policy.Verify(certs[0], certs[1:], e.c.l.g.now())
	if err != nil {
		e.reason = err
		return err
	}
	e.name, e.certs = id.Name, nil
	for _, r := range raw { // copies: raw is in the TLS handshake's buffers
		e.certs = append(e.certs, bytes.Clone(r))
	}
	return nil
}

package ike

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/p2sgw/p2sgw/esp"
	"github.com/p2sgw/p2sgw/ike/message"
	"github.com/p2sgw/p2sgw/ike/transform"
	"github.com/p2sgw/p2sgw/netio"
)

// The server is the I/O around the pure SAs: it reads UDP 500 and 4500 in batches, routes IKE
// messages to one goroutine per IKE SA by SPI (which handles one event at a time; see run), and
// ESP packets to their tunnel by SPI:
//
//	UDP 500  → IKE ─┐
//	UDP 4500 → classify → IKE (non-ESP marker) ─┴→ SA goroutine (mailbox) → Respond / SA.Handle → reply
//	                   → ESP → tunnel by SPI → esp.Inbound.Open → Hooks.Deliver (the data plane)
//	data plane → Tunnel.Send → esp.Outbound.Seal → UDP 4500 to the client's current address

// Hooks connect the server to the gateway. They are called on behalf of SA goroutines (from
// the short-lived goroutine an SA hands each event to, one at a time per SA) and from the ESP
// reader, and must be safe for concurrent use.
type Hooks struct {
	// Established is called when a client's IKE SA and CHILD SA are up; the tunnel is ready
	// to carry traffic. The gateway registers the session and attaches the tunnel to the data
	// plane. An error tears the SA down.
	Established func(sa *SA, t *Tunnel) error
	// Ended is called once when an established SA is gone, with why.
	Ended func(sa *SA, t *Tunnel, reason string)
	// Released is called when a handshake that leased an address fails after Assign.
	Released func(l *Lease)
	// Deliver takes decrypted packets from a client (the data plane's Deliver).
	Deliver func(from netip.Addr, bufs [][]byte, offset int) int
	// FreeSPI gives back an inbound SPI that AllocateSPI handed out, once its SA is gone.
	FreeSPI func(spi uint32)
	// Refused, if set, is told of every handshake the gateway refused, to log and count it.
	Refused func(Refusal)
	// Happened, if set, counts an event of an established SA, for metrics: "child_sa_rekey",
	// "ike_sa_rekey", "dead_peer".
	Happened func(event string)
}

// Refusal is a handshake the gateway refused.
type Refusal struct {
	Exchange string         // IKE_SA_INIT or IKE_AUTH
	Reason   string         // the notify it answered with (e.g. AUTHENTICATION_FAILED), or "other"
	Remote   netip.AddrPort // the client's public address and port
	Identity string         // who the client claimed to be (IDi or EAP identity); "" in IKE_SA_INIT
	Err      error          // why, in words
}

func (s *Server) refused(r Refusal) {
	if s.hooks.Refused != nil {
		s.hooks.Refused(r)
	}
}

func (s *Server) happened(event string) {
	if s.hooks.Happened != nil {
		s.hooks.Happened(event)
	}
}

// refusalReason is the notify a refusal answered with, or "other".
func refusalReason(err error) string {
	var ne *NotifyError
	if errors.As(err, &ne) {
		return ne.Type.String()
	}
	if errors.Is(err, ErrAuthFailed) {
		return message.NotifyAuthenticationFailed.String()
	}
	return "other"
}

// Timers are the server's liveness timers.
type Timers struct {
	// DPDInterval is how long a client may be silent before the server asks it whether it is
	// alive (an empty INFORMATIONAL request); 0 turns dead peer detection off.
	DPDInterval time.Duration
	// DeadPeerTimeout is how long the server retransmits that request (after 1 s, 2 s, 4 s, …)
	// before it gives the client up and ends its session.
	DeadPeerTimeout time.Duration
	// ChildLifetime is how long a CHILD SA's keys are used before the gateway rekeys it (if the
	// client has not done so first); 0: the gateway never starts a rekey.
	ChildLifetime time.Duration
	// IKELifetime is the same for the IKE SA's keys.
	IKELifetime time.Duration
}

// Server runs the IKEv2 responder and the ESP data path on two sockets.
type Server struct {
	limits  Limits
	cookies cookieJar
	timers  Timers
	cfg     *ResponderConfig
	ike     netio.Conn // UDP 500
	natt    netio.Conn // UDP 4500
	hooks   Hooks
	log     *slog.Logger

	mu       sync.RWMutex            // guards the maps
	bySPI    map[uint64]*handle      // by our SPI of the SA (LocalSPI)
	halfOpen map[halfOpenKey]*handle // IKE_SA_INIT retransmissions find their SA here
	perSrc   map[netip.Addr]int      // half-open SAs by source address
	closing  bool                    // Serve is ending: new SAs are not admitted
	tunnels  map[uint32]inboundSA    // by inbound ESP SPI

	wg sync.WaitGroup
}

type halfOpenKey struct {
	spiI   uint64
	remote netip.AddrPort
}

// handle is one SA's goroutine and mailbox.
type handle struct {
	sa      *SA
	old     *SA // the IKE SA a rekey replaced, until the peer deletes it
	mailbox chan *datagram
	control chan string // disconnect requests, with the reason
	tunnel  *Tunnel
	key     halfOpenKey
}

type datagram struct {
	buf    []byte
	remote netip.AddrPort
	local  netip.AddrPort
	natt   bool // arrived on 4500: answer there, with the non-ESP marker
}

// Timeouts.
const (
	halfOpenTimeout = 30 * time.Second // an SA that does not finish IKE_AUTH in time is dropped
	deleteTimeout   = 3 * time.Second  // how long we wait for the answer to our Delete
	// responseMemory is how long our answer to a client's request is kept for its
	// retransmissions: longer than clients retransmit (strongSwan gives up after 165 s,
	// Windows sooner).
	responseMemory = 5 * time.Minute
	abandonDelay   = 200 * time.Millisecond
	// mailboxSize is how many messages may wait for an SA's goroutine: the fragments of one
	// message, and retransmissions while an EAP round trip to RADIUS blocks the SA.
	mailboxSize = 16
)

// NewServer returns a server answering on ike (UDP 500) and natt (UDP 4500).
func NewServer(cfg *ResponderConfig, ikeConn, natt netio.Conn, hooks Hooks, timers Timers, log *slog.Logger) *Server {
	return &Server{
		cfg: cfg, ike: ikeConn, natt: natt, hooks: hooks, log: log, timers: timers,
		bySPI:    make(map[uint64]*handle),
		halfOpen: make(map[halfOpenKey]*handle),
		perSrc:   make(map[netip.Addr]int),
		limits:   DefaultLimits,
		tunnels:  make(map[uint32]inboundSA),
	}
}

// Serve reads both sockets until ctx is done; then it deletes every SA (telling the clients)
// and returns once all goroutines have ended. It closes the sockets.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 2)
	go func() { errc <- s.readLoop(s.ike, false) }()
	go func() { errc <- s.readLoop(s.natt, true) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	s.mu.Lock()
	s.closing = true // no new SA from now on: a client that reconnects at once waits for the next gateway
	s.mu.Unlock()
	s.mu.RLock()
	for _, h := range s.bySPI {
		select {
		case h.control <- "gateway shutting down":
		default:
		}
	}
	s.mu.RUnlock()
	s.wg.Wait()
	s.ike.Close()
	s.natt.Close()
	return err
}

// Disconnect ends the IKE SA of tunnel t: its goroutine sends a Delete to the client, then
// tears the SA down. It returns at once; a second request while one is pending is dropped.
func (s *Server) Disconnect(t *Tunnel, reason string) {
	select {
	case t.control <- reason:
	default:
	}
}

func (s *Server) readLoop(c netio.Conn, natt bool) error {
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
		n, err := c.ReadBatch(pkts)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("ike: read %s: %w", c.LocalAddr(), err)
		}
		inner = inner[:0]
		var from *Tunnel
		now := time.Now().UnixNano()
		for i := 0; i < n; i++ {
			p := &pkts[i]
			if !natt {
				s.dispatchIKE(datagram{buf: p.Buf, remote: p.Remote, local: p.Local})
				continue
			}
			switch esp.Classify(p.Buf) {
			case esp.KindIKE:
				msg, _ := esp.IKEMessage(p.Buf)
				s.dispatchIKE(datagram{buf: msg, remote: p.Remote, local: p.Local, natt: true})
			case esp.KindESP:
				spi, _ := esp.SPI(p.Buf)
				ref, ok := s.inbound(spi)
				if !ok {
					continue
				}
				t := ref.t
				pkt, _, drop := ref.in.Open(p.Buf)
				if drop != esp.DropNone {
					continue
				}
				t.follow(p.Remote, p.Local)
				t.lastSeen.Store(now)
				// Packets of one client in a row go to the data plane as one batch.
				if from != nil && from != t {
					s.deliver(from, inner)
					inner = inner[:0]
				}
				from = t
				// The inner packet follows the ESP header; hand it over deliverOffset into
				// its buffer (every transform's header is at least that long), which leaves
				// the TUN room for its virtio header in front of it.
				hl := ref.in.Transform().HeaderLen()
				inner = append(inner, p.Buf[hl-deliverOffset:hl+len(pkt)])
			}
		}
		if from != nil && len(inner) > 0 {
			s.deliver(from, inner)
		}
	}
}

// deliverOffset is where decrypted packets start in the buffers given to Hooks.Deliver: the
// shortest ESP header (SPI, sequence number and AES-GCM's 8-octet IV).
const deliverOffset = 16

func (s *Server) deliver(t *Tunnel, bufs [][]byte) {
	if s.hooks.Deliver != nil {
		s.hooks.Deliver(t.addr, bufs, deliverOffset)
	}
}

func (s *Server) inbound(spi uint32) (inboundSA, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ref, ok := s.tunnels[spi]
	return ref, ok
}

// dispatchIKE routes an IKE message to its SA's goroutine, or starts a new SA.
func (s *Server) dispatchIKE(d datagram) {
	h, err := message.DecodeHeader(d.buf)
	if err != nil {
		return
	}
	dp := &datagram{buf: append([]byte(nil), d.buf...), remote: d.remote, local: d.local, natt: d.natt} // the read buffer is reused
	s.mu.Lock()
	var hd *handle
	if h.SPIr == 0 {
		key := halfOpenKey{h.SPIi, d.remote}
		hd = s.halfOpen[key]
		if hd == nil {
			if s.closing || h.Exchange != message.ExchangeIKESAInit || h.IsResponse() || !s.admit(h, d) {
				s.mu.Unlock()
				return
			}
			hd = s.newHandle(key)
		}
	} else {
		hd = s.bySPI[LocalSPIOf(h)]
	}
	s.mu.Unlock()
	if hd == nil {
		return
	}
	select {
	case hd.mailbox <- dp:
	default: // the SA is overwhelmed: drop, the peer retransmits
	}
}

// leaveHalfOpen takes h out of the half-open table, once. s.mu is held.
func (s *Server) leaveHalfOpen(h *handle) {
	if s.halfOpen[h.key] != h {
		return
	}
	delete(s.halfOpen, h.key)
	src := h.key.remote.Addr()
	if s.perSrc[src]--; s.perSrc[src] <= 0 {
		delete(s.perSrc, src)
	}
}

// SetLimits replaces the half-open limits (DefaultLimits until then). Call it before Serve.
func (s *Server) SetLimits(l Limits) { s.limits = l }

// admit decides whether a new IKE_SA_INIT request may start an SA: within its source's
// half-open limit, and with a valid cookie once the gateway is under load. Otherwise it is
// dropped, or answered with a cookie. s.mu is held.
func (s *Server) admit(h message.Header, d datagram) bool {
	src := d.remote.Addr()
	if s.limits.HalfOpenPerSource > 0 && s.perSrc[src] >= s.limits.HalfOpenPerSource {
		s.log.Debug("IKE_SA_INIT dropped: too many half-open SAs from this source", "remote", d.remote, "half_open", s.perSrc[src])
		return false
	}
	if len(s.halfOpen) < s.limits.CookieThreshold {
		return true
	}
	ni, cookie, ok := requestCookie(d.buf)
	if !ok {
		return false
	}
	now := time.Now()
	if cookie != nil && s.cookies.valid(cookie, ni, src, h.SPIi, now) {
		return true
	}
	s.send(d, cookieResponse(h, s.cookies.make(ni, src, h.SPIi, now)))
	return false
}

// newHandle starts the goroutine of a new SA. s.mu is held.
func (s *Server) newHandle(key halfOpenKey) *handle {
	h := &handle{mailbox: make(chan *datagram, mailboxSize), control: make(chan string, 1), key: key}
	s.halfOpen[key] = h
	s.perSrc[key.remote.Addr()]++
	s.wg.Add(1)
	l := s.newSALoop(h)
	l.schedule()
	go s.run(l)
	return h
}

// run is one SA's goroutine: it owns h.sa. Besides the SA's messages it runs the SA's timers:
// the half-open timeout, dead peer detection with the retransmission of our requests, and the
// rekeys the gateway starts itself when a lifetime ends.
//
// There is one such goroutine per client, idle nearly all its life, so its stack is a good part
// of what a session costs: it only waits, in a function with a small frame, for the SA's
// mailbox, its control channel and its one timer, and hands each event to a goroutine of its
// own (saLoop.handle) that does the work and ends. Work that ran on it would grow its stack
// for good (Go shrinks an idle stack only while it uses under a quarter of it), so an idle SA
// keeps the smallest stack Go gives.
func (s *Server) run(l *saLoop) {
	defer s.wg.Done()
	defer s.forget(l.h)
	defer l.stop()
	for l.next() {
	}
}

// saLoop is the state of one SA goroutine's loop.
type saLoop struct {
	s       *Server
	h       *handle
	lastReq datagram // where the client's last message came from, to send a Delete to
	lastIKE time.Time
	// wake is the SA's one timer, set to the earliest of the deadlines below (armed).
	wake  *time.Timer
	armed time.Time
	// halfOpenAt is when an SA that has not finished its handshake is dropped; dpdAt when dead
	// peer detection next looks at the client's silence; forgetAt when our last answer to the
	// client is no longer kept for its retransmissions.
	halfOpenAt, dpdAt, forgetAt time.Time
	// live is our request on the current IKE SA; oldLive our Delete of the IKE SA our rekey
	// replaced.
	live, oldLive        *liveness
	childRekey, ikeRekey *rekeyTimer
}

func (s *Server) newSALoop(h *handle) *saLoop {
	now := time.Now()
	l := &saLoop{
		s: s, h: h,
		wake:       time.NewTimer(time.Hour),
		halfOpenAt: now.Add(halfOpenTimeout),
		live:       newLiveness(s.timers),
		oldLive:    newLiveness(s.timers),
		childRekey: newRekeyTimer(s.timers.ChildLifetime),
		ikeRekey:   newRekeyTimer(s.timers.IKELifetime),
	}
	l.wake.Stop()
	if s.timers.DPDInterval > 0 {
		l.dpdAt = now.Add(s.timers.DPDInterval)
	}
	return l
}

func (l *saLoop) stop() { l.wake.Stop() }

// next waits for the SA's next event and has it handled. It reports whether the SA lives on.
func (l *saLoop) next() bool {
	select {
	case dp := <-l.h.mailbox:
		return l.handle(dp, "")
	case reason := <-l.h.control:
		return l.handle(nil, reason)
	case <-l.wake.C:
		return l.handle(nil, "")
	}
}

// handle handles an event on a goroutine of its own and waits for it (see run): a message of
// the client's (dp), a disconnect (reason), or else the deadlines that have come. It reports
// whether the SA lives on. The SA goroutine waits meanwhile, so the handler owns the SA as it
// would.
func (l *saLoop) handle(dp *datagram, reason string) bool {
	done := make(chan bool, 1)
	go func() {
		var ok bool
		switch {
		case dp != nil:
			ok = l.message(dp)
		case reason != "":
			l.s.disconnect(l.h, l.lastReq, reason)
		default:
			ok = l.timers()
		}
		if ok {
			l.schedule()
		}
		done <- ok
	}()
	return <-done
}

// schedule sets the SA's timer to its earliest deadline.
func (l *saLoop) schedule() {
	next := earliest(l.halfOpenAt, l.dpdAt, l.forgetAt, l.live.due, l.oldLive.due, l.childRekey.due, l.ikeRekey.due)
	switch {
	case next == l.armed:
	case next.IsZero():
		l.wake.Stop()
		l.armed = next
	default:
		l.wake.Reset(max(time.Until(next), 0))
		l.armed = next
	}
}

// timers handles the deadlines that have come. It reports whether the SA lives on.
func (l *saLoop) timers() bool {
	l.armed = time.Time{}
	now := time.Now()
	if isDue(l.halfOpenAt, now) {
		l.halfOpenAt = time.Time{}
		if !l.halfOpenOver() {
			return false
		}
	}
	if isDue(l.live.due, now) && !l.retransmit() {
		return false
	}
	if isDue(l.oldLive.due, now) {
		l.retransmitOld()
	}
	if isDue(l.childRekey.due, now) {
		l.childRekey.due = time.Time{}
		l.rekeyChild()
	}
	if isDue(l.ikeRekey.due, now) {
		l.ikeRekey.due = time.Time{}
		l.rekeyIKE()
	}
	if isDue(l.dpdAt, now) {
		l.deadPeerCheck(now)
	}
	if isDue(l.forgetAt, now) {
		l.forgetAt = time.Time{}
		if l.h.sa != nil {
			l.h.sa.ForgetResponse()
		}
	}
	return true
}

// ours sends a request of ours to the client and keeps retransmitting it until answered.
func (l *saLoop) ours(lv *liveness, req []byte) {
	d := datagram{remote: l.h.tunnel.Remote(), local: l.h.tunnel.local, natt: true}
	l.s.send(d, req)
	lv.sent(req, d)
}

// busy: one request of ours at a time, and no rekey while the last one is being finished.
func (l *saLoop) busy() bool {
	h := l.h
	return l.live.waiting() || h.sa.Awaiting() || h.old != nil || h.sa.OldChild != nil
}

// message handles a message of the client's. It reports whether the SA lives on.
func (l *saLoop) message(dp *datagram) bool {
	s, h, d := l.s, l.h, *dp
	// Where to send a Delete: the message itself is not kept (it may be kilobytes).
	l.lastReq, l.lastIKE = datagram{remote: d.remote, local: d.local, natt: d.natt}, time.Now()
	if h.sa == nil {
		return s.respond(h, d)
	}
	hdr, _ := message.DecodeHeader(d.buf)
	if hdr.Exchange == message.ExchangeIKESAInit && !hdr.IsResponse() {
		if h.sa.initResp != nil { // nil once established: no one waits for it then
			s.send(d, h.sa.initResp) // a retransmitted IKE_SA_INIT request
		}
		return true
	}
	if h.old != nil && LocalSPIOf(hdr) == h.old.LocalSPI() {
		if s.handleOld(h, d) {
			l.oldLive.answered()
		}
		return true
	}
	resp, ev, err := h.sa.Handle(d.buf)
	if resp != nil && !hdr.IsResponse() {
		l.forgetAt = time.Now().Add(responseMemory)
	}
	if resp != nil {
		s.send(d, resp)
		for _, frag := range h.sa.Extra() {
			s.send(d, frag)
		}
	}
	if err != nil {
		s.log.Debug("IKE message dropped or refused", "spi", fmt.Sprintf("%016x", h.sa.LocalSPI()), "remote", d.remote, "err", err)
	}
	if !h.sa.Awaiting() {
		l.live.answered()
	}
	if done := s.event(h, ev, d, err); done {
		return false
	}
	switch {
	case ev == EventEstablished:
		l.childRekey.arm()
		l.ikeRekey.arm()
	case ev == EventChildRekeyed:
		l.childRekey.arm()
		if hdr.IsResponse() {
			// Our own rekey: we retire the old CHILD SA (RFC 7296 §1.3.3).
			if del, err := h.sa.DeleteOldChild(); err == nil {
				l.ours(l.live, del)
			}
		}
	case ev == EventIKERekeyed:
		l.ikeRekey.arm()
		l.oldLive.answered() // an older SA, if any, was dropped with the rekey
		if hdr.IsResponse() {
			// Our own rekey: we delete the old IKE SA through itself (RFC 7296 §1.3.2).
			if del, err := h.old.Delete(); err == nil {
				l.ours(l.oldLive, del)
			}
		}
	case hdr.IsResponse() && hdr.Exchange == message.ExchangeCreateChildSA && !h.sa.Awaiting():
		// The answer to a rekey of ours, and not a new SA: refused.
		for _, r := range []*rekeyTimer{l.childRekey, l.ikeRekey} {
			if r.pending {
				s.rekeyRefused(h, r, err)
			}
		}
	}
	return true
}

// halfOpenOver ends an SA that did not finish its handshake in time; it reports whether the
// SA lives on.
func (l *saLoop) halfOpenOver() bool {
	if l.h.sa == nil || l.h.sa.State() != StateEstablished {
		l.s.log.Info("IKE SA dropped: the client did not finish the handshake", "remote", l.lastReq.remote)
		return false
	}
	return true
}

func (l *saLoop) rekeyChild() {
	l.rekey(l.childRekey, "cannot start a CHILD SA rekey", func() ([]byte, error) {
		return l.h.sa.RekeyChild(transform.DHNone, l.s.cfg.ESPProposals)
	})
}

func (l *saLoop) rekeyIKE() {
	l.rekey(l.ikeRekey, "cannot start an IKE SA rekey", func() ([]byte, error) { return l.h.sa.RekeyIKE() })
}

// rekey starts a rekey of ours whose lifetime r says has ended, with start's request: unless
// the SA is not established, or busy (then in a second). failed is the log message if start
// fails.
func (l *saLoop) rekey(r *rekeyTimer, failed string, start func() ([]byte, error)) {
	h := l.h
	if h.tunnel == nil || h.sa.State() != StateEstablished {
		return
	}
	if l.busy() {
		r.retry(time.Second)
		return
	}
	req, err := start()
	if err != nil {
		l.s.log.Error(failed, "peer", h.sa.Peer, "err", err)
		r.arm()
		return
	}
	r.pending = true
	l.ours(l.live, req)
}

// deadPeerCheck sends a liveness check if the client has been silent (no IKE message, no
// ESP packet) for the DPD interval, and sets when to look next.
func (l *saLoop) deadPeerCheck(now time.Time) {
	h, interval := l.h, l.s.timers.DPDInterval
	if h.tunnel == nil || l.live.waiting() || h.sa.Awaiting() || h.sa.State() != StateEstablished {
		l.dpdAt = now.Add(max(interval/4, 250*time.Millisecond)) // not now; look again soon
		return
	}
	seen := time.Unix(0, max(l.lastIKE.UnixNano(), h.tunnel.lastSeen.Load()))
	if now.Sub(seen) < interval {
		l.dpdAt = seen.Add(interval)
		return
	}
	l.dpdAt = now.Add(interval)
	req, err := h.sa.Liveness()
	if err != nil {
		return
	}
	l.ours(l.live, req)
}

// retransmit sends our unanswered request again, or ends the SA when the client has been
// silent too long; it reports whether the SA lives on.
func (l *saLoop) retransmit() bool {
	s, h, live := l.s, l.h, l.live
	if !h.sa.Awaiting() {
		live.answered()
		return true
	}
	if live.expired() {
		s.log.Info("client gone: no answer to the liveness check", "peer", h.sa.Peer, "remote", h.tunnel.Remote(), "waited", s.timers.DeadPeerTimeout)
		s.happened("dead_peer")
		s.end(h, "dead peer: no answer for "+s.timers.DeadPeerTimeout.String())
		return false
	}
	s.send(live.dst, live.req)
	live.again()
	return true
}

func (l *saLoop) retransmitOld() {
	s, h, old := l.s, l.h, l.oldLive
	switch {
	case h.old == nil:
		old.answered()
	case old.expired():
		s.log.Debug("no answer to our Delete of the rekeyed IKE SA; forgetting it", "peer", h.sa.Peer)
		s.forgetOld(h)
		old.answered()
	default:
		s.send(old.dst, old.req)
		old.again()
	}
}

// rekeyRefused reschedules a rekey of ours the client refused: soon if it asked us to wait
// (TEMPORARY_FAILURE: it is busy with an exchange of its own), else after another lifetime.
func (s *Server) rekeyRefused(h *handle, r *rekeyTimer, err error) {
	var ne *NotifyError
	if errors.As(err, &ne) && ne.Type == message.NotifyTemporaryFailure {
		r.retry(time.Second + rand.N(4*time.Second))
		return
	}
	s.log.Warn("the client refused a rekey; the SA keeps its keys for another lifetime", "peer", h.sa.Peer, "err", err)
	r.arm()
}

// respond answers the IKE_SA_INIT request that created h. It reports whether the SA lives on.
func (s *Server) respond(h *handle, d datagram) bool {
	spiR, err := randomSPI(orRand(s.cfg.Rand))
	if err != nil {
		return false
	}
	sa, resp, err := Respond(s.cfg, d.buf, spiR, d.local, d.remote)
	if err != nil {
		s.log.Debug("IKE_SA_INIT refused", "remote", d.remote, "err", err)
		if resp != nil {
			s.refused(Refusal{Exchange: "IKE_SA_INIT", Reason: refusalReason(err), Remote: d.remote, Err: err})
		}
	}
	if sa != nil {
		// Findable before the client can answer: its IKE_AUTH may arrive at once.
		h.sa = sa
		s.mu.Lock()
		s.bySPI[spiR] = h
		s.mu.Unlock()
	}
	if resp != nil {
		s.send(d, resp)
	}
	return sa != nil
}

// event acts on what a message did; it reports whether the SA's goroutine ends.
func (s *Server) event(h *handle, ev Event, d datagram, err error) bool {
	switch ev {
	case EventEstablished:
		if err := s.establish(h, d); err != nil {
			s.log.Error("IKE SA up but the session could not start", "peer", h.sa.Peer, "err", err)
			s.releaseLease(h)
			if del, derr := h.sa.Delete(); derr == nil {
				s.send(d, del)
			}
			return true
		}
		return false
	case EventFailed:
		s.log.Debug("IKE_AUTH refused", "remote", d.remote, "reason", h.sa.Err)
		s.refused(Refusal{Exchange: "IKE_AUTH", Reason: refusalReason(h.sa.Err), Remote: d.remote, Identity: h.sa.ClaimedIdentity(), Err: h.sa.Err})
		s.releaseLease(h)
		if del := h.sa.Abandon(); del != nil {
			// Sent a moment after the IKE_AUTH answer: a client that takes it before the
			// answer (which makes the SA exist for it) ignores it, and may count its message
			// ID as used, so that retransmissions would be ignored too.
			s.awaitDelete(h, d, del, abandonDelay, 500*time.Millisecond)
		}
		return true
	case EventDeleted:
		s.end(h, "deleted by the client")
		return true
	case EventChildRekeyed:
		if err := s.rekey(h); err != nil {
			s.log.Error("CHILD SA rekey answered but not installed", "peer", h.sa.Peer, "err", err)
		}
		return false
	case EventOldChildDeleted:
		s.retire(h)
		return false
	case EventAddressUpdate:
		if h.tunnel != nil {
			old := h.tunnel.Remote()
			h.tunnel.moveTo(d.remote, d.local)
			s.log.Info("client moved (MOBIKE)", "peer", h.sa.Peer, "from", old, "to", d.remote)
		}
		return false
	case EventIKERekeyed:
		s.replaceIKE(h)
		return false
	case EventChildDeleted:
		// A P2S client without its CHILD SA has no traffic: end the IKE SA too.
		if del, err := h.sa.Delete(); err == nil {
			s.send(d, del)
		}
		s.end(h, "the client deleted its CHILD SA")
		return true
	}
	return false
}

// releaseLease gives back the address of an SA that will never carry traffic.
func (s *Server) releaseLease(h *handle) {
	if h.sa.Lease != nil && s.hooks.Released != nil {
		s.hooks.Released(h.sa.Lease)
		h.sa.Lease = nil
	}
}

// establish builds the ESP SAs and hands the tunnel to the gateway.
func (s *Server) establish(h *handle, d datagram) error {
	spi := h.sa.Child.InSPI
	in, out, err := h.sa.Child.ESPSAs()
	if err != nil {
		return err
	}
	t := &Tunnel{srv: s, control: h.control, in: in, out: out, addr: h.sa.Lease.Addr, remote: d.remote, local: d.local}
	t.lastSeen.Store(time.Now().UnixNano())
	if !d.natt {
		// The client floats to 4500 for ESP (we told it it is behind NAT).
		t.remote = netip.AddrPortFrom(d.remote.Addr(), 4500)
		t.local = netip.AddrPortFrom(d.local.Addr(), s.natt.LocalAddr().Port())
	}
	h.tunnel = t
	s.mu.Lock()
	s.tunnels[spi] = inboundSA{t, in}
	s.leaveHalfOpen(h)
	s.mu.Unlock()
	if s.hooks.Established != nil {
		if err := s.hooks.Established(h.sa, t); err != nil {
			s.mu.Lock()
			delete(s.tunnels, spi)
			s.mu.Unlock()
			h.tunnel = nil
			return err
		}
	}
	return nil
}

// handleOld gives a message for the IKE SA a rekey replaced to it: normally the Delete of the
// old SA or its answer, after which it is forgotten (the session lives on in the new IKE SA).
// It reports whether that happened.
func (s *Server) handleOld(h *handle, d datagram) bool {
	resp, ev, err := h.old.Handle(d.buf)
	if resp != nil {
		s.send(d, resp)
	}
	if err != nil {
		s.log.Debug("message for the rekeyed IKE SA dropped", "err", err)
	}
	if ev == EventDeleted {
		s.forgetOld(h)
		return true
	}
	return false
}

// replaceIKE carries the session on in the IKE SA a rekey created; the old one stays findable
// until its Delete is answered (or given up on).
func (s *Server) replaceIKE(h *handle) {
	next := h.sa.RekeyedIKE
	h.sa.RekeyedIKE = nil
	if h.old != nil {
		s.forgetOld(h) // a rekey of the SA that replaced it: its Delete will not come now
	}
	s.mu.Lock()
	s.bySPI[next.LocalSPI()] = h
	s.mu.Unlock()
	h.old, h.sa = h.sa, next
	s.happened("ike_sa_rekey")
	by := "the client"
	if next.IsInitiator() {
		by = "the gateway"
	}
	s.log.Info("IKE SA rekeyed", "peer", next.Peer, "by", by, "ike", next.Suite(), "spi", fmt.Sprintf("%016x", next.LocalSPI()))
}

// forgetOld drops the IKE SA a rekey replaced.
func (s *Server) forgetOld(h *handle) {
	s.mu.Lock()
	delete(s.bySPI, h.old.LocalSPI())
	s.mu.Unlock()
	h.old = nil
}

// rekey installs the CHILD SA a rekey created: its inbound SA joins the old one (which the
// client deletes soon), and the tunnel sends with its outbound SA from now on.
func (s *Server) rekey(h *handle) error {
	spi := h.sa.Rekeyed.InSPI
	in, out, err := h.sa.Rekeyed.ESPSAs()
	if err != nil {
		return err
	}
	t := h.tunnel
	s.mu.Lock()
	s.tunnels[spi] = inboundSA{t, in}
	s.mu.Unlock()
	t.mu.Lock()
	old := t.out.Stats()
	t.retired.out.Packets += old.Packets
	t.retired.out.Bytes += old.Bytes
	t.out = out
	t.in = in // the old inbound SA stays in s.tunnels until the client deletes it
	t.mu.Unlock()
	h.sa.InstallRekeyed()
	s.happened("child_sa_rekey")
	s.log.Info("CHILD SA rekeyed", "peer", h.sa.Peer, "esp", h.sa.Child.Suite, "spi_in", fmt.Sprintf("%08x", spi))
	return nil
}

// retire removes the inbound SA of the CHILD SA a rekey replaced, keeping its counts.
func (s *Server) retire(h *handle) {
	old := h.sa.OldChild
	if old == nil {
		return
	}
	s.mu.Lock()
	ref, ok := s.tunnels[old.InSPI]
	delete(s.tunnels, old.InSPI)
	s.mu.Unlock()
	if ok {
		st := ref.in.Stats()
		h.tunnel.mu.Lock()
		h.tunnel.retired.in.Packets += st.Packets
		h.tunnel.retired.in.Bytes += st.Bytes
		h.tunnel.mu.Unlock()
	}
	h.sa.OldChild = nil
	if s.hooks.FreeSPI != nil {
		s.hooks.FreeSPI(old.InSPI)
	}
}

// disconnect sends our Delete, waits a little for the answer, and ends the SA.
func (s *Server) disconnect(h *handle, last datagram, reason string) {
	if h.sa == nil || h.sa.State() != StateEstablished || h.tunnel == nil {
		if h.sa != nil {
			s.releaseLease(h)
		}
		return
	}
	d := datagram{remote: h.tunnel.Remote(), local: h.tunnel.local, natt: true}
	if del, err := h.sa.Delete(); err == nil {
		s.awaitDelete(h, d, del, 0, time.Second)
	}
	s.end(h, reason)
}

// awaitDelete sends our Delete of h's IKE SA to d after delay and retransmits it every retry
// until the answer comes or deleteTimeout passes, answering the client's messages meanwhile.
func (s *Server) awaitDelete(h *handle, d datagram, del []byte, delay, retry time.Duration) {
	deadline := time.NewTimer(deleteTimeout)
	defer deadline.Stop()
	if delay > 0 {
		time.Sleep(delay)
	}
	again := time.NewTicker(retry)
	defer again.Stop()
	s.send(d, del)
	for {
		select {
		case m := <-h.mailbox:
			resp, ev, _ := h.sa.Handle(m.buf)
			if resp != nil {
				s.send(*m, resp)
			}
			if ev == EventDeleted {
				return
			}
		case <-again.C:
			s.send(d, del)
		case <-deadline.C:
			return
		}
	}
}

// end tears down an established SA.
func (s *Server) end(h *handle, reason string) {
	if h.tunnel == nil {
		return
	}
	s.mu.Lock()
	delete(s.tunnels, h.sa.Child.InSPI)
	if h.sa.OldChild != nil {
		delete(s.tunnels, h.sa.OldChild.InSPI)
	}
	s.mu.Unlock()
	if s.hooks.FreeSPI != nil && h.sa.OldChild != nil {
		s.hooks.FreeSPI(h.sa.OldChild.InSPI)
	}
	if s.hooks.Ended != nil {
		s.hooks.Ended(h.sa, h.tunnel, reason)
	}
	h.tunnel = nil
}

// forget removes h from the tables when its goroutine ends.
func (s *Server) forget(h *handle) {
	if h.tunnel != nil {
		s.end(h, "IKE SA gone")
	}
	s.mu.Lock()
	s.leaveHalfOpen(h)
	if h.sa != nil {
		delete(s.bySPI, h.sa.LocalSPI())
	}
	if h.old != nil {
		delete(s.bySPI, h.old.LocalSPI())
	}
	s.mu.Unlock()
}

// send writes an IKE message to the peer on the port it used, with the non-ESP marker on 4500.
func (s *Server) send(d datagram, msg []byte) {
	if d.natt {
		buf := esp.AppendMarker(make([]byte, 0, 4+len(msg)))
		buf = append(buf, msg...)
		s.natt.WriteBatch([]netio.Packet{{Buf: buf, Remote: d.remote, Local: d.local}})
		return
	}
	s.ike.WriteBatch([]netio.Packet{{Buf: msg, Remote: d.remote, Local: d.local}})
}

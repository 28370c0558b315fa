package ppp

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// A link's life on the server (RFC 1661 §3.2):
//
//	Start ──> Establish (LCP) ──> Authenticate (EAP, MS-CHAPv2 or PAP) ──> Assign
//	      ──> Network (IPCP) ──> Running: IPv4 both ways
//
// and from any phase, Terminate (LCP Terminate either way, a failed authentication, a timer
// that ran out) ──> Dead, which Down reports.

// Phase is where a link is in its life.
type Phase uint8

// The phases.
const (
	PhaseInit Phase = iota
	PhaseEstablish
	PhaseAuthenticate
	PhaseNetwork
	PhaseRunning
	PhaseTerminate
	PhaseDead
)

func (p Phase) String() string {
	switch p {
	case PhaseInit:
		return "init"
	case PhaseEstablish:
		return "establish"
	case PhaseAuthenticate:
		return "authenticate"
	case PhaseNetwork:
		return "network"
	case PhaseRunning:
		return "running"
	case PhaseTerminate:
		return "terminate"
	case PhaseDead:
		return "dead"
	}
	return "Phase(" + strconv.Itoa(int(p)) + ")"
}

// Defaults and limits.
const (
	DefaultMRU     = 1400
	MaxMRU         = 4091 // an SSTP data packet holds 4095 octets with its header
	minMRU         = 128  // pppd's MINMRU
	defaultPeerMRU = 1500 // RFC 1661 §6.1, when the peer does not say

	defaultRestart      = 3 * time.Second
	defaultMaxConfigure = 10
	defaultMaxTerminate = 2
	defaultMaxFailure   = 5
	defaultAuthTimeout  = 60 * time.Second
	defaultEchoFailures = 3
)

// Config is a server's configuration. Methods, Auth and Assign are required; the rest has
// defaults.
type Config struct {
	Methods    []Method // offered in this order, e.g. [MethodEAP, MethodMSCHAPv2]
	Auth       Authenticator
	ServerName string // our CHAP name
	// Assign is called once the peer is authenticated: our address and the peer's for IPCP,
	// and the DNS servers to give (at most two are), or an error, which terminates the link
	// with it as the reason.
	Assign func(res Result) (local, peer netip.Addr, dns []netip.Addr, err error)
	MRU    int // what we ask the peer to send at most: DefaultMRU if 0; at most MaxMRU
	Log    *slog.Logger
	Rand   io.Reader        // crypto/rand if nil
	Now    func() time.Time // the clock that arms timers (time.Now if nil); Tick's now should come from it

	Restart      time.Duration // the restart timer: 3 s
	MaxConfigure int           // Configure-Requests (and authentication requests) sent without answer: 10
	MaxTerminate int           // Terminate-Requests sent without answer: 2
	MaxFailure   int           // Configure-Naks sent in a row before we give up: 5
	AuthTimeout  time.Duration // the whole authentication phase: 60 s (a RADIUS server may wait on MFA)
	EchoInterval time.Duration // LCP Echo-Requests once opened; 0 sends none (SSTP has its own keepalive)
	EchoFailures int           // unanswered echoes before the link is declared dead: 3
}

// Server is the server side of one PPP link. Create it with NewServer and call Start once the
// lower layer (SSTP) is up; then pass each frame from the peer to Input and call Tick now and
// then (every second is plenty). It is not safe for concurrent use, except SendIP and FrameIP,
// which may be called from another goroutine.
//
// Errors from Input and Tick concern one frame or one send; the link goes on until Down reports
// that it ended, after which the server ignores every frame.
type Server struct {
	cfg  Config
	t    timing
	send func(frame []byte) error
	log  *slog.Logger

	phase   Phase
	lcp     fsm
	lcpNeg  lcpServer
	ipcp    fsm
	ipcpNeg ipcpServer
	auth    authServer

	result Result // once authenticated
	authed bool
	local  netip.Addr
	peer   netip.Addr
	dns    []netip.Addr

	echoNext    time.Time
	echoPending int

	closing string // a termination decided inside an event, carried out after it
	reason  string // why the link ended
	sendErr error  // the first send error of the current call

	// For SendIP and FrameIP, from any goroutine.
	running atomic.Bool
	peerMRU atomic.Int32
	bufs    sync.Pool
}

// NewServer returns a server for one link that sends its frames with send. send must not keep
// the frame after it returns. If SendIP is used from another goroutine, send is called from it
// too.
func NewServer(cfg Config, send func(frame []byte) error) *Server {
	if cfg.MRU == 0 {
		cfg.MRU = DefaultMRU
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	s := &Server{cfg: cfg, send: send, log: cfg.Log, t: newTiming(&cfg)}
	s.peerMRU.Store(defaultPeerMRU)
	s.lcpNeg = lcpServer{s: s, mru: cfg.MRU}
	s.lcp = s.newFSM("LCP", ProtoLCP, &s.lcpNeg)
	s.lcp.up, s.lcp.down, s.lcp.done = s.lcpUp, s.lcpDown, s.finish
	s.ipcpNeg = ipcpServer{s: s}
	s.ipcp = s.newFSM("IPCP", ProtoIPCP, &s.ipcpNeg)
	s.ipcp.up = func() {
		s.phase = PhaseRunning
		s.running.Store(true)
		s.log.Info("ppp: up", "local", s.local, "peer", s.peer)
	}
	s.ipcp.down = func() { s.phase = PhaseNetwork; s.running.Store(false) }
	s.ipcp.done, s.ipcp.fail = s.terminate, s.terminate
	s.auth.s = s
	return s
}

func newTiming(cfg *Config) timing {
	t := timing{restart: cfg.Restart, maxConfigure: cfg.MaxConfigure, maxTerminate: cfg.MaxTerminate, maxFailure: cfg.MaxFailure, now: cfg.Now}
	if t.restart <= 0 {
		t.restart = defaultRestart
	}
	if t.maxConfigure <= 0 {
		t.maxConfigure = defaultMaxConfigure
	}
	if t.maxTerminate <= 0 {
		t.maxTerminate = defaultMaxTerminate
	}
	if t.maxFailure <= 0 {
		t.maxFailure = defaultMaxFailure
	}
	if t.now == nil {
		t.now = time.Now
	}
	return t
}

func (s *Server) newFSM(name string, proto uint16, neg negotiator) fsm {
	return fsm{
		name: name, proto: proto, neg: neg, t: &s.t,
		out:  func(p packet) { s.output(proto, p) },
		logf: func(msg string, a ...any) { s.log.Debug("ppp: "+name+": "+msg, a...) },
	}
}

// Start begins the link (Lower-Layer-Up): it sends our LCP Configure-Request with our MRU, a
// magic number and the first method.
func (s *Server) Start() error {
	if s.phase != PhaseInit {
		return fmt.Errorf("%w: started twice", ErrConfig)
	}
	if err := s.checkConfig(); err != nil {
		return err
	}
	var m [4]byte
	if _, err := io.ReadFull(s.cfg.Rand, m[:]); err != nil {
		return fmt.Errorf("ppp: magic number: %w", err)
	}
	s.lcpNeg.magic = binary.BigEndian.Uint32(m[:])
	s.lcpNeg.method = s.cfg.Methods[0]
	s.lcpNeg.tried = 1 << s.cfg.Methods[0]
	s.phase = PhaseEstablish
	s.lcp.open()
	return s.takeErr(nil)
}

func (s *Server) checkConfig() error {
	if len(s.cfg.Methods) == 0 || s.cfg.Auth == nil || s.cfg.Assign == nil {
		return fmt.Errorf("%w: Methods, Auth and Assign are required", ErrConfig)
	}
	for _, m := range s.cfg.Methods {
		if m.proto() == 0 {
			return fmt.Errorf("%w: unknown method %v", ErrConfig, m)
		}
	}
	if s.cfg.MRU < minMRU || s.cfg.MRU > MaxMRU {
		return fmt.Errorf("%w: MRU %d is not between %d and %d", ErrConfig, s.cfg.MRU, minMRU, MaxMRU)
	}
	return nil
}

// Input handles one frame from the peer. Control protocols are answered through send. An IPv4
// packet once IPCP is opened is returned in ip, which aliases frame; IPv4 before that, and
// frames of a protocol whose phase has not come, are dropped. Other protocols (IPv6CP, IPv6,
// CCP, …) get an LCP Protocol-Reject once LCP is opened.
func (s *Server) Input(frame []byte) (ip []byte, err error) {
	proto, payload, err := SplitFrame(frame)
	if err != nil {
		return nil, err
	}
	if proto == ProtoIPv4 {
		if s.phase == PhaseRunning {
			return payload, nil
		}
		return nil, nil
	}
	switch {
	case s.phase == PhaseDead || s.phase == PhaseInit:
	case proto == ProtoLCP:
		err = s.inputLCP(payload)
	case proto == ProtoPAP || proto == ProtoCHAP || proto == ProtoEAP:
		if s.phase == PhaseAuthenticate || (s.authed && s.phase != PhaseTerminate) {
			err = s.auth.input(proto, payload)
		}
	case proto == ProtoIPCP:
		if s.phase == PhaseNetwork || s.phase == PhaseRunning {
			err = s.inputIPCP(payload)
		}
	case s.lcp.state == StateOpened:
		s.protocolReject(proto, payload)
	}
	s.settle()
	return nil, s.takeErr(err)
}

func (s *Server) inputLCP(b []byte) error {
	p, err := parsePacket(b)
	if err != nil {
		return fmt.Errorf("ppp: LCP: %w", err)
	}
	if s.lcp.input(p) {
		return nil
	}
	switch p.code {
	case codeCodeRej:
		s.log.Debug("ppp: LCP Code-Reject from the peer", "data", printable(p.data))
	case codeProtoRej:
		if len(p.data) >= 2 {
			switch binary.BigEndian.Uint16(p.data) {
			case ProtoLCP:
				s.terminate("the peer rejects LCP")
			case ProtoIPCP:
				s.terminate("the peer rejects IPCP: it does not want IPv4")
			}
		}
	case codeEchoReq:
		s.echoRequest(p)
	case codeEchoReply:
		if s.lcp.state == StateOpened && len(p.data) >= 4 && binary.BigEndian.Uint32(p.data) != s.lcpNeg.magic {
			s.echoPending = 0
		}
	case codeDiscard, codeTimeLeft:
	case codeIdent:
		// Windows sends two ("MSRASV5.20", "MSRAS-0-<host>"); a Code-Reject would be rude.
		if len(p.data) >= 4 {
			s.log.Debug("ppp: LCP Identification", "text", printable(p.data[4:]))
		}
	default:
		s.codeReject(&s.lcp, b)
	}
	return nil
}

func (s *Server) inputIPCP(b []byte) error {
	p, err := parsePacket(b)
	if err != nil {
		return fmt.Errorf("ppp: IPCP: %w", err)
	}
	if !s.ipcp.input(p) && p.code != codeCodeRej {
		s.codeReject(&s.ipcp, b)
	}
	return nil
}

func (s *Server) echoRequest(p packet) {
	if s.lcp.state != StateOpened || len(p.data) < 4 {
		return
	}
	if m := binary.BigEndian.Uint32(p.data); m != 0 && m == s.lcpNeg.magic {
		s.log.Warn("ppp: LCP Echo-Request with our own magic number: the link may be looped back")
		return
	}
	data := binary.BigEndian.AppendUint32(nil, s.lcpNeg.magic)
	data = append(data, p.data[4:min(len(p.data), int(s.peerMRU.Load())-cpHeader)]...)
	s.output(ProtoLCP, packet{code: codeEchoReply, id: p.id, data: data})
}

// codeReject answers a packet with a code f does not know; the rejected packet is cut to fit
// the peer's MRU.
func (s *Server) codeReject(f *fsm, b []byte) {
	f.nextID++
	rej := b[:min(len(b), int(s.peerMRU.Load())-cpHeader)]
	s.output(f.proto, packet{code: codeCodeRej, id: f.nextID, data: rej})
}

// protocolReject refuses a protocol we do not run (RFC 1661 §5.7).
func (s *Server) protocolReject(proto uint16, payload []byte) {
	data := binary.BigEndian.AppendUint16(nil, proto)
	data = append(data, payload[:min(len(payload), int(s.peerMRU.Load())-cpHeader-2)]...)
	s.lcp.nextID++
	s.output(ProtoLCP, packet{code: codeProtoRej, id: s.lcp.nextID, data: data})
}

func (s *Server) lcpUp() {
	s.peerMRU.Store(int32(s.lcpNeg.peerMRU))
	s.log.Debug("ppp: LCP opened", "method", s.lcpNeg.method, "peer_mru", s.lcpNeg.peerMRU)
	if s.cfg.EchoInterval > 0 {
		s.echoNext, s.echoPending = s.t.now().Add(s.cfg.EchoInterval), 0
	}
	s.phase = PhaseAuthenticate
	s.auth.start(s.lcpNeg.method)
}

// lcpDown: the peer renegotiates LCP. We do not authenticate a link twice; it ends instead.
func (s *Server) lcpDown() {
	s.running.Store(false)
	s.terminate("the peer renegotiated LCP")
}

// terminate ends the link with reason once the current event is handled.
func (s *Server) terminate(reason string) {
	if s.closing == "" {
		s.closing = reason
	}
}

// settle carries out a termination decided during an event.
func (s *Server) settle() {
	if s.lcp.state == StateClosing && s.phase < PhaseTerminate {
		// LCP gave up by itself.
		s.phase = PhaseTerminate
		s.running.Store(false)
		s.auth.stop()
	}
	if s.closing == "" || s.phase == PhaseDead {
		return
	}
	reason := s.closing
	s.closing = ""
	if s.phase == PhaseTerminate {
		return
	}
	s.log.Info("ppp: terminating", "reason", reason)
	s.phase = PhaseTerminate
	s.running.Store(false)
	s.auth.stop()
	if s.lcp.state == StateOpened || s.lcp.state == StateReqSent || s.lcp.state == StateAckRcvd || s.lcp.state == StateAckSent {
		s.lcp.close(reason)
		return
	}
	s.finish(reason)
}

// finish: LCP has ended (This-Layer-Finished), and so has the link.
func (s *Server) finish(reason string) {
	if s.phase == PhaseDead {
		return
	}
	s.phase = PhaseDead
	s.reason = reason
	s.running.Store(false)
	s.auth.stop()
	s.log.Info("ppp: down", "reason", reason)
}

// authenticated moves on from a successful authentication to IPCP.
func (s *Server) authenticated(res Result) {
	local, peer, dns, err := s.cfg.Assign(res)
	if err != nil {
		s.terminate("no address for " + res.User + ": " + err.Error())
		return
	}
	if !local.Is4() || !peer.Is4() || local == peer {
		s.terminate(fmt.Sprintf("no usable IPv4 addresses for %s: local %v, peer %v", res.User, local, peer))
		return
	}
	s.result, s.authed = res, true
	s.local, s.peer = local, peer
	for _, d := range dns {
		if d.Is4() && len(s.dns) < 2 {
			s.dns = append(s.dns, d)
		}
	}
	s.log.Info("ppp: authenticated", "user", res.User, "method", s.lcpNeg.method)
	s.phase = PhaseNetwork
	s.ipcp.open()
}

// Terminate ends the link: an LCP Terminate-Request, then Down once the peer acknowledges or
// the restart timer gives up.
func (s *Server) Terminate(reason string) error {
	if s.phase == PhaseInit {
		s.finish(reason)
		return nil
	}
	s.terminate(reason)
	s.settle()
	return s.takeErr(nil)
}

// Tick runs the timers: retransmissions, LCP echoes, giving up.
func (s *Server) Tick(now time.Time) error {
	if s.phase == PhaseDead || s.phase == PhaseInit {
		return nil
	}
	s.lcp.tick(now)
	s.settle()
	if s.phase == PhaseNetwork || s.phase == PhaseRunning {
		s.ipcp.tick(now)
	}
	if s.phase == PhaseAuthenticate {
		s.auth.tick(now)
	}
	s.tickEcho(now)
	s.settle()
	return s.takeErr(nil)
}

func (s *Server) tickEcho(now time.Time) {
	if s.cfg.EchoInterval <= 0 || s.lcp.state != StateOpened || s.phase == PhaseTerminate || now.Before(s.echoNext) {
		return
	}
	failures := s.cfg.EchoFailures
	if failures <= 0 {
		failures = defaultEchoFailures
	}
	if s.echoPending >= failures {
		s.terminate(fmt.Sprintf("no answer to %d LCP Echo-Requests", failures))
		return
	}
	s.echoPending++
	s.echoNext = now.Add(s.cfg.EchoInterval)
	s.lcp.nextID++
	s.output(ProtoLCP, packet{code: codeEchoReq, id: s.lcp.nextID, data: binary.BigEndian.AppendUint32(nil, s.lcpNeg.magic)})
}

// Phase is where the link is.
func (s *Server) Phase() Phase { return s.phase }

// Authenticated returns the result of a successful authentication (for SSTP's HLAK) as soon
// as there is one.
func (s *Server) Authenticated() (Result, bool) { return s.result, s.authed }

// Up returns the addresses once IPCP is opened.
func (s *Server) Up() (local, peer netip.Addr, ok bool) {
	if s.phase != PhaseRunning {
		return netip.Addr{}, netip.Addr{}, false
	}
	return s.local, s.peer, true
}

// Down returns why the link ended, once it has.
func (s *Server) Down() (reason string, ok bool) { return s.reason, s.phase == PhaseDead }

// PeerMRU is the largest frame payload the peer takes: the largest IPv4 packet for SendIP.
func (s *Server) PeerMRU() int { return int(s.peerMRU.Load()) }

// SendIP sends an IPv4 packet to the peer. It may be called from any goroutine.
func (s *Server) SendIP(pkt []byte) error {
	bp, _ := s.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	frame, err := s.FrameIP((*bp)[:0], pkt)
	if err == nil {
		err = s.send(frame)
	}
	*bp = frame[:0]
	s.bufs.Put(bp)
	return err
}

// FrameIP appends the frame for an IPv4 packet to b, for a caller that sends frames itself. It
// may be called from any goroutine.
func (s *Server) FrameIP(b, pkt []byte) ([]byte, error) {
	if !s.running.Load() {
		return b, ErrNotUp
	}
	if len(pkt) > int(s.peerMRU.Load()) {
		return b, ErrTooBig
	}
	return AppendFrame(b, ProtoIPv4, pkt), nil
}

// output sends a control packet; the first send error of a call is kept for its return.
func (s *Server) output(proto uint16, p packet) {
	s.sendFrame(appendPacket(nil, proto, p))
}

func (s *Server) takeErr(err error) error {
	if err == nil {
		err = s.sendErr
	}
	s.sendErr = nil
	return err
}

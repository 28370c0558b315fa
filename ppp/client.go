package ppp

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/p2sgw/p2sgw/eap"
	"github.com/p2sgw/p2sgw/ppp/mschapv2"
)

// ClientConfig configures a Client.
type ClientConfig struct {
	User, Password string
	// Methods are the authentication methods the client accepts, its favourite first: a server
	// that offers another is Conf-Naked with the first.
	Methods []Method
	// EAP answers the EAP requests after the Identity exchange (the packet in, the response
	// out); nil answers none.
	EAP func(request []byte) ([]byte, error)
	// MRU, if set, is asked for in LCP.
	MRU int
	// Pppd offers what pppd 2.4.9 offers by default and a server is expected to reject:
	// PFC and ACFC in LCP, VJ compression in IPCP.
	Pppd bool
	// PeerDNS asks for two DNS servers (pppd's usepeerdns).
	PeerDNS bool
	Rand    io.Reader
	Log     *slog.Logger
	Now     func() time.Time
}

// Client is the client side of a PPP link, as small as tests of the server and of SSTP need:
// LCP, PAP, MS-CHAPv2 (checking the server's authenticator response), EAP through a function,
// IPCP. It is not safe for concurrent use.
type Client struct {
	cfg  ClientConfig
	t    timing
	send func([]byte) error

	lcp     fsm
	lcpNeg  lcpClient
	ipcp    fsm
	ipcpNeg ipcpClient

	authDone  bool
	authOK    bool
	authID    uint8
	authReq   []byte // PAP request for retransmission
	authMsg   string // the server's message
	sendKey   []byte // MS-CHAPv2, the client's
	recvKey   []byte
	challenge []byte // the server's MS-CHAPv2 challenge
	peerCh    []byte
	nt        []byte

	running bool
	down    bool
	reason  string
	sendErr error
}

// NewClient returns a client that sends its frames with send.
func NewClient(cfg ClientConfig, send func([]byte) error) *Client {
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	c := &Client{cfg: cfg, send: send}
	c.t = newTiming(&Config{Now: cfg.Now})
	c.lcpNeg = lcpClient{c: c, mru: cfg.MRU, pfc: cfg.Pppd, acfc: cfg.Pppd}
	c.ipcpNeg = ipcpClient{c: c, vj: cfg.Pppd, dns: [2]bool{cfg.PeerDNS, cfg.PeerDNS}}
	mk := func(name string, proto uint16, neg negotiator) fsm {
		return fsm{name: name, proto: proto, neg: neg, t: &c.t,
			out:  func(p packet) { c.output(appendPacket(nil, proto, p)) },
			logf: func(msg string, a ...any) { cfg.Log.Debug("ppp client: "+name+": "+msg, a...) }}
	}
	c.lcp = mk("LCP", ProtoLCP, &c.lcpNeg)
	c.lcp.up = c.lcpUp
	c.lcp.down = func() { c.running = false }
	c.lcp.done = c.finish
	c.ipcp = mk("IPCP", ProtoIPCP, &c.ipcpNeg)
	c.ipcp.up = func() { c.running = true }
	c.ipcp.down = func() { c.running = false }
	c.ipcp.done = func(r string) { c.lcp.close(r) }
	c.lcpNeg.magic = c.random32()
	return c
}

// Start sends the client's LCP Configure-Request.
func (c *Client) Start() error {
	c.lcp.open()
	return c.takeErr()
}

// Input handles a frame from the server; an IPv4 packet once IPCP is up is returned.
func (c *Client) Input(frame []byte) ([]byte, error) {
	proto, payload, err := SplitFrame(frame)
	if err != nil || c.down {
		return nil, err
	}
	if proto == ProtoIPv4 {
		if c.running {
			return payload, nil
		}
		return nil, nil
	}
	p, err := parsePacket(payload)
	if err != nil {
		return nil, err
	}
	switch proto {
	case ProtoLCP:
		if !c.lcp.input(p) && p.code == codeEchoReq && len(p.data) >= 4 {
			data := binary.BigEndian.AppendUint32(nil, c.lcpNeg.magic)
			c.output(appendPacket(nil, ProtoLCP, packet{code: codeEchoReply, id: p.id, data: append(data, p.data[4:]...)}))
		}
	case ProtoPAP, ProtoCHAP, ProtoEAP:
		if c.lcp.state == StateOpened && proto == c.lcpNeg.auth.proto() {
			c.authInput(p, payload)
		}
	case ProtoIPCP:
		if c.authOK {
			c.ipcp.input(p)
		}
	}
	return nil, c.takeErr()
}

// Tick runs the client's timers.
func (c *Client) Tick(now time.Time) error {
	if !c.down {
		c.lcp.tick(now)
		if c.authOK {
			c.ipcp.tick(now)
		}
	}
	return c.takeErr()
}

// Terminate sends an LCP Terminate-Request.
func (c *Client) Terminate(reason string) error {
	c.lcp.close(reason)
	return c.takeErr()
}

// SendIP sends an IPv4 packet once IPCP is up.
func (c *Client) SendIP(pkt []byte) error {
	if !c.running {
		return ErrNotUp
	}
	c.output(AppendFrame(nil, ProtoIPv4, pkt))
	return c.takeErr()
}

// Up returns the client's address, the server's and the DNS servers once IPCP is up.
func (c *Client) Up() (local, peer netip.Addr, dns []netip.Addr, ok bool) {
	return c.ipcpNeg.addr, c.ipcpNeg.peer, c.ipcpNeg.dnsAddrs(), c.running
}

// Auth returns whether authentication ended, whether it succeeded, and the server's message.
func (c *Client) Auth() (done, ok bool, message string) { return c.authDone, c.authOK, c.authMsg }

// Method is the authentication method agreed in LCP.
func (c *Client) Method() Method { return c.lcpNeg.auth }

// HLAK is the client's SSTP Higher-Layer Authentication Key: MasterSendKey‖MasterReceiveKey
// after MS-CHAPv2 (which equals the server's), zeros otherwise.
func (c *Client) HLAK() []byte { return Result{RecvKey: c.sendKey, SendKey: c.recvKey}.HLAK() }

// Down returns why the link ended, once it has.
func (c *Client) Down() (string, bool) { return c.reason, c.down }

func (c *Client) finish(reason string) { c.down, c.reason, c.running = true, reason, false }

func (c *Client) lcpUp() {
	switch c.lcpNeg.auth {
	case MethodPAP:
		user, pw := c.cfg.User, c.cfg.Password
		data := append([]byte{byte(len(user))}, user...)
		data = append(append(data, byte(len(pw))), pw...)
		c.authID++
		c.authReq = appendPacket(nil, ProtoPAP, packet{code: papRequest, id: c.authID, data: data})
		c.output(c.authReq)
	case 0:
		c.authDone, c.authOK = true, true
		c.ipcp.open()
	}
}

func (c *Client) authInput(p packet, raw []byte) {
	if c.authDone && !(c.lcpNeg.auth == MethodMSCHAPv2 && p.code == chapSuccess) {
		return
	}
	switch c.lcpNeg.auth {
	case MethodPAP:
		if p.code == papAck || p.code == papNak {
			msg := ""
			if len(p.data) >= 1 && len(p.data) >= 1+int(p.data[0]) {
				msg = string(p.data[1 : 1+p.data[0]])
			}
			c.authResult(p.code == papAck, msg)
		}
	case MethodMSCHAPv2:
		c.chapInput(p)
	case MethodEAP:
		c.eapInput(p, raw[:cpHeader+len(p.data)])
	}
}

func (c *Client) chapInput(p packet) {
	switch p.code {
	case chapChallenge:
		if len(p.data) < 17 || p.data[0] != 16 {
			return
		}
		c.challenge = append([]byte(nil), p.data[1:17]...)
		c.peerCh = make([]byte, 16)
		io.ReadFull(c.cfg.Rand, c.peerCh)
		nt, err := mschapv2.NTResponse(c.challenge, c.peerCh, c.cfg.User, c.cfg.Password)
		if err != nil {
			return
		}
		c.nt, c.authID = nt, p.id
		data := append([]byte{msv2ValueLen}, c.peerCh...)
		data = append(data, make([]byte, 8)...)
		data = append(append(data, nt...), 0)
		data = append(data, c.cfg.User...)
		c.output(appendPacket(nil, ProtoCHAP, packet{code: chapResponse, id: p.id, data: data}))
	case chapSuccess:
		if c.authDone || c.nt == nil {
			return
		}
		want, _ := mschapv2.AuthenticatorResponse(c.challenge, c.peerCh, c.nt, c.cfg.User, c.cfg.Password)
		if len(p.data) < len(want) || string(p.data[:len(want)]) != want {
			c.authResult(false, "the server's authenticator response is wrong: "+printable(p.data))
			return
		}
		recv, send := mschapv2.Keys(c.cfg.Password, c.nt) // the server's send is our receive
		c.sendKey, c.recvKey = send, recv
		c.authResult(true, string(p.data))
	case chapFailure:
		c.authResult(false, string(p.data))
	}
}

func (c *Client) eapInput(p packet, raw []byte) {
	switch p.code {
	case eap.CodeSuccess:
		c.authResult(true, "")
	case eap.CodeFailure:
		c.authResult(false, "EAP Failure")
	case eap.CodeRequest:
		if len(p.data) >= 1 && p.data[0] == eap.TypeIdentity {
			resp := eap.Packet{Code: eap.CodeResponse, Identifier: p.id, Type: eap.TypeIdentity, Data: []byte(c.cfg.User)}
			c.output(AppendFrame(nil, ProtoEAP, resp.Bytes()))
			return
		}
		if c.cfg.EAP == nil {
			return
		}
		resp, err := c.cfg.EAP(raw)
		if err != nil {
			c.cfg.Log.Debug("ppp client: EAP", "err", err)
			return
		}
		c.output(AppendFrame(nil, ProtoEAP, resp))
	}
}

func (c *Client) authResult(ok bool, msg string) {
	c.authDone, c.authOK, c.authMsg, c.authReq = true, ok, msg, nil
	if !ok {
		c.lcp.close("authentication failed: " + msg)
		return
	}
	c.ipcp.open()
}

func (c *Client) output(frame []byte) {
	if err := c.send(frame); err != nil && c.sendErr == nil {
		c.sendErr = fmt.Errorf("ppp client: send: %w", err)
	}
}

func (c *Client) takeErr() error {
	err := c.sendErr
	c.sendErr = nil
	return err
}

func (c *Client) random32() uint32 {
	var b [4]byte
	io.ReadFull(c.cfg.Rand, b[:])
	return binary.BigEndian.Uint32(b[:]) | 1
}

// lcpClient: the client's LCP policy, pppd's in spirit. It accepts the server's MRU and magic
// number, accepts an authentication method of Methods and Naks others with its favourite.
type lcpClient struct {
	c         *Client
	mru       int
	magic     uint32
	pfc, acfc bool
	auth      Method
}

func (l *lcpClient) request(b []byte) []byte {
	if l.mru != 0 {
		b = appendOption(b, lcpMRU, byte(l.mru>>8), byte(l.mru))
	}
	if l.magic != 0 {
		b = appendOption(b, lcpMagic, binary.BigEndian.AppendUint32(nil, l.magic)...)
	}
	if l.pfc {
		b = appendOption(b, lcpPFC)
	}
	if l.acfc {
		b = appendOption(b, lcpACFC)
	}
	return b
}

func (l *lcpClient) check(opts []option) (uint8, []byte) {
	var nak, rej []byte
	auth := Method(0)
	for _, o := range opts {
		switch o.typ {
		case lcpMRU, lcpMagic:
		case lcpAuth:
			m := authMethod(o.data)
			if !l.accepts(m) && len(l.c.cfg.Methods) > 0 {
				nak = appendAuthOption(nak, l.c.cfg.Methods[0])
			}
			auth = m
		default:
			rej = appendOption(rej, o.typ, o.data...)
		}
	}
	switch {
	case rej != nil:
		return codeConfRej, rej
	case nak != nil:
		return codeConfNak, nak
	}
	l.auth = auth
	return codeConfAck, nil
}

func (l *lcpClient) accepts(m Method) bool {
	for _, x := range l.c.cfg.Methods {
		if x == m {
			return true
		}
	}
	return false
}

func (l *lcpClient) nak(opts []option) error {
	for _, o := range opts {
		switch {
		case o.typ == lcpMRU && len(o.data) == 2:
			l.mru = int(binary.BigEndian.Uint16(o.data))
		case o.typ == lcpMagic:
			l.magic = l.c.random32()
		}
	}
	return nil
}

func (l *lcpClient) reject(opts []option) error {
	for _, o := range opts {
		switch o.typ {
		case lcpMRU:
			l.mru = 0
		case lcpMagic:
			l.magic = 0
		case lcpPFC:
			l.pfc = false
		case lcpACFC:
			l.acfc = false
		}
	}
	return nil
}

// ipcpClient: the client's IPCP policy, pppd's: it asks for VJ compression (if pppd-like), the
// address 0.0.0.0 (any) and perhaps DNS, and takes what the server Naks.
type ipcpClient struct {
	c         *Client
	vj        bool
	dns       [2]bool // asking for DNS1, DNS2
	addr      netip.Addr
	dnsv      [2]netip.Addr
	peer      netip.Addr
	noAddress bool
}

func (i *ipcpClient) request(b []byte) []byte {
	if i.vj {
		b = appendOption(b, ipcpCompression, 0x00, 0x2d, 0x0f, 0x01)
	}
	if !i.noAddress {
		a := i.addr
		if !a.IsValid() {
			a = netip.IPv4Unspecified()
		}
		b = appendAddr(b, ipcpAddress, a)
	}
	for k, typ := range []uint8{ipcpDNS1, ipcpDNS2} {
		if i.dns[k] {
			a := i.dnsv[k]
			if !a.IsValid() {
				a = netip.IPv4Unspecified()
			}
			b = appendAddr(b, typ, a)
		}
	}
	return b
}

func (i *ipcpClient) check(opts []option) (uint8, []byte) {
	var rej []byte
	peer := netip.Addr{}
	for _, o := range opts {
		if o.typ == ipcpAddress && len(o.data) == 4 {
			peer = netip.AddrFrom4([4]byte(o.data))
			continue
		}
		rej = appendOption(rej, o.typ, o.data...)
	}
	if rej != nil {
		return codeConfRej, rej
	}
	i.peer = peer
	return codeConfAck, nil
}

func (i *ipcpClient) nak(opts []option) error {
	for _, o := range opts {
		if len(o.data) != 4 {
			continue
		}
		a := netip.AddrFrom4([4]byte(o.data))
		switch o.typ {
		case ipcpAddress:
			i.addr = a
		case ipcpDNS1:
			i.dnsv[0] = a
		case ipcpDNS2:
			i.dnsv[1] = a
		}
	}
	return nil
}

func (i *ipcpClient) reject(opts []option) error {
	for _, o := range opts {
		switch o.typ {
		case ipcpCompression:
			i.vj = false
		case ipcpAddress:
			i.noAddress = true
		case ipcpDNS1:
			i.dns[0] = false
		case ipcpDNS2:
			i.dns[1] = false
		}
	}
	return nil
}

func (i *ipcpClient) dnsAddrs() []netip.Addr {
	var out []netip.Addr
	for _, a := range i.dnsv {
		if a.IsValid() && !a.IsUnspecified() {
			out = append(out, a)
		}
	}
	return out
}

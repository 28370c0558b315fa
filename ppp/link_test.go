package ppp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/eap"
	"github.com/p2sgw/p2sgw/ppp/mschapv2"
)

// The tests run a server and a client in one process, the frames passed by hand.

var (
	addrLocal = netip.MustParseAddr("198.51.100.1")
	addrPeer  = netip.MustParseAddr("198.51.100.2")
	dns1      = netip.MustParseAddr("192.0.2.53")
	dns2      = netip.MustParseAddr("192.0.2.54")
)

// testAuth knows users and their passwords; EAP runs script.
type testAuth struct {
	users  map[string]string
	script func(identity string) EAPConversation
	err    error // a broken authentication service
}

func (a *testAuth) PAP(user string, pw []byte) (Result, error) {
	if a.err != nil {
		return Result{}, a.err
	}
	if p, ok := a.users[user]; ok && p == string(pw) {
		return Result{OK: true, User: user, Message: "Welcome"}, nil
	}
	return Result{Message: "bad password"}, nil
}

func (a *testAuth) MSCHAPv2(user string, authCh, peerCh, nt []byte) (Result, error) {
	if a.err != nil {
		return Result{}, a.err
	}
	p, ok := a.users[mschapv2.UserName(user)]
	if !ok {
		return Result{Message: "unknown user"}, nil
	}
	v, err := mschapv2.Verify(user, p, authCh, peerCh, nt)
	if err != nil {
		return Result{Message: "bad password"}, nil
	}
	return Result{OK: true, User: user, AuthResponse: v.AuthResponse, SendKey: v.SendKey, RecvKey: v.RecvKey}, nil
}

func (a *testAuth) EAP(identity string) EAPConversation {
	if a.script == nil {
		return nil
	}
	return a.script(identity)
}

// link is a server and a client with the frames in flight between them.
type link struct {
	t            *testing.T
	srv          *Server
	cli          *Client
	now          time.Time
	toSrv, toCli [][]byte
	fromSrv      [][]byte // every frame the server sent
	fromCli      [][]byte // every frame the client sent
	ipSrv, ipCli [][]byte // IPv4 packets each side received
}

func newLink(t *testing.T, cfg Config, ccfg ClientConfig) *link {
	t.Helper()
	l := &link{t: t, now: time.Unix(1700000000, 0)}
	clock := func() time.Time { return l.now }
	if cfg.Auth == nil {
		cfg.Auth = &testAuth{users: map[string]string{"alice": "wonderland", "User": "clientPass"}}
	}
	if cfg.Assign == nil {
		cfg.Assign = func(Result) (netip.Addr, netip.Addr, []netip.Addr, error) {
			return addrLocal, addrPeer, []netip.Addr{dns1, dns2}, nil
		}
	}
	cfg.Now, ccfg.Now = clock, clock
	cfg.ServerName = "p2sgw"
	l.srv = NewServer(cfg, func(f []byte) error {
		f = bytes.Clone(f)
		l.toCli = append(l.toCli, f)
		l.fromSrv = append(l.fromSrv, f)
		return nil
	})
	l.cli = NewClient(ccfg, func(f []byte) error {
		f = bytes.Clone(f)
		l.toSrv = append(l.toSrv, f)
		l.fromCli = append(l.fromCli, f)
		return nil
	})
	return l
}

// pump delivers frames until none is in flight.
func (l *link) pump() {
	l.t.Helper()
	for i := 0; len(l.toSrv)+len(l.toCli) > 0; i++ {
		if i > 1000 {
			l.t.Fatal("the two ends keep talking")
		}
		if len(l.toSrv) > 0 {
			f := l.toSrv[0]
			l.toSrv = l.toSrv[1:]
			ip, err := l.srv.Input(f)
			if err != nil {
				l.t.Logf("server input %x: %v", f, err)
			}
			if ip != nil {
				l.ipSrv = append(l.ipSrv, ip)
			}
			continue
		}
		f := l.toCli[0]
		l.toCli = l.toCli[1:]
		ip, err := l.cli.Input(f)
		if err != nil {
			l.t.Logf("client input %x: %v", f, err)
		}
		if ip != nil {
			l.ipCli = append(l.ipCli, ip)
		}
	}
}

// connect starts both ends and pumps.
func (l *link) connect() {
	l.t.Helper()
	if err := l.srv.Start(); err != nil {
		l.t.Fatal(err)
	}
	if err := l.cli.Start(); err != nil {
		l.t.Fatal(err)
	}
	l.pump()
}

// sent returns the control packets of proto the server sent with code.
func (l *link) sent(proto uint16, code uint8) []packet {
	var out []packet
	for _, f := range l.fromSrv {
		pr, pl, err := SplitFrame(f)
		if err != nil || pr != proto {
			continue
		}
		if p, err := parsePacket(pl); err == nil && p.code == code {
			out = append(out, p)
		}
	}
	return out
}

func (l *link) wantUp() {
	l.t.Helper()
	local, peer, ok := l.srv.Up()
	if !ok || local != addrLocal || peer != addrPeer {
		r, _ := l.srv.Down()
		l.t.Fatalf("server Up = %v %v %v (phase %v, down %q)", local, peer, ok, l.srv.Phase(), r)
	}
	cl, cp, dns, ok := l.cli.Up()
	if !ok || cl != addrPeer || cp != addrLocal {
		l.t.Fatalf("client Up = %v %v %v", cl, cp, ok)
	}
	_ = dns
}

// wantIP checks IPv4 both ways.
func (l *link) wantIP() {
	l.t.Helper()
	toCli, toSrv := []byte{0x45, 0, 0, 20, 1}, []byte{0x45, 0, 0, 20, 2}
	if err := l.srv.SendIP(toCli); err != nil {
		l.t.Fatal(err)
	}
	if err := l.cli.SendIP(toSrv); err != nil {
		l.t.Fatal(err)
	}
	l.pump()
	if len(l.ipCli) != 1 || !bytes.Equal(l.ipCli[0], toCli) || len(l.ipSrv) != 1 || !bytes.Equal(l.ipSrv[0], toSrv) {
		l.t.Fatalf("IPv4: client got %x, server got %x", l.ipCli, l.ipSrv)
	}
}

func TestPAP(t *testing.T) {
	for _, tc := range []struct {
		name, user, pw string
		ok             bool
		down           string
	}{
		{"good password", "alice", "wonderland", true, ""},
		{"bad password", "alice", "looking-glass", false, "PAP: authentication failed: alice: refused: bad password"},
		{"unknown user", "bob", "x", false, "PAP: authentication failed: bob: refused: bad password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLink(t, Config{Methods: []Method{MethodPAP}}, ClientConfig{User: tc.user, Password: tc.pw, Methods: []Method{MethodPAP}, Pppd: true, PeerDNS: true})
			l.connect()
			done, ok, msg := l.cli.Auth()
			if !done || ok != tc.ok {
				t.Fatalf("client auth = %v %v %q", done, ok, msg)
			}
			if !tc.ok {
				if msg != "bad password" {
					t.Errorf("Authenticate-Nak message %q", msg)
				}
				if r, down := l.srv.Down(); !down || r != tc.down {
					t.Errorf("Down = %q %v, want %q", r, down, tc.down)
				}
				if _, authed := l.srv.Authenticated(); authed {
					t.Error("Authenticated after a failure")
				}
				return
			}
			if msg != "Welcome" {
				t.Errorf("Authenticate-Ack message %q", msg)
			}
			res, authed := l.srv.Authenticated()
			if !authed || res.User != "alice" || !bytes.Equal(res.HLAK(), make([]byte, 32)) {
				t.Errorf("Authenticated = %+v %v, HLAK %x", res, authed, res.HLAK())
			}
			l.wantUp()
			if _, _, dns, _ := l.cli.Up(); len(dns) != 2 || dns[0] != dns1 || dns[1] != dns2 {
				t.Errorf("DNS = %v", dns)
			}
			l.wantIP()
		})
	}
}

func TestMSCHAPv2(t *testing.T) {
	for _, tc := range []struct {
		name, user, pw string
		ok             bool
	}{
		{"good password", "alice", "wonderland", true},
		{"domain user", `CORP\alice`, "wonderland", true},
		{"bad password", "alice", "looking-glass", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLink(t, Config{Methods: []Method{MethodMSCHAPv2}}, ClientConfig{User: tc.user, Password: tc.pw, Methods: []Method{MethodMSCHAPv2}, Pppd: true})
			l.connect()
			done, ok, msg := l.cli.Auth()
			if !done || ok != tc.ok {
				t.Fatalf("client auth = %v %v %q", done, ok, msg)
			}
			if !tc.ok {
				if !strings.HasPrefix(msg, "E=691 R=0 C=") || !strings.HasSuffix(msg, " V=3 M=bad password") || len(msg) != len("E=691 R=0 C= V=3 M=bad password")+32 {
					t.Errorf("Failure message %q", msg)
				}
				if r, down := l.srv.Down(); !down || !strings.Contains(r, "MS-CHAPv2: authentication failed") {
					t.Errorf("Down = %q %v", r, down)
				}
				return
			}
			// The client checked the server's S= before it said ok.
			if !strings.HasPrefix(msg, "S=") || !strings.HasSuffix(msg, " M=Access granted") {
				t.Errorf("Success message %q", msg)
			}
			res, _ := l.srv.Authenticated()
			if res.User != tc.user {
				t.Errorf("user %q", res.User)
			}
			want := append(bytes.Clone(res.RecvKey), res.SendKey...)
			if len(want) != 32 || !bytes.Equal(res.HLAK(), want) || !bytes.Equal(l.cli.HLAK(), want) {
				t.Errorf("HLAK: server %x, client %x, want Recv‖Send %x", res.HLAK(), l.cli.HLAK(), want)
			}
			l.wantUp()
			l.wantIP()
		})
	}
}

// scripted is an EAP conversation of one round after the identity: a request of type 254
// (expanded, standing for any method), then Success with an MSK.
type scripted struct {
	identity string
	step     int
	fail     bool
	closed   bool
	maxPkt   int
}

var testMSK = bytes.Repeat([]byte("0123456789abcdef"), 4)

func (c *scripted) SetMaxPacket(n int) { c.maxPkt = n }
func (c *scripted) Close() error       { c.closed = true; return nil }

func (c *scripted) Exchange(b []byte) ([]byte, bool, Result, error) {
	p, err := eap.Parse(b)
	if err != nil {
		return nil, false, Result{}, err
	}
	c.step++
	switch c.step {
	case 1:
		if p.Type != eap.TypeIdentity || string(p.Data) != c.identity {
			return nil, false, Result{}, fmt.Errorf("step 1: %+v", p)
		}
		return eap.Packet{Code: eap.CodeRequest, Identifier: p.Identifier + 1, Type: 254, Data: []byte("ping")}.Bytes(), false, Result{}, nil
	case 2:
		if p.Type != 254 || string(p.Data) != "pong" {
			return nil, false, Result{}, fmt.Errorf("step 2: %+v", p)
		}
		if c.fail {
			return eap.Packet{Code: eap.CodeFailure, Identifier: p.Identifier}.Bytes(), true, Result{Message: "certificate revoked"}, nil
		}
		return eap.Packet{Code: eap.CodeSuccess, Identifier: p.Identifier}.Bytes(), true, Result{OK: true, User: c.identity, MSK: testMSK}, nil
	}
	return nil, false, Result{}, errors.New("too many rounds")
}

func TestEAP(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprintf("fail=%v", fail), func(t *testing.T) {
			conv := &scripted{identity: "alice@example.com", fail: fail}
			auth := &testAuth{script: func(id string) EAPConversation { return conv }}
			l := newLink(t, Config{Methods: []Method{MethodEAP, MethodMSCHAPv2}, Auth: auth}, ClientConfig{
				User: "alice@example.com", Methods: []Method{MethodEAP},
				EAP: func(req []byte) ([]byte, error) {
					p, _ := eap.Parse(req)
					return eap.Packet{Code: eap.CodeResponse, Identifier: p.Identifier, Type: p.Type, Data: []byte("pong")}.Bytes(), nil
				},
			})
			l.connect()
			_, ok, _ := l.cli.Auth()
			if ok == fail || !conv.closed || conv.maxPkt != defaultPeerMRU {
				t.Fatalf("client ok %v, conversation %+v", ok, conv)
			}
			if fail {
				if r, _ := l.srv.Down(); r != "EAP: authentication failed: alice@example.com: refused: certificate revoked" {
					t.Errorf("Down = %q", r)
				}
				return
			}
			res, _ := l.srv.Authenticated()
			if !bytes.Equal(res.HLAK(), testMSK[:32]) {
				t.Errorf("HLAK %x, want MSK[:32]", res.HLAK())
			}
			l.wantUp()
			l.wantIP()
		})
	}
}

// TestAuthProtocolNak: a client that Conf-Naks our Auth-Protocol gets its choice if we allow
// it, and the link ends if we allow none it takes.
func TestAuthProtocolNak(t *testing.T) {
	l := newLink(t, Config{Methods: []Method{MethodEAP, MethodMSCHAPv2, MethodPAP}}, ClientConfig{User: "alice", Password: "wonderland", Methods: []Method{MethodMSCHAPv2}})
	l.connect()
	if l.cli.Method() != MethodMSCHAPv2 {
		t.Fatalf("method %v", l.cli.Method())
	}
	l.wantUp()

	l = newLink(t, Config{Methods: []Method{MethodEAP, MethodMSCHAPv2}}, ClientConfig{User: "alice", Password: "wonderland", Methods: []Method{MethodPAP}})
	l.connect()
	if r, down := l.srv.Down(); !down || r != "LCP: the client wants authentication protocol PAP; we allow only EAP, MS-CHAPv2" {
		t.Fatalf("Down = %q %v", r, down)
	}
}

func TestTerminate(t *testing.T) {
	for _, by := range []string{"server", "client"} {
		t.Run(by, func(t *testing.T) {
			l := newLink(t, Config{Methods: []Method{MethodPAP}}, ClientConfig{User: "alice", Password: "wonderland", Methods: []Method{MethodPAP}})
			l.connect()
			l.wantUp()
			if by == "server" {
				l.srv.Terminate("admin says so")
			} else {
				l.cli.Terminate("user request")
			}
			l.pump()
			r, down := l.srv.Down()
			if !down || (by == "server" && r != "admin says so") || (by == "client" && !strings.HasPrefix(r, "LCP: the peer terminated")) {
				t.Errorf("server Down = %q %v", r, down)
			}
			if _, down := l.cli.Down(); !down {
				t.Error("client not down")
			}
			if err := l.srv.SendIP([]byte{0x45}); !errors.Is(err, ErrNotUp) {
				t.Errorf("SendIP after down: %v", err)
			}
		})
	}
}

// TestPppdSequence: what pppd 2.4.9 sends (reference §2.4, verified against it) and what we
// answer, octet for octet.
func TestPppdSequence(t *testing.T) {
	l := newLink(t, Config{Methods: []Method{MethodPAP}}, ClientConfig{User: "alice", Password: "wonderland", Methods: []Method{MethodPAP}, Pppd: true})
	l.connect()
	l.wantUp()
	rej := l.sent(ProtoLCP, codeConfRej)
	if len(rej) != 1 || hex.EncodeToString(rej[0].data) != "07020802" {
		t.Errorf("LCP Configure-Rejects %v, want one of PFC and ACFC", rej)
	}
	for _, tc := range []struct {
		code uint8
		want string
	}{
		{codeConfRej, "0206002d0f01"}, // VJ
		{codeConfNak, "0306c6336402"}, // 0.0.0.0 → 198.51.100.2
		{codeConfAck, "0306c6336402"},
	} {
		got := l.sent(ProtoIPCP, tc.code)
		if len(got) != 1 || hex.EncodeToString(got[0].data) != tc.want {
			t.Errorf("IPCP code %d: %v, want %s", tc.code, got, tc.want)
		}
	}
	if req := l.sent(ProtoIPCP, codeConfReq); len(req) != 1 || hex.EncodeToString(req[0].data) != "0306c6336401" {
		t.Errorf("our IPCP Configure-Request %v", req)
	}
}

func lcpFrame(code, id uint8, data string) []byte {
	d, _ := hex.DecodeString(data)
	return appendPacket(nil, ProtoLCP, packet{code: code, id: id, data: d})
}

// started is a server that sent its LCP Configure-Request and a record of what it sends.
func started(t *testing.T, cfg Config) (*Server, *[][]byte) {
	t.Helper()
	var sent [][]byte
	if cfg.Methods == nil {
		cfg.Methods = []Method{MethodMSCHAPv2}
	}
	if cfg.Auth == nil {
		cfg.Auth = &testAuth{}
	}
	if cfg.Assign == nil {
		cfg.Assign = func(Result) (netip.Addr, netip.Addr, []netip.Addr, error) { return addrLocal, addrPeer, nil, nil }
	}
	s := NewServer(cfg, func(f []byte) error { sent = append(sent, bytes.Clone(f)); return nil })
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	return s, &sent
}

func lastPacket(t *testing.T, sent [][]byte) (uint16, packet) {
	t.Helper()
	if len(sent) == 0 {
		t.Fatal("nothing sent")
	}
	proto, pl, err := SplitFrame(sent[len(sent)-1])
	if err != nil {
		t.Fatal(err)
	}
	p, err := parsePacket(pl)
	if err != nil {
		t.Fatal(err)
	}
	return proto, p
}

// TestLCPOptions: the server's answers to the peer's Configure-Requests.
func TestLCPOptions(t *testing.T) {
	for _, tc := range []struct {
		name, req string
		code      uint8
		reply     string // "" for Ack: the request itself
	}{
		// Windows 10 (reference §1.6): mru 4091, magic, pcomp, accomp, callback 6.
		{"Windows", "01040ffb0506a1b2c3d4070208020d0306", codeConfRej, "070208020d0306"},
		{"MRU too large", "01041000", codeConfNak, "01040ffb"},
		{"MRU too small", "01040010", codeConfNak, "01040080"},
		{"MRU and magic", "010405dc050611223344", codeConfAck, ""},
		{"MRRU and endpoint", "110405dc13040100", codeConfRej, "110405dc13040100"},
		{"ACCM", "020600000000", codeConfRej, "020600000000"},
		{"peer wants to authenticate us", "0304c023", codeConfRej, "0304c023"},
		{"bad MRU length", "010305", codeConfRej, "010305"},
		{"unknown option", "c80401ff", codeConfRej, "c80401ff"},
		{"empty", "", codeConfAck, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, sent := started(t, Config{})
			if _, err := s.Input(lcpFrame(codeConfReq, 7, tc.req)); err != nil {
				t.Fatal(err)
			}
			proto, p := lastPacket(t, *sent)
			want := tc.reply
			if tc.code == codeConfAck {
				want = tc.req
			}
			if proto != ProtoLCP || p.code != tc.code || p.id != 7 || hex.EncodeToString(p.data) != want {
				t.Errorf("answer %#x code %d id %d %x, want code %d %s", proto, p.code, p.id, p.data, tc.code, want)
			}
		})
	}
}

// TestOurLCPRequest: what we ask for, and how a Nak of our Auth-Protocol moves us on.
func TestOurLCPRequest(t *testing.T) {
	s, sent := started(t, Config{Methods: []Method{MethodEAP, MethodMSCHAPv2}, Rand: bytes.NewReader(bytes.Repeat([]byte{0x11}, 64))})
	_, p := lastPacket(t, *sent)
	if hex.EncodeToString(p.data) != "01040578"+"0304c227"+"050611111111" {
		t.Fatalf("Configure-Request %x", p.data)
	}
	// Nak: the peer wants CHAP-MD5, which we do not allow: our next method.
	s.Input(lcpFrame(codeConfNak, p.id, "0305c22305"))
	_, p = lastPacket(t, *sent)
	if p.code != codeConfReq || hex.EncodeToString(p.data) != "01040578"+"0305c22381"+"050611111111" {
		t.Fatalf("after Nak: code %d %x", p.code, p.data)
	}
	// Nak again: no method left.
	s.Input(lcpFrame(codeConfNak, p.id, "0304c023"))
	if r, _ := s.Down(); s.Phase() != PhaseTerminate || !strings.Contains(r, "") {
		t.Fatalf("phase %v", s.Phase())
	}
	_, p = lastPacket(t, *sent)
	if p.code != codeTermReq {
		t.Fatalf("code %d, want Terminate-Request", p.code)
	}
	s.Input(lcpFrame(codeTermAck, p.id, ""))
	if r, down := s.Down(); !down || r != "LCP: the client wants authentication protocol PAP; we allow only EAP, MS-CHAPv2" {
		t.Fatalf("Down = %q %v", r, down)
	}
	// Dead: nothing is answered any more.
	n := len(*sent)
	s.Input(lcpFrame(codeConfReq, 1, ""))
	if len(*sent) != n {
		t.Error("answered after Down")
	}
}

// opened is a server whose LCP is opened (it waits for MS-CHAPv2).
func opened(t *testing.T, cfg Config) (*Server, *[][]byte) {
	t.Helper()
	s, sent := started(t, cfg)
	_, ours := lastPacket(t, *sent)
	s.Input(lcpFrame(codeConfAck, ours.id, hex.EncodeToString(ours.data)))
	s.Input(lcpFrame(codeConfReq, 1, "050601020304"))
	if s.Phase() != PhaseAuthenticate {
		t.Fatalf("phase %v", s.Phase())
	}
	return s, sent
}

func TestLCPOpened(t *testing.T) {
	s, sent := opened(t, Config{})
	if proto, p := lastPacket(t, *sent); proto != ProtoCHAP || p.code != chapChallenge || p.data[0] != 16 || string(p.data[17:]) != "" {
		t.Fatalf("challenge %#x %+v", proto, p)
	}
	for _, tc := range []struct {
		name  string
		frame []byte
		want  string // the server's answer, hex, or "" for none
	}{
		{"Identification", lcpFrame(codeIdent, 2, "01020304"+hex.EncodeToString([]byte("MSRASV5.20"))), ""},
		{"Discard-Request", lcpFrame(codeDiscard, 3, "01020304"), ""},
		{"Echo-Request", lcpFrame(codeEchoReq, 4, "01020304abcd"), "c0210a04000a%sabcd"},
		{"unknown code", lcpFrame(42, 5, "ff"), "c02107%02x0009" + "2a050005ff"},
		{"IPv6CP", AppendFrame(nil, ProtoIPv6CP, []byte{1, 1, 0, 4}), "c02108%02x000a" + "805701010004"},
		{"IPv6", AppendFrame(nil, ProtoIPv6, []byte{0x60, 0}), "c02108%02x0008" + "00576000"},
		{"CCP", AppendFrame(nil, ProtoCCP, []byte{1, 1, 0, 4}), "c02108%02x000a" + "80fd01010004"},
		{"IPCP before authentication", appendPacket(nil, ProtoIPCP, packet{code: codeConfReq, id: 1, data: []byte{3, 6, 0, 0, 0, 0}}), ""},
		{"IPv4 before IPCP", AppendFrame(nil, ProtoIPv4, []byte{0x45}), ""},
		{"PAP when we run CHAP", AppendFrame(nil, ProtoPAP, []byte{1, 1, 0, 6, 0, 0}), ""},
		{"no address and control", []byte{0xc0, 0x21, codeEchoReq, 6, 0, 8, 1, 2, 3, 4}, "c0210a060008%s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := len(*sent)
			ip, err := s.Input(tc.frame)
			if ip != nil || err != nil {
				t.Fatalf("Input = %x, %v", ip, err)
			}
			if tc.want == "" {
				if len(*sent) != n {
					t.Fatalf("answered %x", (*sent)[n:])
				}
				return
			}
			if len(*sent) != n+1 {
				t.Fatalf("%d answers", len(*sent)-n)
			}
			got := hex.EncodeToString((*sent)[n][2:])
			want := tc.want
			if strings.Contains(want, "%02x") {
				want = fmt.Sprintf(want, (*sent)[n][5])
			} else if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, fmt.Sprintf("%08x", s.lcpNeg.magic))
			}
			if got != want {
				t.Errorf("answer %s, want %s", got, want)
			}
		})
	}
	if s.Phase() != PhaseAuthenticate {
		t.Errorf("phase %v", s.Phase())
	}
}

func TestTimers(t *testing.T) {
	now := time.Unix(1700000000, 0)
	clock := func() time.Time { return now }
	t.Run("no answer to LCP", func(t *testing.T) {
		s, sent := started(t, Config{Now: clock})
		for i := 0; i < 20; i++ {
			now = now.Add(3 * time.Second)
			s.Tick(now)
		}
		if len(*sent) != 10 {
			t.Errorf("%d Configure-Requests, want 10", len(*sent))
		}
		if r, down := s.Down(); !down || r != "LCP: no answer to 10 Configure-Requests" {
			t.Errorf("Down = %q %v", r, down)
		}
	})
	t.Run("no answer to LCP echoes", func(t *testing.T) {
		s, sent := opened(t, Config{Now: clock, EchoInterval: 10 * time.Second, AuthTimeout: time.Hour, MaxConfigure: 1000})
		n := len(*sent)
		for i := 0; i < 4; i++ {
			now = now.Add(10 * time.Second)
			s.Tick(now)
		}
		echoes := 0
		for _, f := range (*sent)[n:] {
			if f[2] == 0xc0 && f[3] == 0x21 && f[4] == codeEchoReq {
				echoes++
			}
		}
		if echoes != 3 || s.Phase() != PhaseTerminate {
			t.Errorf("%d echoes, phase %v", echoes, s.Phase())
		}
	})
	t.Run("authentication timeout", func(t *testing.T) {
		s, _ := opened(t, Config{Now: clock, Methods: []Method{MethodPAP}})
		now = now.Add(61 * time.Second)
		s.Tick(now)
		if s.Phase() != PhaseTerminate {
			t.Errorf("phase %v", s.Phase())
		}
	})
	t.Run("challenge retransmitted", func(t *testing.T) {
		s, sent := opened(t, Config{Now: clock})
		_, first := lastPacket(t, *sent)
		now = now.Add(3 * time.Second)
		s.Tick(now)
		if _, again := lastPacket(t, *sent); again.code != chapChallenge || !bytes.Equal(again.data, first.data) || again.id != first.id {
			t.Errorf("retransmission %+v, first %+v", again, first)
		}
	})
}

func TestHLAK(t *testing.T) {
	long := bytes.Repeat([]byte{7}, 64)
	for _, tc := range []struct {
		name string
		r    Result
		want []byte
	}{
		{"PAP", Result{OK: true}, make([]byte, 32)},
		{"MS-CHAPv2", Result{SendKey: bytes.Repeat([]byte{1}, 16), RecvKey: bytes.Repeat([]byte{2}, 16)}, append(bytes.Repeat([]byte{2}, 16), bytes.Repeat([]byte{1}, 16)...)},
		{"EAP", Result{MSK: long}, long[:32]},
		{"short keys", Result{RecvKey: []byte{9}}, append([]byte{9}, make([]byte, 31)...)},
	} {
		if got := tc.r.HLAK(); !bytes.Equal(got, tc.want) {
			t.Errorf("%s: %x, want %x", tc.name, got, tc.want)
		}
	}
}

func TestSplitFrame(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		proto    uint16
		payload  string
		err      bool
	}{
		{"with FF 03", "ff03c021010203", ProtoLCP, "010203", false},
		{"without", "0021450000", ProtoIPv4, "450000", false},
		{"protocol only", "ff038021", ProtoIPCP, "", false},
		{"empty", "", 0, "", true},
		{"FF 03 only", "ff03", 0, "", true},
		{"one octet", "21", 0, "", true},
		{"compressed protocol", "2145", 0, "", true},
		{"even protocol", "ff03c022", 0, "", true},
	} {
		b, _ := hex.DecodeString(tc.in)
		proto, pl, err := SplitFrame(b)
		if (err != nil) != tc.err || proto != tc.proto || hex.EncodeToString(pl) != tc.payload {
			t.Errorf("%s: %#x %x %v", tc.name, proto, pl, err)
		}
	}
	if got := AppendFrame([]byte{9}, ProtoIPv4, []byte{0x45}); !bytes.Equal(got, []byte{9, 0xff, 0x03, 0, 0x21, 0x45}) {
		t.Errorf("AppendFrame = %x", got)
	}
}

func TestConfig(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{Methods: []Method{MethodPAP}},
		{Methods: []Method{99}, Auth: &testAuth{}, Assign: func(Result) (netip.Addr, netip.Addr, []netip.Addr, error) { return addrLocal, addrPeer, nil, nil }},
	} {
		if err := NewServer(cfg, func([]byte) error { return nil }).Start(); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
}

func TestAssignFails(t *testing.T) {
	l := newLink(t, Config{Methods: []Method{MethodPAP}, Assign: func(Result) (netip.Addr, netip.Addr, []netip.Addr, error) {
		return netip.Addr{}, netip.Addr{}, nil, errors.New("pool exhausted")
	}}, ClientConfig{User: "alice", Password: "wonderland", Methods: []Method{MethodPAP}})
	l.connect()
	if r, down := l.srv.Down(); !down || r != "no address for alice: pool exhausted" {
		t.Errorf("Down = %q %v", r, down)
	}
}

// TestIPAllocs: IPv4 in and out allocates nothing per packet.
func TestIPAllocs(t *testing.T) {
	l := newLink(t, Config{Methods: []Method{MethodPAP}}, ClientConfig{User: "alice", Password: "wonderland", Methods: []Method{MethodPAP}})
	l.connect()
	l.wantUp()
	l.srv.send = func([]byte) error { return nil }
	frame := AppendFrame(nil, ProtoIPv4, make([]byte, 1200))
	pkt := make([]byte, 1200)
	buf := make([]byte, 0, 2048)
	if n := testing.AllocsPerRun(100, func() {
		if ip, err := l.srv.Input(frame); err != nil || len(ip) != 1200 {
			t.Fatal(ip, err)
		}
		if _, err := l.srv.FrameIP(buf, pkt); err != nil {
			t.Fatal(err)
		}
		if err := l.srv.SendIP(pkt); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per packet", n)
	}
	if err := l.srv.SendIP(make([]byte, l.srv.PeerMRU()+1)); !errors.Is(err, ErrTooBig) {
		t.Errorf("SendIP over the MRU: %v", err)
	}
}

// TestIPCPOptions: the server's answers to IPCP Configure-Requests.
func TestIPCPOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		dns  []netip.Addr
		req  string
		code uint8
		want string
	}{
		// Windows: address 0, DNS1, WINS1, DNS2, WINS2 (reference §1.6).
		{"Windows", []netip.Addr{dns1, dns2}, "030600000000" + "810600000000" + "820600000000" + "830600000000" + "840600000000", codeConfRej, "820600000000840600000000"},
		{"Windows after the reject", []netip.Addr{dns1, dns2}, "030600000000" + "810600000000" + "830600000000", codeConfNak, "0306c6336402" + "8106c0000235" + "8306c0000236"},
		{"one DNS server", []netip.Addr{dns1}, "0306c6336402" + "810600000000" + "830600000000", codeConfRej, "830600000000"},
		{"no DNS server", nil, "0306c6336402" + "810600000000", codeConfRej, "810600000000"},
		{"another address", nil, "0306c6336409", codeConfNak, "0306c6336402"},
		{"no address asked for", nil, "", codeConfNak, "0306c6336402"},
		{"VJ", nil, "0206002d0f01" + "030600000000", codeConfRej, "0206002d0f01"},
		{"IP-Addresses", nil, "010a00000000c6336402", codeConfRej, "010a00000000c6336402"},
		{"good", []netip.Addr{dns1}, "0306c6336402" + "8106c0000235", codeConfAck, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewServer(Config{}, nil)
			s.local, s.peer, s.dns = addrLocal, addrPeer, tc.dns
			b, _ := hex.DecodeString(tc.req)
			opts, err := parseOptions(b)
			if err != nil {
				t.Fatal(err)
			}
			code, reply := s.ipcpNeg.check(opts)
			if code != tc.code || hex.EncodeToString(reply) != tc.want {
				t.Errorf("code %d %x, want %d %s", code, reply, tc.code, tc.want)
			}
		})
	}
}

// TestLoopback: a Configure-Request with our own magic number is Naked with another.
func TestLoopback(t *testing.T) {
	s, sent := started(t, Config{})
	old := s.lcpNeg.magic
	s.Input(lcpFrame(codeConfReq, 3, fmt.Sprintf("0506%08x", old)))
	_, p := lastPacket(t, *sent)
	if p.code != codeConfNak || len(p.data) != 6 || p.data[0] != lcpMagic || bytes.Equal(p.data[2:], binary32(old)) || s.lcpNeg.magic == old {
		t.Errorf("answer %d %x, our magic %08x now %08x", p.code, p.data, old, s.lcpNeg.magic)
	}
}

func binary32(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

// TestRepeatedAuth: a peer that repeats its last authentication message gets the same answer.
func TestRepeatedAuth(t *testing.T) {
	for _, m := range []Method{MethodPAP, MethodMSCHAPv2} {
		t.Run(m.String(), func(t *testing.T) {
			l := newLink(t, Config{Methods: []Method{m}}, ClientConfig{User: "alice", Password: "wonderland", Methods: []Method{m}})
			l.connect()
			l.wantUp()
			var last []byte
			for _, f := range l.toSrvLog(m.proto()) {
				last = f
			}
			if m == MethodPAP {
				last = bytes.Clone(last)
				last[5]++ // pppd's retransmission has a new identifier
			}
			n := len(l.fromSrv)
			l.srv.Input(last)
			if len(l.fromSrv) != n+1 || l.fromSrv[n][4] != map[Method]uint8{MethodPAP: papAck, MethodMSCHAPv2: chapSuccess}[m] || l.fromSrv[n][5] != last[5] {
				t.Errorf("answer %x to %x", l.fromSrv[n:], last)
			}
			if l.srv.Phase() != PhaseRunning {
				t.Errorf("phase %v", l.srv.Phase())
			}
		})
	}
}

// toSrvLog returns the client's frames of proto.
func (l *link) toSrvLog(proto uint16) [][]byte {
	var out [][]byte
	for _, f := range l.fromCli {
		if p, _, err := SplitFrame(f); err == nil && p == proto {
			out = append(out, f)
		}
	}
	return out
}

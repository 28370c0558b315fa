package ppp

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/p2sgw/p2sgw/eap"
)

// The authentication phase on the server (RFC 1661 §3.5), one method per link:
//
//	PAP:        <-- Authenticate-Request(name, password)
//	            --> Authenticate-Ack | Authenticate-Nak
//	MS-CHAPv2:  --> Challenge(16 octets, our name)
//	            <-- Response(peer challenge, NT-Response, name)
//	            --> Success("S=… M=…") | Failure("E=691 R=0 C=… V=3 M=…")
//	EAP:        --> Request/Identity
//	            <-- Response/Identity            (the conversation starts)
//	            … the conversation's requests and the peer's responses …
//	            --> Success | Failure
//
// We repeat our last request on the restart timer; a peer that repeats its last message after
// we answered it gets the same answer again. A failure ends the link.

// Codes of PAP (RFC 1334) and CHAP (RFC 1994).
const (
	papRequest = 1
	papAck     = 2
	papNak     = 3

	chapChallenge = 1
	chapResponse  = 2
	chapSuccess   = 3
	chapFailure   = 4

	msv2ValueLen = 49 // peer challenge 16, reserved 8, NT-Response 24, flags 1
	maxName      = 253
)

type authServer struct {
	s        *Server
	method   Method
	proto    uint16
	id       uint8  // identifier of our current request (CHAP, EAP) or the answered PAP request
	req      []byte // our current request, framed, for retransmission
	answer   []byte // our final answer, framed, for a peer that repeats itself
	retries  int
	resend   time.Time // when to repeat req
	deadline time.Time // the whole phase
	done     bool      // answered: succeeded or failed

	challenge []byte // MS-CHAPv2
	identity  string // EAP
	conv      EAPConversation
}

func (a *authServer) start(m Method) {
	a.method, a.proto = m, m.proto()
	a.deadline = a.s.t.now().Add(a.timeout())
	switch m {
	case MethodMSCHAPv2:
		a.challenge = make([]byte, 16)
		if _, err := io.ReadFull(a.s.cfg.Rand, a.challenge); err != nil {
			a.s.terminate("no randomness for a CHAP challenge: " + err.Error())
			return
		}
		data := append([]byte{16}, a.challenge...)
		data = append(data, a.s.cfg.ServerName...)
		a.request(packet{code: chapChallenge, id: a.s.random8(), data: data})
	case MethodEAP:
		a.request(packet{code: eap.CodeRequest, id: a.s.random8(), data: []byte{eap.TypeIdentity}})
	}
}

func (a *authServer) timeout() time.Duration {
	if a.s.cfg.AuthTimeout > 0 {
		return a.s.cfg.AuthTimeout
	}
	return defaultAuthTimeout
}

// request sends a request of ours and arms its retransmission.
func (a *authServer) request(p packet) {
	a.id = p.id
	a.req = appendPacket(nil, a.proto, p)
	a.retries = a.s.t.maxConfigure - 1
	a.resend = a.s.t.now().Add(a.s.t.restart)
	a.s.sendFrame(a.req)
}

func (a *authServer) tick(now time.Time) {
	switch {
	case a.done:
	case !now.Before(a.deadline):
		a.s.terminate(fmt.Sprintf("%v: authentication not finished after %v", a.method, a.timeout()))
	case a.req != nil && !now.Before(a.resend):
		if a.retries <= 0 {
			a.s.terminate(fmt.Sprintf("%v: no answer to %d requests", a.method, a.s.t.maxConfigure))
			return
		}
		a.retries--
		a.resend = now.Add(a.s.t.restart)
		a.s.sendFrame(a.req)
	}
}

// stop releases the EAP conversation.
func (a *authServer) stop() {
	a.req = nil
	if c, ok := a.conv.(io.Closer); ok {
		c.Close()
	}
	a.conv = nil
}

func (a *authServer) input(proto uint16, b []byte) error {
	if proto != a.proto {
		return nil // not the protocol we negotiated
	}
	p, err := parsePacket(b)
	if err != nil {
		return fmt.Errorf("ppp: %v: %w", a.method, err)
	}
	switch a.method {
	case MethodPAP:
		a.pap(p)
	case MethodMSCHAPv2:
		a.chap(p)
	case MethodEAP:
		return a.eap(p, b)
	}
	return nil
}

// answered repeats our final answer to a peer that repeats its last message.
func (a *authServer) answered(id uint8) bool {
	if !a.done {
		return false
	}
	switch {
	case a.answer == nil:
	case id == a.id:
		a.s.sendFrame(a.answer)
	case a.method == MethodPAP:
		// pppd numbers each retransmitted Authenticate-Request anew.
		again := bytes.Clone(a.answer)
		again[frameHeader+1] = id
		a.s.sendFrame(again)
	}
	return true
}

// finish sends our final answer and ends the phase: on to IPCP, or the link ends.
func (a *authServer) finish(p packet, res Result, ok bool, why string) {
	a.done, a.req = true, nil
	a.answer = appendPacket(nil, a.proto, p)
	a.s.sendFrame(a.answer)
	if c, isCloser := a.conv.(io.Closer); isCloser {
		c.Close()
	}
	a.conv = nil
	if !ok {
		a.s.terminate(fmt.Sprintf("%v: authentication failed: %s", a.method, why))
		return
	}
	a.s.authenticated(res)
}

func (a *authServer) pap(p packet) {
	if p.code != papRequest || a.answered(p.id) {
		return
	}
	a.id = p.id
	user, pw, ok := parsePAP(p.data)
	if !ok {
		a.finish(papReply(papNak, p.id, "malformed request"), Result{}, false, "a malformed Authenticate-Request")
		return
	}
	res, err := a.s.cfg.Auth.PAP(user, pw)
	if ok, why := verdict(user, res, err); !ok {
		a.finish(papReply(papNak, p.id, failText(res)), res, false, why)
		return
	}
	a.finish(papReply(papAck, p.id, okText(res)), res, true, "")
}

// parsePAP decodes an Authenticate-Request: name length, name, password length, password.
func parsePAP(b []byte) (user string, pw []byte, ok bool) {
	if len(b) < 1 || len(b) < 1+int(b[0])+1 {
		return "", nil, false
	}
	n := int(b[0])
	name, rest := b[1:1+n], b[1+n:]
	if len(rest) < 1+int(rest[0]) || !validName(name) {
		return "", nil, false
	}
	return string(name), rest[1 : 1+int(rest[0])], true
}

func papReply(code, id uint8, msg string) packet {
	if len(msg) > 255 {
		msg = msg[:255]
	}
	return packet{code: code, id: id, data: append([]byte{byte(len(msg))}, msg...)}
}

func (a *authServer) chap(p packet) {
	if p.code != chapResponse || a.answered(p.id) || p.id != a.id {
		return
	}
	b := p.data
	if len(b) < 1+msv2ValueLen || b[0] != msv2ValueLen || !validName(b[1+msv2ValueLen:]) {
		a.finish(a.chapFailure(p.id, "malformed response"), Result{}, false, "a malformed MS-CHAPv2 response")
		return
	}
	value, user := b[1:1+msv2ValueLen], string(b[1+msv2ValueLen:])
	res, err := a.s.cfg.Auth.MSCHAPv2(user, a.challenge, value[:16], value[24:48])
	if ok, why := verdict(user, res, err); !ok {
		a.finish(a.chapFailure(p.id, failText(res)), res, false, why)
		return
	}
	if !validAuthResponse(res.AuthResponse) {
		a.finish(a.chapFailure(p.id, "server error"), res, false, user+": the authenticator's MS-CHAPv2 response is not S= and 40 hexadecimal digits")
		return
	}
	if len(res.SendKey) == 0 || len(res.RecvKey) == 0 {
		a.s.log.Warn("ppp: MS-CHAPv2 without MPPE keys: SSTP cannot check the crypto binding", "user", user)
	}
	msg := res.AuthResponse + " M=" + okText(res)
	a.finish(packet{code: chapSuccess, id: p.id, data: []byte(msg)}, res, true, "")
}

// chapFailure is the MS-CHAPv2 Failure packet: error 691, no retry (RFC 2759 §6).
func (a *authServer) chapFailure(id uint8, msg string) packet {
	ch := make([]byte, 16)
	io.ReadFull(a.s.cfg.Rand, ch) // a retry challenge the peer may not use (R=0)
	text := fmt.Sprintf("E=691 R=0 C=%s V=3 M=%s", strings.ToUpper(hex.EncodeToString(ch)), msg)
	return packet{code: chapFailure, id: id, data: []byte(text)}
}

func validAuthResponse(s string) bool {
	if len(s) != 42 || !strings.HasPrefix(s, "S=") {
		return false
	}
	_, err := hex.DecodeString(s[2:])
	return err == nil
}

func (a *authServer) eap(p packet, raw []byte) error {
	if p.code != eap.CodeResponse || a.answered(p.id) || p.id != a.id {
		return nil // RFC 3748 §4.1: a response that does not match our request is dropped
	}
	pkt := raw[:cpHeader+len(p.data)]
	if a.conv == nil {
		if len(p.data) < 1 || p.data[0] != eap.TypeIdentity {
			a.finish(packet{code: eap.CodeFailure, id: p.id}, Result{}, false, "the client did not answer the EAP Identity request")
			return nil
		}
		identity := p.data[1:]
		if len(identity) == 0 || !validName(identity) {
			a.finish(packet{code: eap.CodeFailure, id: p.id}, Result{}, false, fmt.Sprintf("an EAP identity of %d octets that is not a name", len(identity)))
			return nil
		}
		a.identity = string(identity)
		a.conv = a.s.cfg.Auth.EAP(a.identity)
		if a.conv == nil {
			a.finish(packet{code: eap.CodeFailure, id: p.id}, Result{}, false, "EAP is not available for "+printable(identity))
			return nil
		}
		if m, ok := a.conv.(interface{ SetMaxPacket(int) }); ok {
			m.SetMaxPacket(a.s.PeerMRU())
		}
	}
	out, done, res, err := a.conv.Exchange(pkt)
	var next eap.Packet
	switch {
	case err == nil && out != nil:
		next, err = eap.Parse(out)
	case err == nil && done && res.OK:
		next.Code = eap.CodeSuccess // an Access-Accept without EAP-Message
	}
	switch {
	case err != nil || (!done && next.Code != eap.CodeRequest):
		why := fmt.Sprintf("%s: EAP conversation: %v", a.identity, err)
		if err == nil {
			why = fmt.Sprintf("%s: the EAP conversation went on with code %d, not a request", a.identity, next.Code)
		}
		a.finish(packet{code: eap.CodeFailure, id: p.id}, res, false, why)
	case !done && len(out) > a.s.PeerMRU():
		a.finish(packet{code: eap.CodeFailure, id: p.id}, res, false, fmt.Sprintf("%s: an EAP request of %d octets does not fit the client's MRU of %d", a.identity, len(out), a.s.PeerMRU()))
	case !done:
		a.request(packet{code: next.Code, id: next.Identifier, data: next.Bytes()[cpHeader:]})
	case res.OK && next.Code == eap.CodeSuccess:
		a.finish(packet{code: eap.CodeSuccess, id: p.id}, res, true, "")
	default:
		_, why := verdict(a.identity, res, nil)
		a.finish(packet{code: eap.CodeFailure, id: p.id}, res, false, why)
	}
	return nil
}

// verdict is whether an Authenticator accepted the user, and if not why, for the log.
func verdict(user string, res Result, err error) (bool, string) {
	switch {
	case err != nil:
		return false, fmt.Sprintf("%s: %v", user, err)
	case !res.OK && res.Message != "":
		return false, fmt.Sprintf("%s: refused: %s", user, res.Message)
	case !res.OK:
		return false, user + ": refused"
	}
	return true, ""
}

func okText(res Result) string {
	if res.Message != "" {
		return res.Message
	}
	return "Access granted"
}

func failText(res Result) string {
	if res.Message != "" {
		return res.Message
	}
	return "Authentication failed"
}

// validName: a user name or identity we pass on (RADIUS's User-Name holds 253 octets).
func validName(b []byte) bool {
	return len(b) <= maxName && utf8.Valid(b)
}

func (s *Server) random8() uint8 { return uint8(s.random32()) }

// sendFrame sends a framed packet; the first error of a call is kept for its return.
func (s *Server) sendFrame(frame []byte) {
	if err := s.send(frame); err != nil && s.sendErr == nil {
		s.sendErr = fmt.Errorf("ppp: send: %w", err)
	}
}

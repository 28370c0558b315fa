package radius

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"
)

const (
	addrA = "10.1.0.4:1812"
	addrB = "10.1.0.5:1812"
)

var eapSuccess = []byte{3, 7, 0, 4}

// TestExchangeAnswers: Access-Request --> ; <-- the crafted answers of each case. Only an
// authentic answer is taken; the others are dropped, counted and logged, and the client waits
// on until the try times out.
func TestExchangeAnswers(t *testing.T) {
	accept := radius.Attributes{{Type: rfc2869.EAPMessage_Type, Attribute: eapSuccess}}
	sign := func(o answerOpts) func(*radius.Packet) []byte {
		return func(req *radius.Packet) []byte { return signAnswer(req, radius.CodeAccessAccept, accept, o) }
	}
	for _, tc := range []struct {
		name    string
		answers []func(*radius.Packet) []byte // sent back to every try, in order
		foreign bool                          // the first answer comes from another address
		ok      bool
		bad     uint64 // BadResponses after the exchange
		reason  string // logged at Warn
	}{
		{name: "correct", answers: []func(*radius.Packet) []byte{sign(answerOpts{})}, ok: true},
		{name: "no MA", answers: []func(*radius.Packet) []byte{sign(answerOpts{noMA: true})}, bad: 2, reason: "no Message-Authenticator"},
		{name: "wrong MA", answers: []func(*radius.Packet) []byte{sign(answerOpts{badMA: true})}, bad: 2, reason: "Message-Authenticator does not verify"},
		{name: "wrong secret", answers: []func(*radius.Packet) []byte{sign(answerOpts{secret: []byte("guess")})}, bad: 2, reason: "Message-Authenticator does not verify"},
		{name: "wrong Response Authenticator", answers: []func(*radius.Packet) []byte{sign(answerOpts{badRespAuth: true})}, bad: 2, reason: "Response Authenticator does not verify"},
		{name: "wrong Identifier", answers: []func(*radius.Packet) []byte{sign(answerOpts{wrongID: true})}, bad: 2, reason: "wrong Identifier"},
		{
			name:    "good after bad in the same try",
			answers: []func(*radius.Packet) []byte{sign(answerOpts{noMA: true}), sign(answerOpts{})},
			ok:      true, bad: 1, reason: "no Message-Authenticator",
		},
		{
			name:    "good after one from another address",
			answers: []func(*radius.Packet) []byte{sign(answerOpts{}), sign(answerOpts{})},
			foreign: true, ok: true, bad: 1, reason: "from another address",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newFakeServer(addrA, "s3cret", func(req *radius.Packet) []datagram {
					var out []datagram
					for i, a := range tc.answers {
						d := datagram{b: a(req)}
						if tc.foreign && i == 0 {
							d.from = udpAddr("10.9.9.9:1812")
						}
						out = append(out, d)
					}
					return out
				})
				c, log := testClient(t, newMemNet(srv), 1, defaultQueueLen, srv)
				defer closeClient(t, c)

				resp, err := c.NewConversation().Exchange(t.Context(), Request{UserName: "alice", EAPMessage: eapPacket(20)})
				st := c.Status()[0]
				if tc.ok {
					if err != nil {
						t.Fatal(err)
					}
					if resp.Code != CodeAccessAccept || !bytes.Equal(resp.EAPMessage, eapSuccess) || resp.Server != addrA {
						t.Fatalf("response %+v", resp)
					}
					if st.State != "up" || st.Timeouts != 0 || st.LastOK.IsZero() {
						t.Errorf("status %+v; want up", st)
					}
				} else {
					if !errors.Is(err, ErrNoAnswer) {
						t.Fatalf("err = %v; want ErrNoAnswer", err)
					}
					if st.State != "down" || st.Timeouts != 1 || !strings.Contains(st.LastError, tc.reason) {
						t.Errorf("status %+v; want down after a timeout, last error %q", st, tc.reason)
					}
					if got := len(srv.received()); got != 2 {
						t.Errorf("server got %d transmissions; want 1+Retries = 2", got)
					}
					if !log.has(slog.LevelWarn, "RADIUS server did not answer", addrA) {
						t.Error("the timeout was not logged at Warn")
					}
				}
				if st.Requests != 1 || st.BadResponses != tc.bad {
					t.Errorf("Requests %d, BadResponses %d; want 1, %d", st.Requests, st.BadResponses, tc.bad)
				}
				if tc.reason != "" && !log.has(slog.LevelWarn, "RADIUS answer dropped", tc.reason) {
					t.Errorf("no Warn log with reason %q", tc.reason)
				}
			})
		})
	}
}

// TestRetransmission: the tries on one server resend the same datagram, and an answer that
// arrives during the second try to the first is taken.
func TestRetransmission(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := 0
		srv := newFakeServer(addrA, "s3cret", func(req *radius.Packet) []datagram {
			if n++; n < 3 {
				return nil
			}
			return []datagram{{b: signAnswer(req, radius.CodeAccessReject, nil, answerOpts{})}}
		})
		c, _ := testClient(t, newMemNet(srv), 2, defaultQueueLen, srv)
		defer closeClient(t, c)
		resp, err := c.NewConversation().Exchange(t.Context(), Request{UserName: "bob", Password: []byte("pw")})
		if err != nil || resp.Code != CodeAccessReject {
			t.Fatalf("Exchange = %v, %v; want a Reject", resp, err)
		}
		got := srv.received()
		if len(got) != 3 || !bytes.Equal(got[0], got[1]) || !bytes.Equal(got[1], got[2]) {
			t.Fatalf("%d transmissions, identical: %v", len(got), len(got) == 3 && bytes.Equal(got[0], got[2]))
		}
	})
}

// TestStateEcho: the first round fails over from A (silent) to B; A then comes back, but the
// conversation stays with B, which knows the State:
//
//	Access-Request { EAP-Response/Identity } --> A (no answer), --> B
//	<-- B: Access-Challenge { State=s1, EAP-Request }
//	Access-Request { EAP-Response, State=s1 } --> B
//	<-- B: Access-Challenge { EAP-Request }            (no State)
//	Access-Request { EAP-Response } --> B
//	<-- B: Access-Accept { EAP-Success }
func TestStateEcho(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		aUp := false
		a := newFakeServer(addrA, "secret-a", func(req *radius.Packet) []datagram {
			if !aUp {
				return nil
			}
			return []datagram{{b: signAnswer(req, radius.CodeAccessReject, nil, answerOpts{})}}
		})
		round := 0
		b := newFakeServer(addrB, "secret-b", func(req *radius.Packet) []datagram {
			round++
			attrs := radius.Attributes{{Type: rfc2869.EAPMessage_Type, Attribute: []byte{1, byte(round), 0, 6, 13, 0}}}
			switch round {
			case 1:
				attrs = append(attrs, &radius.AVP{Type: rfc2865.State_Type, Attribute: []byte("s1")})
				return []datagram{{b: signAnswer(req, radius.CodeAccessChallenge, attrs, answerOpts{})}}
			case 2:
				return []datagram{{b: signAnswer(req, radius.CodeAccessChallenge, attrs, answerOpts{})}}
			}
			return []datagram{{b: signAnswer(req, radius.CodeAccessAccept, radius.Attributes{{Type: rfc2869.EAPMessage_Type, Attribute: eapSuccess}}, answerOpts{})}}
		})
		c, log := testClient(t, newMemNet(a, b), 0, defaultQueueLen, a, b)
		defer closeClient(t, c)
		cv := c.NewConversation()
		ctx := t.Context()

		resp, err := cv.Exchange(ctx, Request{UserName: "alice", EAPMessage: eapPacket(10)})
		if err != nil || resp.Code != CodeAccessChallenge || resp.Server != addrB {
			t.Fatalf("round 1: %+v, %v; want a Challenge from B", resp, err)
		}
		if !log.has(slog.LevelInfo, "RADIUS failover", addrB) {
			t.Error("the failover was not logged at Info")
		}
		aUp = true
		for i, wantCode := range []radius.Code{CodeAccessChallenge, CodeAccessAccept} {
			resp, err = cv.Exchange(ctx, Request{UserName: "alice", EAPMessage: eapPacket(10)})
			if err != nil || resp.Code != wantCode || resp.Server != addrB {
				t.Fatalf("round %d: %+v, %v; want %v from B", i+2, resp, err, wantCode)
			}
		}
		if n := len(a.received()); n != 1 {
			t.Errorf("A received %d requests; want only the first round's", n)
		}
		reqs := b.parsed(t)
		if len(reqs) != 3 {
			t.Fatalf("B received %d requests; want 3", len(reqs))
		}
		for i, want := range []string{"", "s1", ""} {
			if got := rfc2865.State_GetString(reqs[i]); got != want {
				t.Errorf("request %d carries State %q; want %q", i+1, got, want)
			}
		}
		if _, err := cv.Exchange(ctx, Request{UserName: "alice", EAPMessage: eapPacket(10)}); !errors.Is(err, ErrConversationEnded) {
			t.Errorf("Exchange after the Accept: %v; want ErrConversationEnded", err)
		}
	})
}

// TestFailover: A is silent, B answers after A's 1+Retries tries; then both are silent and the
// error names both. Status shows A down and B up.
func TestFailover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newFakeServer(addrA, "secret-a", nil)
		bUp := true
		b := newFakeServer(addrB, "secret-b", func(req *radius.Packet) []datagram {
			if !bUp {
				return nil
			}
			return []datagram{{b: signAnswer(req, radius.CodeAccessAccept, nil, answerOpts{})}}
		})
		c, _ := testClient(t, newMemNet(a, b), 2, defaultQueueLen, a, b)
		defer closeClient(t, c)

		resp, err := c.NewConversation().Exchange(t.Context(), Request{UserName: "u", Password: []byte("p")})
		if err != nil || resp.Server != addrB {
			t.Fatalf("Exchange = %+v, %v; want B's answer", resp, err)
		}
		if n := len(a.received()); n != 3 {
			t.Errorf("A got %d transmissions; want 1+Retries = 3", n)
		}
		st := c.Status()
		if st[0].Address != addrA || st[0].State != "down" || st[0].Timeouts != 1 || st[1].State != "up" || st[1].Requests != 1 {
			t.Errorf("status %+v", st)
		}

		bUp = false
		_, err = c.NewConversation().Exchange(t.Context(), Request{UserName: "u", Password: []byte("p")})
		if !errors.Is(err, ErrNoAnswer) || !strings.Contains(err.Error(), addrA) || !strings.Contains(err.Error(), addrB) {
			t.Fatalf("err = %v; want ErrNoAnswer naming both servers", err)
		}
	})
}

// TestHoldOff: a server that just failed is tried last by new conversations, so they do not
// each wait out its timeouts; after holdOff it is tried first again.
func TestHoldOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newFakeServer(addrA, "secret-a", nil)
		b := newFakeServer(addrB, "secret-b", answerAll(radius.CodeAccessAccept, nil, answerOpts{}))
		c, _ := testClient(t, newMemNet(a, b), 2, defaultQueueLen, a, b)
		defer closeClient(t, c)
		signIn := func() {
			t.Helper()
			if resp, err := c.NewConversation().Exchange(t.Context(), Request{UserName: "u", Password: []byte("p")}); err != nil || resp.Server != addrB {
				t.Fatalf("Exchange = %+v, %v; want B's answer", resp, err)
			}
		}
		signIn() // A times out: 3 tries
		signIn() // A held off: B first, A not asked
		if n := len(a.received()); n != 3 {
			t.Fatalf("A got %d transmissions after two sign-ins; want 3 (the second skips it)", n)
		}
		time.Sleep(holdOff)
		signIn() // A first again
		if n := len(a.received()); n != 6 {
			t.Fatalf("A got %d transmissions after the hold-off; want 6", n)
		}
	})
}

// TestUnreachable: a server that cannot be dialled fails over at once.
func TestUnreachable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newFakeServer(addrB, "k", answerAll(radius.CodeAccessAccept, nil, answerOpts{}))
		ghost := &fakeServer{addr: addrA, secret: []byte("k")}
		c, _ := testClient(t, newMemNet(b), 0, defaultQueueLen, ghost, b)
		defer closeClient(t, c)
		resp, err := c.NewConversation().Exchange(t.Context(), Request{UserName: "u", Password: []byte("p")})
		if err != nil || resp.Server != addrB {
			t.Fatalf("Exchange = %+v, %v", resp, err)
		}
		if st := c.Status()[0]; st.State != "down" || !strings.Contains(st.LastError, "refused") {
			t.Errorf("status %+v", st)
		}
	})
}

// TestExchangeBadRequest: a request that cannot be sent fails at once, with no failover.
func TestExchangeBadRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newFakeServer(addrA, "k", nil)
		b := newFakeServer(addrB, "k", nil)
		c, log := testClient(t, newMemNet(a, b), 0, defaultQueueLen, a, b)
		defer closeClient(t, c)
		for _, req := range []Request{
			{UserName: "u"},
			{UserName: "u", EAPMessage: eapPacket(4090)},
		} {
			if _, err := c.NewConversation().Exchange(t.Context(), req); !errors.Is(err, ErrRequest) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %v; want one ErrRequest", err)
			}
		}
		if len(a.received())+len(b.received()) != 0 || log.has(slog.LevelInfo, "RADIUS failover", "") {
			t.Error("an invalid request was sent or failed over")
		}
		if st := c.Status()[0]; st.State != "unknown" || st.Requests != 0 {
			t.Errorf("status %+v", st)
		}
	})
}

// TestExchangeCancel: a cancelled context ends the wait at once, with the context's error.
func TestExchangeCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newFakeServer(addrA, "k", nil)
		c, _ := testClient(t, newMemNet(a), 0, defaultQueueLen, a)
		defer closeClient(t, c)
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			synctest.Wait() // the client is blocked reading
			cancel()
		}()
		_, err := c.NewConversation().Exchange(ctx, Request{UserName: "u", Password: []byte("p")})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v; want context.Canceled", err)
		}
		if st := c.Status()[0]; st.Timeouts != 0 {
			t.Errorf("a cancelled request counted as a timeout: %+v", st)
		}
	})
}

// TestAcceptAttributes: Access-Accept { MS-MPPE-Recv-Key, MS-MPPE-Send-Key, Framed-IP-Address,
// Session-Timeout, Class ×2, Reply-Message ×2 } decodes into the Response; MSK = Recv ‖ Send.
func TestAcceptAttributes(t *testing.T) {
	recv := bytes.Repeat([]byte{0x11}, 32)
	send := bytes.Repeat([]byte{0x22}, 32)
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(addrA, "s3cret", func(req *radius.Packet) []datagram {
			attrs := radius.Attributes{
				mppeVSA(msMPPESendKey, encryptMPPEKey(send, [2]byte{0x80, 2}, req.Secret, req.Authenticator)),
				mppeVSA(msMPPERecvKey, encryptMPPEKey(recv, [2]byte{0x80, 1}, req.Secret, req.Authenticator)),
				{Type: rfc2865.FramedIPAddress_Type, Attribute: []byte{10, 1, 0, 7}},
				{Type: rfc2865.SessionTimeout_Type, Attribute: radius.NewInteger(3600)},
				{Type: rfc2865.Class_Type, Attribute: []byte("c1")},
				{Type: rfc2865.ReplyMessage_Type, Attribute: []byte("welcome")},
				{Type: rfc2865.Class_Type, Attribute: []byte("c2")},
				{Type: rfc2865.ReplyMessage_Type, Attribute: []byte("back")},
			}
			return []datagram{{b: signAnswer(req, radius.CodeAccessAccept, attrs, answerOpts{})}}
		})
		c, _ := testClient(t, newMemNet(srv), 0, defaultQueueLen, srv)
		defer closeClient(t, c)
		resp, err := c.NewConversation().Exchange(t.Context(), Request{UserName: "u", EAPMessage: eapPacket(6)})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(resp.MSK, append(bytes.Clone(recv), send...)) {
			t.Errorf("MSK %x; want Recv ‖ Send", resp.MSK)
		}
		if resp.FramedIP != netip.MustParseAddr("10.1.0.7") || resp.SessionTimeout != time.Hour {
			t.Errorf("FramedIP %v, SessionTimeout %v", resp.FramedIP, resp.SessionTimeout)
		}
		if len(resp.Class) != 2 || string(resp.Class[0]) != "c1" || string(resp.Class[1]) != "c2" {
			t.Errorf("Class %q", resp.Class)
		}
		if strings.Join(resp.ReplyMessage, "|") != "welcome|back" || resp.EAPMessage != nil {
			t.Errorf("ReplyMessage %q, EAPMessage %x", resp.ReplyMessage, resp.EAPMessage)
		}
	})
}

// TestMSCHAPv2Relay: an MS-CHAPv2 response goes out as MS-CHAP-Challenge and MS-CHAP2-Response
// (vendor 311, types 11 and 25); the Accept's MS-CHAP2-Success and MPPE keys come back, and a
// Reject's MS-CHAP-Error.
func TestMSCHAPv2Relay(t *testing.T) {
	challenge := bytes.Repeat([]byte{0xc1}, 16)
	response := append([]byte{7, 0}, bytes.Repeat([]byte{0xd2}, 48)...)
	recv, send := bytes.Repeat([]byte{0x11}, 16), bytes.Repeat([]byte{0x22}, 16)
	for _, accept := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			srv := newFakeServer(addrA, "s3cret", func(req *radius.Packet) []datagram {
				var gotChallenge, gotResponse []byte
				for _, avp := range req.Attributes {
					if avp.Type != rfc2865.VendorSpecific_Type {
						continue
					}
					if vendor, vsa, err := radius.VendorSpecific(avp.Attribute); err == nil && vendor == microsoftVendorID && len(vsa) >= 2 {
						switch vsa[0] {
						case msCHAPChallenge:
							gotChallenge = vsa[2:]
						case msCHAP2Response:
							gotResponse = vsa[2:]
						}
					}
				}
				if !bytes.Equal(gotChallenge, challenge) || !bytes.Equal(gotResponse, response) {
					t.Errorf("relayed challenge %x response %x", gotChallenge, gotResponse)
				}
				if !accept {
					return []datagram{{b: signAnswer(req, radius.CodeAccessReject, radius.Attributes{mppeVSA(msCHAPError, []byte("\x07E=691 R=0 C=00 V=3"))}, answerOpts{})}}
				}
				attrs := radius.Attributes{
					mppeVSA(msCHAP2Success, []byte("\x07S=0123456789ABCDEF0123456789ABCDEF01234567")),
					mppeVSA(msMPPESendKey, encryptMPPEKey(send, [2]byte{0x80, 2}, req.Secret, req.Authenticator)),
					mppeVSA(msMPPERecvKey, encryptMPPEKey(recv, [2]byte{0x80, 1}, req.Secret, req.Authenticator)),
				}
				return []datagram{{b: signAnswer(req, radius.CodeAccessAccept, attrs, answerOpts{})}}
			})
			c, _ := testClient(t, newMemNet(srv), 0, defaultQueueLen, srv)
			defer closeClient(t, c)
			resp, err := c.NewConversation().Exchange(t.Context(), Request{UserName: "alice", MSCHAPChallenge: challenge, MSCHAP2Response: response})
			if err != nil {
				t.Fatal(err)
			}
			if accept {
				if resp.Code != CodeAccessAccept || string(resp.MSCHAP2Success[1:]) != "S=0123456789ABCDEF0123456789ABCDEF01234567" || !bytes.Equal(resp.MSK, append(bytes.Clone(recv), send...)) {
					t.Fatalf("accept: %+v", resp)
				}
			} else if resp.Code != CodeAccessReject || !strings.HasPrefix(string(resp.MSCHAPError[1:]), "E=691") {
				t.Fatalf("reject: %+v", resp)
			}
		})
	}
}

// TestDecodeAccess covers the attribute decoding of authentic answers.
func TestDecodeAccess(t *testing.T) {
	secret := []byte("k")
	auth := newAuthenticator()
	req := &radius.Packet{Code: radius.CodeAccessRequest, Identifier: 1, Authenticator: auth, Secret: secret}
	key := bytes.Repeat([]byte{7}, 32)
	ip := func(a, b, c, d byte) *radius.AVP {
		return &radius.AVP{Type: rfc2865.FramedIPAddress_Type, Attribute: []byte{a, b, c, d}}
	}
	eap := func(b []byte) *radius.AVP { return &radius.AVP{Type: rfc2869.EAPMessage_Type, Attribute: b} }
	for _, tc := range []struct {
		name   string
		code   radius.Code
		attrs  radius.Attributes
		ip     netip.Addr
		eap    []byte
		bad    bool
		hasMSK bool
	}{
		{name: "empty Accept", code: radius.CodeAccessAccept},
		{name: "Framed-IP", code: radius.CodeAccessAccept, attrs: radius.Attributes{ip(10, 0, 0, 9)}, ip: netip.MustParseAddr("10.0.0.9")},
		{name: "NAS chooses", code: radius.CodeAccessAccept, attrs: radius.Attributes{ip(255, 255, 255, 254)}},
		{name: "user chooses", code: radius.CodeAccessAccept, attrs: radius.Attributes{ip(255, 255, 255, 255)}},
		{name: "0.0.0.0", code: radius.CodeAccessAccept, attrs: radius.Attributes{ip(0, 0, 0, 0)}},
		{name: "Framed-IP of 3 octets", code: radius.CodeAccessAccept, attrs: radius.Attributes{{Type: rfc2865.FramedIPAddress_Type, Attribute: []byte{1, 2, 3}}}, bad: true},
		{name: "Session-Timeout of 2 octets", code: radius.CodeAccessAccept, attrs: radius.Attributes{{Type: rfc2865.SessionTimeout_Type, Attribute: []byte{1, 2}}}, bad: true},
		{name: "EAP joined", code: radius.CodeAccessChallenge, attrs: radius.Attributes{eap([]byte{1, 2, 0, 6}), eap([]byte{13, 0})}, eap: []byte{1, 2, 0, 6, 13, 0}},
		{name: "EAP Length too big", code: radius.CodeAccessChallenge, attrs: radius.Attributes{eap([]byte{1, 2, 0, 7, 13, 0})}, bad: true},
		{name: "EAP of 3 octets", code: radius.CodeAccessChallenge, attrs: radius.Attributes{eap([]byte{1, 2, 0})}, bad: true},
		{name: "only a Recv-Key", code: radius.CodeAccessAccept, attrs: radius.Attributes{mppeVSA(msMPPERecvKey, encryptMPPEKey(key, [2]byte{0x80, 1}, secret, auth))}, bad: true},
		{name: "Recv-Key twice", code: radius.CodeAccessAccept, attrs: radius.Attributes{
			mppeVSA(msMPPERecvKey, encryptMPPEKey(key, [2]byte{0x80, 1}, secret, auth)),
			mppeVSA(msMPPERecvKey, encryptMPPEKey(key, [2]byte{0x80, 1}, secret, auth)),
		}, bad: true},
		{name: "keys on a Challenge are ignored", code: radius.CodeAccessChallenge, attrs: radius.Attributes{mppeVSA(msMPPERecvKey, []byte{1})}},
		{name: "both keys", code: radius.CodeAccessAccept, hasMSK: true, attrs: radius.Attributes{
			mppeVSA(msMPPERecvKey, encryptMPPEKey(key, [2]byte{0x80, 1}, secret, auth)),
			mppeVSA(msMPPESendKey, encryptMPPEKey(key, [2]byte{0x80, 2}, secret, auth)),
		}},
		{name: "broken Microsoft VSA", code: radius.CodeAccessAccept, attrs: radius.Attributes{{Type: rfc2865.VendorSpecific_Type, Attribute: []byte{0, 0, 1, 55, 17, 9, 1}}}, bad: true},
		{name: "other vendor's broken VSA is skipped", code: radius.CodeAccessAccept, attrs: radius.Attributes{{Type: rfc2865.VendorSpecific_Type, Attribute: []byte{0, 0, 0, 9, 17, 9, 1}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := signAnswer(req, tc.code, tc.attrs, answerOpts{})
			resp, _, err := decodeAccess(b, &auth, secret)
			if tc.bad {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v; want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.FramedIP != tc.ip || !bytes.Equal(resp.EAPMessage, tc.eap) || (resp.MSK != nil) != tc.hasMSK {
				t.Fatalf("FramedIP %v, EAP %x, MSK %x", resp.FramedIP, resp.EAPMessage, resp.MSK)
			}
		})
	}
}

// TestMalformedAccept: an authentic Accept whose keys do not decrypt is an error, counted as a
// bad response, and the server is marked down.
func TestMalformedAccept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(addrA, "k", func(req *radius.Packet) []datagram {
			attrs := radius.Attributes{
				mppeVSA(msMPPERecvKey, encryptMPPEKey(make([]byte, 32), [2]byte{0x80, 1}, []byte("wrong"), req.Authenticator)),
				mppeVSA(msMPPESendKey, encryptMPPEKey(make([]byte, 32), [2]byte{0x80, 2}, []byte("wrong"), req.Authenticator)),
			}
			return []datagram{{b: signAnswer(req, radius.CodeAccessAccept, attrs, answerOpts{})}}
		})
		c, _ := testClient(t, newMemNet(srv), 0, defaultQueueLen, srv)
		defer closeClient(t, c)
		_, err := c.NewConversation().Exchange(t.Context(), Request{UserName: "u", EAPMessage: eapPacket(6)})
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("err = %v; want ErrMalformed", err)
		}
		if st := c.Status()[0]; st.State != "down" || st.BadResponses != 1 {
			t.Errorf("status %+v", st)
		}
	})
}

// invalidConfigs are refused by New and Reconfigure alike, with an error that mentions want.
var invalidConfigs = []struct {
	name string
	cfg  Config
	want string
}{
	{"no servers", Config{}, "no RADIUS server"},
	{"no secret", Config{Servers: []Server{{Address: "10.0.0.1:1812"}}}, "no shared secret"},
	{"no port", Config{Servers: []Server{{Address: "10.0.0.1", Secret: []byte("k")}}}, "address"},
	{"port 0", Config{Servers: []Server{{Address: "10.0.0.1:0", Secret: []byte("k")}}}, "port"},
	{"bad accounting address", Config{Servers: []Server{{Address: "10.0.0.1:1812", AcctAddress: ":1813", Secret: []byte("k")}}}, "accounting address"},
	{"negative retries", Config{Servers: []Server{goodServer}, Retries: -1}, "retries"},
	{"too many retries", Config{Servers: []Server{goodServer}, Retries: maxRetries + 1}, "retries"},
	{"negative timeout", Config{Servers: []Server{goodServer}, Timeout: -time.Second}, "timeout"},
	{"NAS identifier too long", Config{Servers: []Server{goodServer}, NASIdentifier: strings.Repeat("n", 254)}, "NAS identifier"},
}

var goodServer = Server{Address: "10.0.0.1:1812", Secret: []byte("k")}

func TestNewValidates(t *testing.T) {
	for _, tc := range invalidConfigs {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want ErrConfig about %q", err, tc.want)
			}
		})
	}
	c, err := New(Config{Servers: []Server{
		{Address: "10.0.0.3:1812", Secret: []byte("k"), Priority: 5},
		{Address: "10.0.0.1:1812", Secret: []byte("k"), Priority: 1},
		{Address: "10.0.0.2:1812", Secret: []byte("k"), Priority: 5},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(t.Context())
	var order []string
	for _, s := range c.Status() {
		order = append(order, s.Address)
		if s.State != "unknown" {
			t.Errorf("%s is %s before any request", s.Address, s.State)
		}
	}
	if strings.Join(order, " ") != "10.0.0.1:1812 10.0.0.3:1812 10.0.0.2:1812" {
		t.Errorf("servers tried in order %v; want by priority, config order within one", order)
	}
}

package ike

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/eap"
	"github.com/p2sgw/p2sgw/ike/message"
	"github.com/p2sgw/p2sgw/ike/transform"
	"github.com/p2sgw/p2sgw/pki"
)

// fakeRelay is a scripted authentication server: it records what the gateway relays and
// answers from its script, one answer per packet.
type fakeRelay struct {
	user   string
	remote netip.AddrPort
	got    [][]byte
	script []EAPAnswer
	err    error
}

func (f *fakeRelay) Exchange(packet []byte) (EAPAnswer, error) {
	f.got = append(f.got, bytes.Clone(packet))
	if f.err != nil {
		return EAPAnswer{}, f.err
	}
	if len(f.script) == 0 {
		return EAPAnswer{}, errors.New("fake relay: script exhausted")
	}
	a := f.script[0]
	f.script = f.script[1:]
	return a, nil
}

// eapClient drives the client side of IKE_AUTH with EAP by hand: our initiator does not do EAP.
type eapClient struct {
	t   *testing.T
	ini *SA
	res *SA
	id  uint32 // next message ID
}

// startEAPClient runs IKE_SA_INIT and sends the first IKE_AUTH without AUTH; it returns the
// gateway's answer's payloads (IDr, CERT, AUTH, EAP(Request/Identity)).
func startEAPClient(t *testing.T, w *world, rc *ResponderConfig) (*eapClient, message.Payloads) {
	t.Helper()
	alice, _ := w.clientRoot.IssueClient("alice@example.com", pki.Options{})
	ini, req, err := NewInitiator(w.initiatorConfig(t, alice, transform.DefaultIKEProposals(), transform.DefaultESPProposals(), transform.DHECP256), cliAddr, gwAddr)
	if err != nil {
		t.Fatal(err)
	}
	res, resp, err := Respond(rc, req, 0xfeedface00000001, gwAddr, cliAddr)
	if err != nil || res == nil {
		t.Fatalf("IKE_SA_INIT: %v", err)
	}
	if _, _, err := ini.Handle(resp); err != nil {
		t.Fatal(err)
	}
	// IKE_AUTH { IDi, [IDr], CP, SA, TSi, TSr } -->   (no AUTH, no CERT: EAP)
	all, err := ini.authRequestPayloads()
	if err != nil {
		t.Fatal(err)
	}
	var ps []message.Payload
	for _, p := range all {
		if p.Type() != message.PayloadAuth && p.Type() != message.PayloadCert {
			ps = append(ps, p)
		}
	}
	c := &eapClient{t: t, ini: ini, res: res, id: 1}
	return c, c.send(ps, EventNone)
}

// send seals ps as the client's next IKE_AUTH request, has the gateway handle it, checks the
// event, and opens the answer.
func (c *eapClient) send(ps []message.Payload, want Event) message.Payloads {
	c.t.Helper()
	req, err := c.ini.seal(c.ini.header(message.ExchangeIKEAuth, false, c.id), ps)
	if err != nil {
		c.t.Fatal(err)
	}
	c.id++
	resp, ev, err := c.res.Handle(req)
	if ev != want {
		c.t.Fatalf("gateway: event %v, want %v (%v)", ev, want, err)
	}
	_, out, err := c.ini.open(resp)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

// eapOf returns the EAP packet in an answer.
func (c *eapClient) eapOf(ps message.Payloads) eap.Packet {
	c.t.Helper()
	p, _ := ps.Find(message.PayloadEAP).(*message.EAP)
	if p == nil {
		c.t.Fatalf("no EAP payload in %v", ps)
	}
	pkt, err := eap.Parse(p.Data)
	if err != nil {
		c.t.Fatal(err)
	}
	return pkt
}

// auth sends the client's AUTH keyed with msk and returns the answer's payloads.
func (c *eapClient) auth(msk []byte, want Event) message.Payloads {
	c.t.Helper()
	idi, _ := c.ini.idi.AppendBody(nil)
	octets := transform.SignedOctets(c.ini.prf, c.ini.keys.SKpi, c.ini.initReq, c.ini.nr, idi)
	return c.send([]message.Payload{&message.Auth{Method: message.AuthPSK, Data: transform.SharedKeyAuth(c.ini.prf, msk, octets)}}, want)
}

func response(id, typ uint8, data string) *message.EAP {
	return &message.EAP{Data: eap.Packet{Code: eap.CodeResponse, Identifier: id, Type: typ, Data: []byte(data)}.Bytes()}
}

func request(id, typ uint8, data string) []byte {
	return eap.Packet{Code: eap.CodeRequest, Identifier: id, Type: typ, Data: []byte(data)}.Bytes()
}

// TestEAPRelay: a client that sends no AUTH is authenticated by the relayed server (RADIUS):
// its identity goes first, every round is passed through verbatim, the MSK keys both AUTH
// payloads, and what the server granted (an address, a session timeout) reaches Assign and the
// SA. With EAP-TLS also on, a client that refuses it with a Nak is handed to the relay.
func TestEAPRelay(t *testing.T) {
	const mschapv2 = 26
	msk := bytes.Repeat([]byte{0x5a}, 64)
	granted := netip.MustParseAddr("100.64.0.77")
	for _, withTLS := range []bool{false, true} {
		name := "relay only"
		if withTLS {
			name = "EAP-TLS refused with a Nak"
		}
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			relay := &fakeRelay{script: []EAPAnswer{
				{Verdict: EAPContinue, Packet: request(7, mschapv2, "challenge")},
				{Verdict: EAPAccept, Packet: eap.Packet{Code: eap.CodeSuccess, Identifier: 7}.Bytes(), MSK: msk,
					Grant: &Grant{Server: "198.19.0.10:1812", Addr: granted, SessionTimeout: time.Hour}},
			}}
			rc := w.responderConfig()
			var assigned *Grant
			assign := rc.Assign
			rc.Assign = func(name string, g *Grant) (*Lease, error) {
				assigned = g
				l, err := assign(name, g)
				if err == nil && g != nil && g.Addr.IsValid() {
					l.Addr = g.Addr
				}
				return l, err
			}
			rc.RelayEAP = func(user string, remote netip.AddrPort) EAPRelay {
				relay.user, relay.remote = user, remote
				return relay
			}
			if withTLS {
				rc.EAPTLS = &tls.Config{}
			}
			c, first := startEAPClient(t, w, rc)
			ident := c.eapOf(first)
			if ident.Code != eap.CodeRequest || ident.Type != eap.TypeIdentity {
				t.Fatalf("first EAP request: %+v", ident)
			}
			identity := response(ident.Identifier, eap.TypeIdentity, "alice")
			next := c.eapOf(c.send([]message.Payload{identity}, EventNone))
			if withTLS {
				if next.Type != eap.TypeTLS || len(relay.got) != 0 {
					t.Fatalf("with EAP-TLS on, the gateway first offers it: %+v, relayed %d", next, len(relay.got))
				}
				// The client wants EAP-MSCHAPv2 instead.
				next = c.eapOf(c.send([]message.Payload{response(next.Identifier, eap.TypeNak, string([]byte{mschapv2}))}, EventNone))
			}
			if relay.user != "alice" || relay.remote != cliAddr || len(relay.got) != 1 || !bytes.Equal(relay.got[0], identity.Data) {
				t.Fatalf("the relay started with user %q from %v and got %x; want the identity response %x", relay.user, relay.remote, relay.got, identity.Data)
			}
			if next.Identifier != 7 || next.Type != mschapv2 || string(next.Data) != "challenge" {
				t.Fatalf("the server's request did not reach the client verbatim: %+v", next)
			}
			answer := response(7, mschapv2, "response")
			if success := c.eapOf(c.send([]message.Payload{answer}, EventNone)); success.Code != eap.CodeSuccess {
				t.Fatalf("after the accept: %+v", success)
			}
			if !bytes.Equal(relay.got[1], answer.Data) {
				t.Fatalf("relayed %x, the client sent %x", relay.got[1], answer.Data)
			}
			out := c.auth(msk, EventEstablished)
			// The gateway's AUTH is keyed with the same MSK.
			authP, _ := out.Find(message.PayloadAuth).(*message.Auth)
			idr, _ := first.Find(message.PayloadIDr).(*message.IDr)
			if authP == nil || idr == nil {
				t.Fatal("no IDr or AUTH from the gateway")
			}
			idrBody, _ := idr.AppendBody(nil)
			octets := transform.SignedOctets(c.ini.prf, c.ini.keys.SKpr, c.ini.initResp, c.ini.ni, idrBody)
			if authP.Method != message.AuthPSK || !bytes.Equal(authP.Data, transform.SharedKeyAuth(c.ini.prf, msk, octets)) {
				t.Fatal("the gateway's AUTH is not keyed with the MSK")
			}
			if c.res.AuthMethod != "radius" || c.res.Peer != "alice" || c.res.Grant == nil || c.res.Grant.SessionTimeout != time.Hour {
				t.Fatalf("established as %q by %q with grant %+v", c.res.AuthMethod, c.res.Peer, c.res.Grant)
			}
			if assigned != c.res.Grant || c.res.Lease.Addr != granted {
				t.Fatalf("Assign got %+v, the lease is %v; want the granted %v", assigned, c.res.Lease.Addr, granted)
			}
			if c.res.PeerCerts != nil {
				t.Fatalf("a relayed client has certificates: %v", c.res.PeerCerts)
			}
		})
	}
}

// TestEAPRelayRefusals: a reject (with the server's reason in the error), an accept without a
// key, a server that does not answer, and an AUTH keyed with another MSK all end IKE_AUTH with
// AUTHENTICATION_FAILED.
func TestEAPRelayRefusals(t *testing.T) {
	msk := bytes.Repeat([]byte{0x5a}, 64)
	cases := []struct {
		name   string
		relay  *fakeRelay
		auth   []byte // AUTH keyed with this after the accept; nil: the refusal comes on the identity
		reason string
	}{
		{"reject", &fakeRelay{script: []EAPAnswer{{Verdict: EAPReject, Reason: "Password has expired"}}}, nil, `"Password has expired"`},
		{"accept without MS-MPPE keys", &fakeRelay{script: []EAPAnswer{{Verdict: EAPAccept}}}, nil, "no key"},
		{"no server answers", &fakeRelay{err: errors.New("no RADIUS server answered")}, nil, "no RADIUS server answered"},
		{"AUTH keyed with another MSK", &fakeRelay{script: []EAPAnswer{{Verdict: EAPAccept, MSK: msk}}}, bytes.Repeat([]byte{1}, 64), "does not verify"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			rc := w.responderConfig()
			rc.RelayEAP = func(string, netip.AddrPort) EAPRelay { return tc.relay }
			c, first := startEAPClient(t, w, rc)
			ident := c.eapOf(first)
			var out message.Payloads
			if tc.auth == nil {
				out = c.send([]message.Payload{response(ident.Identifier, eap.TypeIdentity, "alice")}, EventFailed)
				if p := c.eapOf(out); p.Code != eap.CodeFailure {
					t.Fatalf("the client got EAP %+v, want Failure", p)
				}
			} else {
				c.send([]message.Payload{response(ident.Identifier, eap.TypeIdentity, "alice")}, EventNone)
				out = c.auth(tc.auth, EventFailed)
			}
			if out.Notify(message.NotifyAuthenticationFailed) == nil {
				t.Fatalf("no AUTHENTICATION_FAILED in %v", out)
			}
			if c.res.Err == nil || !errors.Is(c.res.Err, ErrAuthFailed) || !strings.Contains(c.res.Err.Error(), tc.reason) {
				t.Fatalf("the SA's error %v does not say %q", c.res.Err, tc.reason)
			}
		})
	}
}

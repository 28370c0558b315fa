package ike

import (
	"crypto/x509"
	"math/rand/v2"
	"testing"

	"github.com/p2sgw/p2sgw/ike/message"
	"github.com/p2sgw/p2sgw/ike/transform"
	"github.com/p2sgw/p2sgw/pki"
)

// TestFragmentedIKEAuth: the client's IKE_AUTH (an RSA-4096 certificate) arrives in small
// fragments, out of order and with a duplicate — as Windows sends it — and the gateway
// reassembles it and answers once.
func TestFragmentedIKEAuth(t *testing.T) {
	w := newWorld(t)
	kt, _ := pki.ParseKeyType("rsa-4096")
	alice, err := w.clientRoot.IssueClient("alice@example.com", pki.Options{Key: kt})
	if err != nil {
		t.Fatal(err)
	}
	rc := w.responderConfig()
	ic := w.initiatorConfig(t, alice, transform.DefaultIKEProposals(), transform.DefaultESPProposals(), transform.DHECP256)
	ini, req, err := NewInitiator(ic, cliAddr, gwAddr)
	if err != nil {
		t.Fatal(err)
	}
	res, initResp, err := Respond(rc, req, 0x1234, gwAddr, cliAddr)
	if err != nil {
		t.Fatal(err)
	}
	if !res.fragmentation {
		t.Fatal("the gateway did not answer IKEV2_FRAGMENTATION_SUPPORTED")
	}
	authReq, _, err := ini.Handle(initResp)
	if err != nil || !ini.fragmentation {
		t.Fatalf("initiator: %v (fragmentation %v)", err, ini.fragmentation)
	}
	// Take the IKE_AUTH payloads back out and send them as ~580-octet fragments, as Windows does.
	h, ps, err := res.open(authReq)
	if err != nil {
		t.Fatal(err)
	}
	frags, err := ini.sealFragments(h, ps, 580)
	if err != nil {
		t.Fatal(err)
	}
	if len(frags) < 4 {
		t.Fatalf("only %d fragments", len(frags))
	}
	order := rand.Perm(len(frags))
	order = append(order[:2], append([]int{order[0]}, order[2:]...)...) // a duplicate early on
	var resp []byte
	for i, k := range order {
		r, ev, err := res.Handle(frags[k])
		if err != nil {
			t.Fatalf("fragment %d: %v", k+1, err)
		}
		if i < len(order)-1 && (r != nil || ev != EventNone) {
			t.Fatalf("answered before the last fragment (after %d of %d)", i+1, len(order))
		}
		resp = r
	}
	if resp == nil {
		t.Fatal("no answer after every fragment arrived")
	}
	if _, ev, err := ini.Handle(resp); ev != EventEstablished {
		t.Fatalf("initiator: %v %v", ev, err)
	}
	// A retransmitted fragment 1 gets the answer again; other fragments get nothing.
	if r, _, _ := res.Handle(frags[0]); r == nil {
		t.Error("retransmitted fragment 1 not answered")
	}
	if r, _, _ := res.Handle(frags[1]); r != nil {
		t.Error("retransmitted fragment 2 answered")
	}
}

func TestFragmentLimits(t *testing.T) {
	w := newWorld(t)
	alice, _ := w.clientRoot.IssueClient("alice@example.com", pki.Options{})
	ini, res, err := handshake(t, w.responderConfig(), w.initiatorConfig(t, alice, transform.DefaultIKEProposals(), transform.DefaultESPProposals(), transform.DHECP256))
	if err != nil {
		t.Fatal(err)
	}
	// 65 fragments of one message: refused.
	ps := []message.Payload{&message.VendorID{Data: make([]byte, 65*16)}}
	frags, err := ini.sealFragments(ini.header(message.ExchangeInformational, false, ini.nextOwnID), ps, 16)
	if err == nil || frags != nil {
		t.Fatalf("sealFragments made %d fragments of a 65-fragment message", len(frags))
	}
	frags, _ = ini.sealFragments(ini.header(message.ExchangeInformational, false, ini.nextOwnID), ps, 1040/2)
	res.fragmentation = false
	if _, _, err := res.Handle(frags[0]); err == nil {
		t.Fatal("fragments accepted from a peer that did not negotiate them")
	}
}

// TestFragmentedAnswer: the gateway's IKE_AUTH answer with an RSA-4096 certificate is over the
// fragment limit, so a client that negotiated fragmentation gets it in fragments that each fit a
// 1280-octet path; the client reassembles it.
func TestFragmentedAnswer(t *testing.T) {
	w := newWorld(t)
	kt, _ := pki.ParseKeyType("rsa-4096")
	server, err := w.serverRoot.IssueServer([]string{"vpn.example.test"}, nil, pki.Options{Key: kt})
	if err != nil {
		t.Fatal(err)
	}
	rc := w.responderConfig()
	rc.Identity = Identity{Chain: []*x509.Certificate{server.Cert}, Key: server.Key}
	alice, _ := w.clientRoot.IssueClient("alice@example.com", pki.Options{})
	ini, req, _ := NewInitiator(w.initiatorConfig(t, alice, transform.DefaultIKEProposals(), transform.DefaultESPProposals(), transform.DHECP256), cliAddr, gwAddr)
	res, initResp, err := Respond(rc, req, 0x4321, gwAddr, cliAddr)
	if err != nil {
		t.Fatal(err)
	}
	authReq, _, _ := ini.Handle(initResp)
	first, ev, err := res.Handle(authReq)
	if err != nil || ev != EventEstablished {
		t.Fatalf("gateway: %v %v", ev, err)
	}
	frags := append([][]byte{first}, res.Extra()...)
	if len(frags) < 2 {
		t.Fatalf("a %d-octet answer was not fragmented", len(first))
	}
	for i, f := range frags {
		if len(f) > fragmentLimit {
			t.Fatalf("fragment %d is %d octets, over %d", i+1, len(f), fragmentLimit)
		}
		_, ev, err := ini.Handle(f)
		if i < len(frags)-1 {
			continue // incomplete so far
		}
		if ev != EventEstablished {
			t.Fatalf("client after the last fragment: %v %v", ev, err)
		}
	}
	// A retransmitted IKE_AUTH request gets every fragment again.
	again, _, _ := res.Handle(authReq)
	if string(again) != string(first) || len(res.Extra()) != len(frags)-1 {
		t.Fatal("the retransmitted answer is not the same fragments")
	}
}

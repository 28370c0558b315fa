package ike

import (
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

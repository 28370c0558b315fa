package ike

import (
	"context"
	"testing"

	"github.com/p2sgw/p2sgw/ike/message"
	"github.com/p2sgw/p2sgw/ike/transform"
	"github.com/p2sgw/p2sgw/pki"
)

// TestUnsupportedCriticalPayload: an unknown payload with the critical bit gets
// UNSUPPORTED_CRITICAL_PAYLOAD naming its type — in IKE_SA_INIT unencrypted, later encrypted —
// and the SA stays up.
func TestUnsupportedCriticalPayload(t *testing.T) {
	w := newWorld(t)
	alice, _ := w.clientRoot.IssueClient("alice@example.com", pki.Options{})

	h := message.Header{SPIi: 77, Exchange: message.ExchangeIKESAInit, Flags: message.FlagInitiator}
	req, err := (&message.Message{Header: h, Payloads: []message.Payload{
		&message.Unknown{PayloadType: 200, Critical: true, Data: []byte{1, 2}},
		&message.Nonce{Data: make([]byte, 32)},
	}}).Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	sa, resp, err := Respond(w.responderConfig(), req, 1, gwAddr, cliAddr)
	if sa != nil || resp == nil || err == nil {
		t.Fatalf("IKE_SA_INIT with an unknown critical payload: SA %v, answer %d octets, %v", sa, len(resp), err)
	}
	m, err := message.Decode(resp)
	if err != nil {
		t.Fatal(err)
	}
	if n := m.Payloads.Notify(message.NotifyUnsupportedCriticalPayload); n == nil || len(n.Data) != 1 || n.Data[0] != 200 {
		t.Fatalf("answer %v, want UNSUPPORTED_CRITICAL_PAYLOAD(200)", m.Payloads)
	}

	ini, res, err := handshake(t, w.responderConfig(), w.initiatorConfig(t, alice, transform.DefaultIKEProposals(), transform.DefaultESPProposals(), transform.DHECP256))
	if err != nil {
		t.Fatal(err)
	}
	bad, err := ini.request(message.ExchangeInformational, []message.Payload{&message.Unknown{PayloadType: 201, Critical: true}})
	if err != nil {
		t.Fatal(err)
	}
	enc, _, _ := res.Handle(bad)
	_, ps, err := ini.open(enc)
	if err != nil || ps.Notify(message.NotifyUnsupportedCriticalPayload) == nil {
		t.Fatalf("encrypted answer %v, %v; want UNSUPPORTED_CRITICAL_PAYLOAD", ps, err)
	}
	ini.awaiting = false
	if res.State() != StateEstablished {
		t.Fatalf("the SA is %s after a malformed request", res.State())
	}
	ping, _ := ini.Liveness()
	if r, _, err := res.Handle(ping); err != nil || r == nil {
		t.Fatalf("the SA does not answer after a malformed request: %v", err)
	}
}

// FuzzFragments feeds the gateway the fragments of one message in an order, with duplicates and
// damaged copies the fuzzer chooses: it never panics, never answers a damaged or incomplete
// message, and answers once every fragment has arrived.
func FuzzFragments(f *testing.F) {
	f.Add(uint8(4), []byte{3, 0, 1, 2}, uint8(0xff))
	f.Add(uint8(8), []byte{7, 7, 6, 5, 4, 3, 2, 1, 0}, uint8(2))
	f.Add(uint8(1), []byte{0}, uint8(0))
	w := newWorld(f)
	alice, _ := w.clientRoot.IssueClient("alice@example.com", pki.Options{})
	f.Fuzz(func(t *testing.T, n uint8, order []byte, damage uint8) {
		n = n%8 + 1
		ini, res, err := handshake(t, w.responderConfig(), w.initiatorConfig(t, alice, transform.DefaultIKEProposals(), transform.DefaultESPProposals(), transform.DHCurve25519))
		if err != nil {
			t.Fatal(err)
		}
		defer w.pool.Release(context.Background(), res.Lease.Addr, "s-"+res.Peer)
		ps := []message.Payload{&message.VendorID{Data: make([]byte, int(n)*40-10)}}
		frags, err := ini.sealFragments(ini.header(message.ExchangeInformational, false, ini.nextOwnID), ps, 40)
		if err != nil || len(frags) != int(n) {
			t.Fatalf("%d fragments, %v", len(frags), err)
		}
		seen := map[int]bool{}
		for i, o := range order {
			k := int(o) % len(frags)
			frag := append([]byte(nil), frags[k]...)
			if i == int(damage) {
				frag[len(frag)-1] ^= 1 // a damaged copy: must be dropped
				if r, _, _ := res.Handle(frag); r != nil {
					t.Fatal("answered a damaged fragment")
				}
				continue
			}
			r, _, _ := res.Handle(frag)
			complete := len(seen) == len(frags)
			seen[k] = true
			switch {
			case !complete && len(seen) < len(frags) && r != nil:
				t.Fatalf("answered with %d of %d fragments", len(seen), len(frags))
			case !complete && len(seen) == len(frags) && r == nil:
				t.Fatalf("no answer with every fragment in")
			}
		}
	})
}

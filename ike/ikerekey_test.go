package ike

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/p2sgw/p2sgw/ike/message"
	"github.com/p2sgw/p2sgw/ike/transform"
	"github.com/p2sgw/p2sgw/pki"
)

// TestIKERekey: the IKE SA is rekeyed (RFC 7296 §1.3.2); the new IKE SA shares keys with the
// client's computation from the old SK_d, carries the CHILD SA on with fresh message IDs, and
// the old one is deleted through itself.
func TestIKERekey(t *testing.T) {
	w := newWorld(t)
	alice, _ := w.clientRoot.IssueClient("alice@example.com", pki.Options{})
	ini, res, err := handshake(t, w.responderConfig(), w.initiatorConfig(t, alice, transform.DefaultIKEProposals(), transform.DefaultESPProposals(), transform.DHECP256))
	if err != nil {
		t.Fatal(err)
	}
	// CREATE_CHILD_SA { SA(IKE, new SPIi), Ni, KEi } -->
	newSPIi := uint64(0x0123456789abcdef)
	kx, _ := transform.NewKeyExchange(transform.DHCurve25519, nil)
	ni := make([]byte, 32)
	prop := transform.Proposal{Number: 1, Protocol: transform.ProtocolIKE, SPI: binary.BigEndian.AppendUint64(nil, newSPIi), Transforms: []transform.Transform{
		transform.EncrAESGCM16.Transform(256), transform.PRFHMACSHA256.Transform(), transform.DHCurve25519.Transform(),
	}}
	req, err := ini.request(message.ExchangeCreateChildSA, []message.Payload{toSA(prop), &message.Nonce{Data: ni}, &message.KE{Group: uint16(transform.DHCurve25519), Data: kx.PublicKey()}})
	if err != nil {
		t.Fatal(err)
	}
	resp, ev, err := res.Handle(req)
	if err != nil || ev != EventIKERekeyed || res.RekeyedIKE == nil {
		t.Fatalf("gateway: %v %v", ev, err)
	}
	next := res.RekeyedIKE
	// <-- { SA(IKE, new SPIr), Nr, KEr }: the client computes the same keys.
	_, ps, err := ini.open(resp)
	if err != nil {
		t.Fatal(err)
	}
	ini.awaiting = false
	ke := ps.Find(message.PayloadKE).(*message.KE)
	nr := ps.Find(message.PayloadNonce).(*message.Nonce).Data
	spiR := binary.BigEndian.Uint64(ps.Find(message.PayloadSA).(*message.SA).Proposals[0].SPI)
	gir, err := kx.SharedSecret(ke.Data)
	if err != nil {
		t.Fatal(err)
	}
	suite := next.Suite()
	keys, err := transform.RekeyIKEKeys(suite, ini.suite.PRF, ini.keys.SKd, gir, ni, nr, newSPIi, spiR)
	if err != nil {
		t.Fatal(err)
	}
	newIni := &SA{initiator: true, init: ini.init, rand: ini.rand, now: ini.now, state: StateEstablished, spiI: newSPIi, spiR: spiR, suite: suite, Child: ini.Child}
	if err := newIni.setKeys(keys); err != nil {
		t.Fatal(err)
	}
	// The new IKE SA works, from message ID 0.
	ping, _ := newIni.Liveness()
	if r, _, err := next.Handle(ping); err != nil || r == nil {
		t.Fatalf("the new IKE SA does not answer: %v", err)
	}
	if next.Child != res.Child || next.Peer != res.Peer {
		t.Fatal("the new IKE SA did not take over the session")
	}
	// INFORMATIONAL { D(IKE) } on the old SA --> deletes only the old SA.
	del, _ := ini.Delete()
	if _, ev, err := res.Handle(del); ev != EventDeleted || err != nil {
		t.Fatalf("old IKE SA delete: %v %v", ev, err)
	}
	if next.State() != StateEstablished {
		t.Fatalf("the new IKE SA is %s after the old one's delete", next.State())
	}
}

// TestGatewayIKERekey: the gateway rekeys the IKE SA itself. It becomes the new SA's original
// initiator (RFC 7296 §2.8): its messages carry the I flag and its SPI is SPIi, yet it stays the
// gateway — it answers the client's CHILD SA rekey on the new SA — and the session moves over
// whole (CHILD SA, lease, MOBIKE). It deletes the old SA through the old SA.
func TestGatewayIKERekey(t *testing.T) {
	w := newWorld(t)
	alice, _ := w.clientRoot.IssueClient("alice@example.com", pki.Options{})
	espP := transform.DefaultESPProposals()
	ini, res, err := handshake(t, w.responderConfig(), w.initiatorConfig(t, alice, transform.DefaultIKEProposals(), espP, transform.DHECP256))
	if err != nil {
		t.Fatal(err)
	}
	res.mobike, ini.mobike = true, true
	// CREATE_CHILD_SA { SA(IKE, new SPIi), Ni, KEi } -->   (from the gateway)
	req, err := res.RekeyIKE()
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := message.DecodeHeader(req); h.IsInitiator() || h.IsResponse() {
		t.Fatalf("the gateway's rekey request has flags %+v; it was the responder of the old SA", h)
	}
	if _, err := res.RekeyChild(transform.DHNone, espP); err == nil {
		t.Fatal("a CHILD SA rekey started while the IKE SA rekey is unanswered")
	}
	resp, ev, err := ini.Handle(req)
	if err != nil || ev != EventIKERekeyed || ini.RekeyedIKE == nil {
		t.Fatalf("client: %v %v", ev, err)
	}
	// <-- { SA(IKE, new SPIr), Nr, KEr }
	if _, ev, err := res.Handle(resp); err != nil || ev != EventIKERekeyed || res.RekeyedIKE == nil {
		t.Fatalf("gateway: %v %v", ev, err)
	}
	gw, cl := res.RekeyedIKE, ini.RekeyedIKE
	if !gw.IsInitiator() || cl.IsInitiator() || !gw.isGateway() {
		t.Fatalf("roles after the gateway's rekey: gateway initiator=%v, client initiator=%v", gw.IsInitiator(), cl.IsInitiator())
	}
	gSPIi, gSPIr := gw.SPIs()
	cSPIi, cSPIr := cl.SPIs()
	if gSPIi != cSPIi || gSPIr != cSPIr || gw.LocalSPI() != gSPIi || cl.LocalSPI() != gSPIr {
		t.Fatalf("SPIs: gateway %016x/%016x (local %016x), client %016x/%016x", gSPIi, gSPIr, gw.LocalSPI(), cSPIi, cSPIr)
	}
	if gw.Child != res.Child || gw.Lease != res.Lease || gw.Peer != res.Peer || !gw.mobike || gw.AuthMethod != res.AuthMethod {
		t.Fatal("the new IKE SA did not take the whole session over")
	}
	// Both ways on the new SA, from message ID 0; a message finds its SA by LocalSPIOf.
	ping, err := gw.Liveness()
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := message.DecodeHeader(ping); !h.IsInitiator() || LocalSPIOf(h) != cl.LocalSPI() {
		t.Fatalf("the gateway's request on the new SA: %+v", h)
	}
	pong, _, err := cl.Handle(ping)
	if err != nil || pong == nil {
		t.Fatalf("the client does not answer on the new SA: %v", err)
	}
	if h, _ := message.DecodeHeader(pong); LocalSPIOf(h) != gw.LocalSPI() {
		t.Fatalf("the client's answer names SPI %016x, the gateway's is %016x", LocalSPIOf(h), gw.LocalSPI())
	}
	if _, _, err := gw.Handle(pong); err != nil || gw.Awaiting() {
		t.Fatalf("the gateway did not take the answer: %v", err)
	}
	// The client rekeys its CHILD SA on the new SA; the gateway answers as the gateway.
	creq, err := cl.RekeyChild(transform.DHNone, espP)
	if err != nil {
		t.Fatal(err)
	}
	cresp, ev, err := gw.Handle(creq)
	if err != nil || ev != EventChildRekeyed {
		t.Fatalf("CHILD SA rekey on the gateway-initiated IKE SA: %v %v", ev, err)
	}
	gw.InstallRekeyed()
	if _, ev, err := cl.Handle(cresp); err != nil || ev != EventChildRekeyed {
		t.Fatalf("client: %v %v", ev, err)
	}
	cl.InstallRekeyed()
	espRoundTrip(t, cl.Child, gw.Child)
	espRoundTrip(t, gw.Child, cl.Child)

	// INFORMATIONAL { D(IKE) } --> on the old SA, from the gateway: only the old SA ends.
	del, err := res.Delete()
	if err != nil {
		t.Fatal(err)
	}
	ack, ev, err := ini.Handle(del)
	if err != nil || ev != EventDeleted {
		t.Fatalf("client, old SA's Delete: %v %v", ev, err)
	}
	if _, ev, err := res.Handle(ack); err != nil || ev != EventDeleted {
		t.Fatalf("gateway, answer to the old SA's Delete: %v %v", ev, err)
	}
	if gw.State() != StateEstablished || cl.State() != StateEstablished {
		t.Fatalf("states after the old SA's Delete: %s / %s", gw.State(), cl.State())
	}
}

// TestIKERekeyCollision: while a rekey of ours is unanswered, the peer's rekey is refused with
// TEMPORARY_FAILURE (RFC 7296 §2.25) and nothing changes; ours still completes.
func TestIKERekeyCollision(t *testing.T) {
	w := newWorld(t)
	alice, _ := w.clientRoot.IssueClient("alice@example.com", pki.Options{})
	espP := transform.DefaultESPProposals()
	for _, peer := range []string{"IKE SA rekey", "CHILD SA rekey"} {
		t.Run(peer, func(t *testing.T) {
			ini, res, err := handshake(t, w.responderConfig(), w.initiatorConfig(t, alice, transform.DefaultIKEProposals(), espP, transform.DHECP256))
			if err != nil {
				t.Fatal(err)
			}
			ours, err := res.RekeyIKE()
			if err != nil {
				t.Fatal(err)
			}
			var theirs []byte
			if peer == "IKE SA rekey" {
				theirs, err = ini.RekeyIKE()
			} else {
				theirs, err = ini.RekeyChild(transform.DHNone, espP)
			}
			if err != nil {
				t.Fatal(err)
			}
			refusal, ev, err := res.Handle(theirs)
			if !errors.Is(err, ErrCollision) || ev != EventNone || res.RekeyedIKE != nil || res.Rekeyed != nil {
				t.Fatalf("gateway, colliding %s: %v %v", peer, ev, err)
			}
			var ne *NotifyError
			if _, _, err := ini.Handle(refusal); !errors.As(err, &ne) || ne.Type != message.NotifyTemporaryFailure {
				t.Fatalf("client: the refusal is %v, want TEMPORARY_FAILURE", err)
			}
			// The client answers ours (its own rekey is over), and ours completes.
			resp, ev, err := ini.Handle(ours)
			if err != nil || ev != EventIKERekeyed {
				t.Fatalf("client, our rekey: %v %v", ev, err)
			}
			if _, ev, err := res.Handle(resp); err != nil || ev != EventIKERekeyed {
				t.Fatalf("gateway, the answer to our rekey: %v %v", ev, err)
			}
		})
	}
}

// TestIKERekeyRefused: a peer that refuses our IKE SA rekey leaves the SA as it was, usable.
func TestIKERekeyRefused(t *testing.T) {
	w := newWorld(t)
	alice, _ := w.clientRoot.IssueClient("alice@example.com", pki.Options{})
	ini, res, err := handshake(t, w.responderConfig(), w.initiatorConfig(t, alice, transform.DefaultIKEProposals(), transform.DefaultESPProposals(), transform.DHECP256))
	if err != nil {
		t.Fatal(err)
	}
	ini.init.IKEProposals = transform.LegacyIKEProposals() // the client no longer accepts our suite
	req, err := res.RekeyIKE()
	if err != nil {
		t.Fatal(err)
	}
	resp, _, err := ini.Handle(req)
	if resp == nil || err == nil {
		t.Fatalf("the client accepted a suite it does not have: %v", err)
	}
	var ne *NotifyError
	if _, ev, err := res.Handle(resp); ev != EventNone || !errors.As(err, &ne) || ne.Type != message.NotifyNoProposalChosen {
		t.Fatalf("gateway, refused rekey: %v %v", ev, err)
	}
	if res.RekeyedIKE != nil || res.State() != StateEstablished || res.Awaiting() {
		t.Fatalf("the refused rekey left state %s, awaiting %v", res.State(), res.Awaiting())
	}
	if _, err := res.RekeyIKE(); err != nil {
		t.Fatalf("no second try after a refusal: %v", err)
	}
}

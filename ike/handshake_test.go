package ike

import (
	"context"
	"crypto/sha1"
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/certauth"
	"github.com/p2sgw/p2sgw/esp"
	"github.com/p2sgw/p2sgw/ike/message"
	"github.com/p2sgw/p2sgw/ike/transform"
	"github.com/p2sgw/p2sgw/pki"
	"github.com/p2sgw/p2sgw/pool"
	"github.com/p2sgw/p2sgw/store/memstore"
)

var (
	gwAddr  = netip.MustParseAddrPort("198.18.0.1:500")
	cliAddr = netip.MustParseAddrPort("198.18.1.1:500")
	vnet    = netip.MustParsePrefix("198.19.0.0/16")
)

// world is a gateway's credentials and policy and a client root, made once per test.
type world struct {
	serverRoot *pki.CA
	server     *pki.Cert
	clientRoot *pki.CA
	policy     *certauth.Policy
	pool       *pool.Pool
	spi        atomic.Uint32
}

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{policy: new(certauth.Policy)}
	var err error
	if w.serverRoot, err = pki.NewRoot("VPN server root", pki.Options{}); err != nil {
		t.Fatal(err)
	}
	if w.server, err = w.serverRoot.IssueServer([]string{"vpn.example.test"}, nil, pki.Options{}); err != nil {
		t.Fatal(err)
	}
	if w.clientRoot, err = pki.NewRoot("P2SRoot", pki.Options{}); err != nil {
		t.Fatal(err)
	}
	w.policy.SetRoots(map[string]*x509.Certificate{"P2SRoot": w.clientRoot.Cert})
	if w.pool, err = pool.New(context.Background(), netip.MustParsePrefix("100.64.0.0/24"), memstore.New(), "n1", nil); err != nil {
		t.Fatal(err)
	}
	w.spi.Store(0x1000)
	return w
}

func (w *world) responderConfig() *ResponderConfig {
	return &ResponderConfig{
		Identity:     Identity{Chain: []*x509.Certificate{w.server.Cert}, Key: w.server.Key},
		IKEProposals: transform.DefaultIKEProposals(),
		ESPProposals: transform.DefaultESPProposals(),
		CARequests: func() [][]byte {
			h := sha1.Sum(w.clientRoot.Cert.RawSubjectPublicKeyInfo)
			return [][]byte{h[:]}
		},
		Authenticate: func(leaf *x509.Certificate, inter []*x509.Certificate) (string, error) {
			id, err := w.policy.Verify(leaf, inter, time.Now())
			if err != nil {
				return "", err
			}
			return id.Name, nil
		},
		Assign: func(name string, grant *Grant) (*Lease, error) {
			a, err := w.pool.Acquire(context.Background(), name, "s-"+name)
			if err != nil {
				return nil, err
			}
			return &Lease{Addr: a, DNS: []netip.Addr{netip.MustParseAddr("198.19.0.53")}, Subnets: []netip.Prefix{vnet}}, nil
		},
		AllocateSPI: func() (uint32, error) { return w.spi.Add(1), nil },
	}
}

func (w *world) initiatorConfig(t testing.TB, client *pki.Cert, ike, espP []transform.Proposal, group transform.DHGroup) *InitiatorConfig {
	roots := x509.NewCertPool()
	roots.AddCert(w.serverRoot.Cert)
	return &InitiatorConfig{
		Identity:     Identity{Chain: []*x509.Certificate{client.Cert}, Key: client.Key},
		IKEProposals: ike, ESPProposals: espP, Group: group,
		ServerName: "vpn.example.test", Roots: roots,
		RemoteTS:    []netip.Prefix{vnet},
		AllocateSPI: func() (uint32, error) { return w.spi.Add(1), nil },
	}
}

// handshake runs IKE_SA_INIT and IKE_AUTH between an initiator and a responder in process,
// one message at a time, and returns both SAs (the responder's nil if it refused at once).
func handshake(t testing.TB, rc *ResponderConfig, ic *InitiatorConfig) (ini, res *SA, err error) {
	t.Helper()
	ini, req, err := NewInitiator(ic, cliAddr, gwAddr)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // IKE_SA_INIT, possibly again after INVALID_KE_PAYLOAD
		// IKE_SA_INIT { SA, KEi, Ni, N(NAT_D), N(SIG_HASH) } -->
		var resp []byte
		res, resp, err = Respond(rc, req, 0xfeedfacecafe0000+uint64(time.Now().UnixNano()&0xffff), gwAddr, cliAddr)
		if resp == nil {
			return ini, nil, err
		}
		// <-- { SA, KEr, Nr, N(NAT_D), CERTREQ, N(SIG_HASH) }  or  <-- { N(INVALID_KE_PAYLOAD) }
		var ev Event
		req, ev, err = ini.Handle(resp)
		if ev == EventFailed || err != nil {
			return ini, res, err
		}
		if res != nil {
			break
		}
	}
	// IKE_AUTH { IDi, CERT, IDr, AUTH, CP(CFG_REQUEST), SA, TSi, TSr, N(INITIAL_CONTACT) } -->
	resp, ev, err := res.Handle(req)
	if ev == EventFailed {
		if _, iev, _ := ini.Handle(resp); iev != EventFailed {
			t.Errorf("initiator did not see the refusal as a failure")
		}
		return ini, res, err
	}
	if err != nil {
		return ini, res, err
	}
	// <-- { IDr, CERT, AUTH, CP(CFG_REPLY), SA, TSi, TSr }
	if _, iev, err := ini.Handle(resp); iev != EventEstablished {
		return ini, res, fmt.Errorf("initiator: %v (%v)", iev, err)
	}
	return ini, res, nil
}

// single expands proposals into one proposal per combination of transforms.
func single(ps []transform.Proposal) []transform.Proposal {
	var out []transform.Proposal
	for _, p := range ps {
		byType := map[transform.TransformType][]transform.Transform{}
		var order []transform.TransformType
		for _, tr := range p.Transforms {
			if _, ok := byType[tr.Type]; !ok {
				order = append(order, tr.Type)
			}
			byType[tr.Type] = append(byType[tr.Type], tr)
		}
		combos := [][]transform.Transform{nil}
		for _, typ := range order {
			var next [][]transform.Transform
			for _, c := range combos {
				for _, tr := range byType[typ] {
					if typ == transform.TypeDH && p.Protocol == transform.ProtocolESP && tr.ID != uint16(transform.DHNone) {
						continue // no KE in IKE_AUTH: the first CHILD SA has no PFS
					}
					next = append(next, append(append([]transform.Transform(nil), c...), tr))
				}
			}
			combos = next
		}
		for _, c := range combos {
			out = append(out, transform.Proposal{Number: 1, Protocol: p.Protocol, Transforms: c})
		}
	}
	return out
}

func groupOf(p transform.Proposal) transform.DHGroup {
	for _, tr := range p.Transforms {
		if tr.Type == transform.TypeDH {
			return transform.DHGroup(tr.ID)
		}
	}
	return transform.DHNone
}

// TestHandshakeEveryDefaultCombination drives our initiator against our responder over every
// IKE transform combination of the default proposals (each with one of the ESP combinations in
// turn) and every ESP combination, then sends ESP both ways with the negotiated keys.
func TestHandshakeEveryDefaultCombination(t *testing.T) {
	w := newWorld(t)
	alice, err := w.clientRoot.IssueClient("alice@example.com", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ikes, esps := single(transform.DefaultIKEProposals()), single(transform.DefaultESPProposals())
	if len(ikes) < 50 || len(esps) != 4 {
		t.Fatalf("expanded %d IKE and %d ESP combinations", len(ikes), len(esps))
	}
	run := func(ike, espP transform.Proposal) {
		t.Run(fmt.Sprintf("%v/%v", ike.Transforms, espP.Transforms), func(t *testing.T) {
			ic := w.initiatorConfig(t, alice, []transform.Proposal{ike}, []transform.Proposal{espP}, groupOf(ike))
			ini, res, err := handshake(t, w.responderConfig(), ic)
			if err != nil {
				t.Fatal(err)
			}
			checkEstablished(t, ini, res)
			w.pool.Release(context.Background(), res.Lease.Addr, "s-"+res.Peer)
		})
	}
	for i, ike := range ikes {
		run(ike, esps[i%len(esps)])
	}
	for _, e := range esps {
		run(ikes[0], e)
	}
}

func checkEstablished(t *testing.T, ini, res *SA) {
	t.Helper()
	if ini.State() != StateEstablished || res.State() != StateEstablished {
		t.Fatalf("states %s / %s", ini.State(), res.State())
	}
	if res.Peer != "alice@example.com" || ini.Lease.Addr != res.Lease.Addr || !res.Lease.Addr.IsValid() {
		t.Fatalf("peer %q, addresses %s / %s", res.Peer, ini.Lease.Addr, res.Lease.Addr)
	}
	if len(ini.Lease.DNS) != 1 || len(ini.Lease.Subnets) != 1 || ini.Lease.Subnets[0] != vnet {
		t.Fatalf("pushed DNS %v subnets %v", ini.Lease.DNS, ini.Lease.Subnets)
	}
	if len(res.Child.TSi) != 1 || res.Child.TSi[0].StartAddr != res.Lease.Addr || !selectorsCover(res.Child.TSr, vnet) {
		t.Fatalf("traffic selectors TSi %v TSr %v", res.Child.TSi, res.Child.TSr)
	}
	if ini.Child.OutSPI != res.Child.InSPI || ini.Child.InSPI != res.Child.OutSPI {
		t.Fatalf("SPIs: initiator in %x out %x, responder in %x out %x", ini.Child.InSPI, ini.Child.OutSPI, res.Child.InSPI, res.Child.OutSPI)
	}
	espRoundTrip(t, ini.Child, res.Child)
	espRoundTrip(t, res.Child, ini.Child)
}

// espRoundTrip seals a packet with from's outbound SA and opens it with to's inbound SA.
func espRoundTrip(t *testing.T, from, to *ChildSA) {
	t.Helper()
	_, outCfg, err := from.ESPConfigs()
	if err != nil {
		t.Fatal(err)
	}
	inCfg, _, err := to.ESPConfigs()
	if err != nil {
		t.Fatal(err)
	}
	out, err := esp.NewOutbound(outCfg)
	if err != nil {
		t.Fatal(err)
	}
	in, err := esp.NewInbound(inCfg)
	if err != nil {
		t.Fatal(err)
	}
	pkt := []byte{0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 100, 64, 0, 2, 198, 19, 0, 10, 0, 53, 0, 53, 0, 8, 0, 0}
	buf := make([]byte, esp.Headroom+len(pkt)+esp.Tailroom)
	copy(buf[esp.Headroom:], pkt)
	sealed, err := out.Seal(buf, esp.Headroom, len(pkt))
	if err != nil {
		t.Fatal(err)
	}
	inner, _, drop := in.Open(sealed)
	if drop != esp.DropNone || string(inner) != string(pkt) {
		t.Fatalf("ESP with the negotiated keys: drop %v", drop)
	}
}

func TestInvalidKERetry(t *testing.T) {
	w := newWorld(t)
	alice, _ := w.clientRoot.IssueClient("alice@example.com", pki.Options{})
	// The client guesses MODP-2048 first but offers ECP-256 only in its proposal... so the
	// gateway asks for the group of the proposal it can take.
	ike := []transform.Proposal{{Number: 1, Protocol: transform.ProtocolIKE, Transforms: []transform.Transform{
		transform.EncrAESGCM16.Transform(256), transform.PRFHMACSHA256.Transform(), transform.DHECP256.Transform(), transform.DHMODP2048.Transform(),
	}}}
	ic := w.initiatorConfig(t, alice, ike, transform.DefaultESPProposals(), transform.DHMODP3072)
	ini, res, err := handshake(t, w.responderConfig(), ic)
	if err != nil {
		t.Fatal(err)
	}
	checkEstablished(t, ini, res)
}

func TestRefusals(t *testing.T) {
	w := newWorld(t)
	good, _ := w.clientRoot.IssueClient("alice@example.com", pki.Options{})
	strangerRoot, _ := pki.NewRoot("not uploaded", pki.Options{})
	stranger, _ := strangerRoot.IssueClient("mallory@example.com", pki.Options{})
	revoked, _ := w.clientRoot.IssueClient("bob@example.com", pki.Options{})
	w.policy.SetRevoked(map[string]string{pki.ThumbprintsOf(revoked.Cert.Raw).SHA1: "bob-laptop"})
	serverAsClient := w.server // serverAuth only

	tests := []struct {
		name   string
		client *pki.Cert
		want   error
	}{
		{"certificate from a root that was not uploaded", stranger, certauth.ErrUntrusted},
		{"revoked certificate", revoked, certauth.ErrRevoked},
		{"certificate without EKU clientAuth", serverAsClient, certauth.ErrWrongUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := w.pool.InUse()
			ic := w.initiatorConfig(t, tt.client, transform.DefaultIKEProposals(), transform.DefaultESPProposals(), transform.DHECP256)
			ini, res, err := handshake(t, w.responderConfig(), ic)
			if !errors.Is(err, ErrAuthFailed) || !errors.Is(err, tt.want) {
				t.Fatalf("handshake = %v, want ErrAuthFailed wrapping %v", err, tt.want)
			}
			if res.State() != StateFailed || ini.State() != StateFailed {
				t.Fatalf("states %s / %s, want FAILED", res.State(), ini.State())
			}
			var ne *NotifyError
			if !errors.As(ini.Err, &ne) || ne.Type != message.NotifyAuthenticationFailed {
				t.Fatalf("client saw %v, want AUTHENTICATION_FAILED", ini.Err)
			}
			if w.pool.InUse() != before {
				t.Fatalf("a refused client leased an address")
			}
		})
	}
	t.Run("no common proposal", func(t *testing.T) {
		weak := []transform.Proposal{{Number: 1, Protocol: transform.ProtocolIKE, Transforms: []transform.Transform{
			transform.EncrAESCBC.Transform(128), transform.IntegHMACSHA196.Transform(), transform.PRFHMACSHA1.Transform(), transform.DHMODP1024.Transform(),
		}}}
		ic := w.initiatorConfig(t, good, weak, transform.DefaultESPProposals(), transform.DHMODP1024)
		_, res, err := handshake(t, w.responderConfig(), ic)
		var ne *NotifyError
		if res != nil || !errors.As(err, &ne) || ne.Type != message.NotifyNoProposalChosen {
			t.Fatalf("legacy-only client without the switch: SA %v, err %v; want NO_PROPOSAL_CHOSEN", res, err)
		}
		rc := w.responderConfig()
		rc.Legacy = true
		ini, res, err := handshake(t, rc, w.initiatorConfig(t, good, weak, single(transform.LegacyESPProposals())[:1], transform.DHMODP1024))
		if err != nil {
			t.Fatalf("with legacy_windows_proposals on: %v", err)
		}
		checkEstablished(t, ini, res)
	})
}

func TestDeleteAndRetransmit(t *testing.T) {
	w := newWorld(t)
	alice, _ := w.clientRoot.IssueClient("alice@example.com", pki.Options{})
	ini, res, err := handshake(t, w.responderConfig(), w.initiatorConfig(t, alice, transform.DefaultIKEProposals(), transform.DefaultESPProposals(), transform.DHCurve25519))
	if err != nil {
		t.Fatal(err)
	}
	// INFORMATIONAL { } --> liveness, answered; a retransmission gets the same answer again.
	ping, err := ini.Liveness()
	if err != nil {
		t.Fatal(err)
	}
	r1, ev, err := res.Handle(ping)
	if err != nil || ev != EventNone || r1 == nil {
		t.Fatalf("liveness: %v %v", ev, err)
	}
	r2, _, err := res.Handle(ping)
	if err != nil || string(r2) != string(r1) {
		t.Fatalf("retransmitted request not answered from the cache: %v", err)
	}
	if _, ev, err := ini.Handle(r1); err != nil || ev != EventNone {
		t.Fatalf("initiator on liveness answer: %v %v", ev, err)
	}
	// Once the answer is forgotten (the server does so minutes later), a retransmission that
	// comes after all is not answered, and not processed again; the SA goes on.
	res.ForgetResponse()
	if r3, _, err := res.Handle(ping); r3 != nil || err == nil {
		t.Fatalf("a retransmission after ForgetResponse: answer %d bytes, err %v; want none and an error", len(r3), err)
	}
	ping2, _ := ini.Liveness()
	if r4, _, err := res.Handle(ping2); err != nil || r4 == nil {
		t.Fatalf("the next request after ForgetResponse: %v", err)
	}
	if _, _, err := ini.Handle(func() []byte { r, _, _ := res.Handle(ping2); return r }()); err != nil {
		t.Fatalf("initiator on the second liveness answer: %v", err)
	}
	// The gateway disconnects the client: INFORMATIONAL { D(IKE) } -->  <-- { }
	del, err := res.Delete()
	if err != nil {
		t.Fatal(err)
	}
	ack, ev, err := ini.Handle(del)
	if err != nil || ev != EventDeleted || ini.State() != StateDeleted {
		t.Fatalf("client on Delete: %v %v %s", ev, err, ini.State())
	}
	if _, ev, err := res.Handle(ack); err != nil || ev != EventDeleted || res.State() != StateDeleted {
		t.Fatalf("gateway on the Delete's answer: %v %v", ev, err)
	}
	// Tampered and replayed datagrams are dropped without changing anything.
	if _, _, err := res.Handle(ping); err == nil {
		t.Fatal("a deleted SA answered")
	}
}

// TestPeerRefusesAfterAuth: a client that does not accept the gateway after IKE_AUTH tells it
// with an INFORMATIONAL error notify; the gateway ends the SA instead of waiting for DPD.
func TestPeerRefusesAfterAuth(t *testing.T) {
	w := newWorld(t)
	alice, _ := w.clientRoot.IssueClient("alice@example.com", pki.Options{})
	ini, res, err := handshake(t, w.responderConfig(), w.initiatorConfig(t, alice, transform.DefaultIKEProposals(), transform.DefaultESPProposals(), transform.DHECP256))
	if err != nil {
		t.Fatal(err)
	}
	req, err := ini.request(message.ExchangeInformational, []message.Payload{&message.Notify{NotifyType: message.NotifyAuthenticationFailed}})
	if err != nil {
		t.Fatal(err)
	}
	if resp, ev, err := res.Handle(req); err != nil || ev != EventDeleted || resp == nil || res.State() != StateDeleted {
		t.Fatalf("gateway on the client's AUTHENTICATION_FAILED: %v %v %s", ev, err, res.State())
	}
}

// TestChildRefusedAfterAuth: a client that authenticates but asks only for selectors outside the
// VNet gets the gateway's AUTH with TS_UNACCEPTABLE — the real reason — and the lease it was given
// is handed back to the caller to release.
func TestChildRefusedAfterAuth(t *testing.T) {
	w := newWorld(t)
	alice, _ := w.clientRoot.IssueClient("alice@example.com", pki.Options{})
	ic := w.initiatorConfig(t, alice, transform.DefaultIKEProposals(), transform.DefaultESPProposals(), transform.DHECP256)
	ic.RemoteTS = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
	ini, res, err := handshake(t, w.responderConfig(), ic)
	var ne *NotifyError
	if !errors.As(err, &ne) || ne.Type != message.NotifyTSUnacceptable {
		t.Fatalf("gateway: %v, want TS_UNACCEPTABLE", err)
	}
	if !errors.As(ini.Err, &ne) || ne.Type != message.NotifyTSUnacceptable {
		t.Fatalf("client saw %v, want TS_UNACCEPTABLE", ini.Err)
	}
	if res.State() != StateFailed || res.Lease == nil {
		t.Fatalf("gateway SA %s, lease %v: want FAILED with the lease to release", res.State(), res.Lease)
	}
}

// TestInitiatorMOBIKE: our initiator announces MOBIKE and learns the responder's; its
// UPDATE_SA_ADDRESSES makes the responder report the move and answer with NAT detection, which
// the initiator takes as an ordinary answer. Without the responder's MOBIKE_SUPPORTED it is
// refused before anything is sent.
func TestInitiatorMOBIKE(t *testing.T) {
	w := newWorld(t)
	alice, _ := w.clientRoot.IssueClient("alice@example.com", pki.Options{})
	ini, res, err := handshake(t, w.responderConfig(), w.initiatorConfig(t, alice, transform.DefaultIKEProposals(), transform.DefaultESPProposals(), transform.DHCurve25519))
	if err != nil {
		t.Fatal(err)
	}
	if !ini.MOBIKE() {
		t.Fatal("MOBIKE not negotiated")
	}
	moved := netip.MustParseAddrPort("198.18.1.101:4500")
	upd, err := ini.UpdateAddresses(moved, gwAddr)
	if err != nil {
		t.Fatal(err)
	}
	resp, ev, err := res.Handle(upd)
	if err != nil || ev != EventAddressUpdate || resp == nil {
		t.Fatalf("responder on UPDATE_SA_ADDRESSES: %v %v", ev, err)
	}
	if _, ev, err := ini.Handle(resp); err != nil || ev != EventNone || ini.Awaiting() {
		t.Fatalf("initiator on the answer: %v %v (awaiting %v)", ev, err, ini.Awaiting())
	}
	ini.mobike = false
	if _, err := ini.UpdateAddresses(moved, gwAddr); err == nil {
		t.Fatal("UPDATE_SA_ADDRESSES built without MOBIKE")
	}
}

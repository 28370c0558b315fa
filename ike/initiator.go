package ike

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"

	"github.com/p2sgw/p2sgw/ike/message"
	"github.com/p2sgw/p2sgw/ike/transform"
)

// NewInitiator starts an IKE SA as the initiator: it returns the SA and its IKE_SA_INIT
// request. Responses go to Handle, which returns the next request until the SA is
// established.
//
//	IKE_SA_INIT { SA, KEi, Ni, N(NAT_D_S), N(NAT_D_D), N(SIG_HASH) } -->
func NewInitiator(cfg *InitiatorConfig, local, remote netip.AddrPort) (*SA, []byte, error) {
	if len(cfg.Identity.Chain) == 0 || cfg.Identity.Key == nil {
		return nil, nil, errors.New("ike: initiator needs a certificate and its key")
	}
	sa := &SA{initiator: true, init: cfg, rand: orRand(cfg.Rand), now: orNow(cfg.Now), state: StateInitSent}
	var err error
	if sa.spiI, err = randomSPI(sa.rand); err != nil {
		return nil, nil, err
	}
	if sa.ni, err = randomBytes(sa.rand, nonceLen); err != nil {
		return nil, nil, err
	}
	sa.idi = clientID(cfg.LocalID, cfg.Identity.Chain[0])
	sa.local, sa.remote = local, remote
	req, err := sa.initRequest(cfg.Group)
	return sa, req, err
}

func (sa *SA) initRequest(group transform.DHGroup) ([]byte, error) {
	ke, err := transform.NewKeyExchange(group, sa.rand)
	if err != nil {
		return nil, err
	}
	sa.ke = ke
	var ps []message.Payload
	if sa.cookie != nil {
		ps = append(ps, &message.Notify{NotifyType: message.NotifyCookie, Data: sa.cookie})
	}
	ps = append(ps,
		toSA(numbered(sa.init.IKEProposals, nil)...),
		&message.KE{Group: uint16(group), Data: ke.PublicKey()},
		&message.Nonce{Data: sa.ni},
		&message.Notify{NotifyType: message.NotifyNATDetectionSourceIP, Data: natHash(sa.spiI, 0, sa.local)},
		&message.Notify{NotifyType: message.NotifyNATDetectionDestinationIP, Data: natHash(sa.spiI, 0, sa.remote)},
		message.SignatureHashAlgorithms(hashesWeVerify...),
		&message.Notify{NotifyType: message.NotifyIKEv2FragmentationSupported},
	)
	h := message.Header{SPIi: sa.spiI, Exchange: message.ExchangeIKESAInit, Flags: message.FlagInitiator}
	req, err := (&message.Message{Header: h, Payloads: ps}).Append(nil)
	if err != nil {
		return nil, err
	}
	sa.initReq = req
	return req, nil
}

// handleInitResponse takes the IKE_SA_INIT response and returns the IKE_AUTH request, or a new
// IKE_SA_INIT request when the responder asked for another group or a cookie.
//
//	IKE_AUTH { IDi, CERT+, [IDr], AUTH, CP(CFG_REQUEST), SA, TSi, TSr } -->
func (sa *SA) handleInitResponse(datagram []byte, h message.Header) ([]byte, Event, error) {
	if !h.IsResponse() || h.Exchange != message.ExchangeIKESAInit || h.MessageID != 0 {
		return nil, EventNone, fmt.Errorf("%w: %s while waiting for IKE_SA_INIT's answer", ErrUnexpected, h.Exchange)
	}
	m, err := message.Decode(datagram)
	if err != nil {
		return nil, EventNone, err
	}
	if n := m.Payloads.Notify(message.NotifyCookie); n != nil && h.SPIr == 0 {
		sa.cookie = n.Data
		req, err := sa.initRequest(sa.ke.Group())
		return req, EventNone, err
	}
	if n := m.Payloads.Notify(message.NotifyInvalidKEPayload); n != nil {
		g, err := n.Group()
		if err != nil || transform.DHGroup(g) == sa.ke.Group() {
			return sa.failed(fmt.Errorf("%w: INVALID_KE_PAYLOAD without a usable group", ErrRefused))
		}
		req, err := sa.initRequest(transform.DHGroup(g))
		return req, EventNone, err
	}
	if n := m.Payloads.ErrorNotify(); n != nil {
		return sa.failed(&NotifyError{n.NotifyType, ErrRefused})
	}
	if err := message.Check(message.ExchangeIKESAInit, true, false, m.Payloads); err != nil {
		return sa.failed(err)
	}
	saP := m.Payloads.Find(message.PayloadSA).(*message.SA)
	keP := m.Payloads.Find(message.PayloadKE).(*message.KE)
	if len(saP.Proposals) != 1 {
		return sa.failed(fmt.Errorf("%w: the responder chose %d proposals", ErrUnexpected, len(saP.Proposals)))
	}
	sel, err := chosen(toProposals(saP)[0], transform.DHGroup(keP.Group), false, sa.init.IKEProposals)
	if err != nil || sel.Suite.DH != sa.ke.Group() {
		return sa.failed(fmt.Errorf("%w: the responder chose a proposal we did not offer: %v", ErrUnexpected, toProposals(saP)))
	}
	gir, err := sa.ke.SharedSecret(keP.Data)
	if err != nil {
		return sa.failed(err)
	}
	sa.suite, sa.spiR, sa.initResp = sel.Suite, h.SPIr, datagram
	sa.nr = m.Payloads.Find(message.PayloadNonce).(*message.Nonce).Data
	if n := m.Payloads.Notify(message.NotifySignatureHashAlgorithms); n != nil {
		sa.peerHashes, _ = n.HashAlgorithms()
	}
	sa.fragmentation = m.Payloads.Notify(message.NotifyIKEv2FragmentationSupported) != nil
	if err := sa.deriveKeys(gir); err != nil {
		return sa.failed(err)
	}
	if sa.childSPI, err = sa.init.AllocateSPI(); err != nil {
		return sa.failed(err)
	}
	ps, err := sa.authRequestPayloads()
	if err != nil {
		return sa.failed(err)
	}
	sa.state = StateAuthWait
	req, err := sa.seal(sa.header(message.ExchangeIKEAuth, false, 1), ps)
	if err != nil {
		return sa.failed(err)
	}
	sa.nextOwnID = 2
	return req, EventNone, nil
}

func (sa *SA) authRequestPayloads() ([]message.Payload, error) {
	cfg := sa.init
	body, _ := sa.idi.AppendBody(nil)
	octets := transform.SignedOctets(sa.prf, sa.keys.SKpi, sa.initReq, sa.nr, body)
	auth, err := signAuth(cfg.Identity.Key, octets, sa.peerHashes, sa.rand)
	if err != nil {
		return nil, err
	}
	ps := []message.Payload{sa.idi}
	for _, c := range cfg.Identity.Chain {
		ps = append(ps, &message.Cert{Encoding: message.CertX509Signature, Data: c.Raw})
	}
	if cfg.ServerName != "" {
		ps = append(ps, &message.IDr{IDType: message.IDFQDN, Data: []byte(cfg.ServerName)})
	}
	tsr := []message.Selector{prefixSelector(netip.MustParsePrefix("0.0.0.0/0"))}
	if len(cfg.RemoteTS) > 0 {
		tsr = tsr[:0]
		for _, p := range cfg.RemoteTS {
			tsr = append(tsr, prefixSelector(p))
		}
	}
	ps = append(ps,
		&message.Auth{Method: auth.Method, Data: auth.Data},
		&message.CP{CFGType: message.CPRequest, Attributes: []message.CPAttribute{
			{Type: message.CPInternalIP4Address}, {Type: message.CPInternalIP4DNS},
		}},
		toSA(numbered(cfg.ESPProposals, spiBytes(sa.childSPI))...),
		&message.TSi{Selectors: []message.Selector{prefixSelector(netip.MustParsePrefix("0.0.0.0/0"))}},
		&message.TSr{Selectors: tsr},
		&message.Notify{NotifyType: message.NotifyInitialContact},
		&message.Notify{NotifyType: message.NotifyMOBIKESupported},
	)
	return ps, nil
}

// handleAuthResponse checks the responder's identity and AUTH and takes the CHILD SA and the
// configuration it pushed.
func (sa *SA) handleAuthResponse(ps message.Payloads) ([]byte, Event, error) {
	if n := ps.ErrorNotify(); n != nil {
		return sa.failed(&NotifyError{n.NotifyType, ErrRefused})
	}
	if err := message.Check(message.ExchangeIKEAuth, true, true, ps); err != nil {
		return sa.failed(err)
	}
	idr, _ := ps.Find(message.PayloadIDr).(*message.IDr)
	authP, _ := ps.Find(message.PayloadAuth).(*message.Auth)
	if idr == nil || authP == nil {
		return sa.failed(fmt.Errorf("%w: the responder sent no IDr or AUTH", ErrAuthFailed))
	}
	leaf, inter, err := peerCerts(ps)
	if err != nil {
		return sa.failed(err)
	}
	if err := sa.verifyServer(leaf, inter); err != nil {
		return sa.failed(err)
	}
	if err := idMatchesCert(idr.IDType, idr.Data, leaf); err != nil {
		return sa.failed(fmt.Errorf("%w: %w", ErrAuthFailed, err))
	}
	body, _ := (*message.IDi)(idr).AppendBody(nil)
	octets := transform.SignedOctets(sa.prf, sa.keys.SKpr, sa.initResp, sa.ni, body)
	if err := verifyAuth(AuthData{authP.Method, authP.Data}, leaf.PublicKey, octets); err != nil {
		return sa.failed(fmt.Errorf("%w: the gateway's AUTH: %v", ErrAuthFailed, err))
	}
	sa.mobike = ps.Notify(message.NotifyMOBIKESupported) != nil
	saP, _ := ps.Find(message.PayloadSA).(*message.SA)
	tsi, _ := ps.Find(message.PayloadTSi).(*message.TSi)
	tsr, _ := ps.Find(message.PayloadTSr).(*message.TSr)
	cp, _ := ps.Find(message.PayloadCP).(*message.CP)
	if saP == nil || tsi == nil || tsr == nil || cp == nil {
		return sa.failed(fmt.Errorf("%w: IKE SA up but no CHILD SA or configuration", ErrUnexpected))
	}
	if len(saP.Proposals) != 1 {
		return sa.failed(fmt.Errorf("%w: the responder chose %d ESP proposals", ErrUnexpected, len(saP.Proposals)))
	}
	sel, err := chosen(toProposals(saP)[0], transform.DHNone, true, sa.init.ESPProposals)
	if err != nil || len(sel.Proposal.SPI) != 4 {
		return sa.failed(fmt.Errorf("%w: the responder chose an ESP proposal we did not offer", ErrUnexpected))
	}
	keys, err := transform.DeriveChildKeys(sel.Suite, sa.suite.PRF, sa.keys.SKd, nil, sa.ni, sa.nr)
	if err != nil {
		return sa.failed(err)
	}
	lease, err := leaseFromCP(cp)
	if err != nil {
		return sa.failed(err)
	}
	sa.Child = &ChildSA{
		Suite: sel.Suite, InSPI: sa.childSPI, OutSPI: spi32(sel.Proposal.SPI),
		In: keys.ResponderToInitiator, Out: keys.InitiatorToResponder,
		TSi: tsi.Selectors, TSr: tsr.Selectors,
	}
	sa.state, sa.Peer, sa.Lease, sa.Established = StateEstablished, leaf.Subject.CommonName, lease, sa.now()
	return nil, EventEstablished, nil
}

// verifyServer checks the gateway's certificate against our roots and its name.
func (sa *SA) verifyServer(leaf *x509.Certificate, inter []*x509.Certificate) error {
	pool := x509.NewCertPool()
	for _, c := range inter {
		pool.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots: sa.init.Roots, Intermediates: pool, DNSName: sa.init.ServerName, CurrentTime: sa.now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return fmt.Errorf("%w: the gateway's certificate: %v", ErrAuthFailed, err)
	}
	return nil
}

// leaseFromCP reads the CP(CFG_REPLY) the gateway pushed.
func leaseFromCP(cp *message.CP) (*Lease, error) {
	l := &Lease{}
	for _, a := range cp.Attributes {
		switch a.Type {
		case message.CPInternalIP4Address:
			if ip, ok := netip.AddrFromSlice(a.Value); ok && ip.Is4() {
				l.Addr = ip
			}
		case message.CPInternalIP4DNS:
			if ip, ok := netip.AddrFromSlice(a.Value); ok && ip.Is4() {
				l.DNS = append(l.DNS, ip)
			}
		case message.CPInternalIP4Subnet:
			if len(a.Value) == 8 {
				ip, _ := netip.AddrFromSlice(a.Value[:4])
				m := a.Value[4:]
				bits := 0
				for _, b := range m {
					for i := 7; i >= 0 && b&(1<<i) != 0; i-- {
						bits++
					}
				}
				l.Subnets = append(l.Subnets, netip.PrefixFrom(ip, bits).Masked())
			}
		}
	}
	if !l.Addr.IsValid() {
		return nil, fmt.Errorf("%w: the gateway assigned no address", ErrUnexpected)
	}
	return l, nil
}

func (sa *SA) failed(err error) ([]byte, Event, error) {
	sa.state, sa.Err = StateFailed, err
	return nil, EventFailed, err
}

// chosen checks the proposal a responder chose against the ones we offered: every transform in
// it must be one we offered in one proposal. Select does the rest of the checking; legacy is
// allowed there because what we offered is what we accept.
func chosen(p transform.Proposal, ke transform.DHGroup, ikeAuth bool, ours []transform.Proposal) (transform.Selection, error) {
	for _, o := range ours {
		if o.Protocol == p.Protocol && allIn(p.Transforms, o.Transforms) {
			return transform.Select(transform.Offer{Proposals: []transform.Proposal{p}, KE: ke, IKEAuth: ikeAuth}, []transform.Proposal{o}, true)
		}
	}
	return transform.Selection{}, transform.ErrNoProposalChosen
}

func allIn(ts, in []transform.Transform) bool {
	for _, t := range ts {
		found := false
		for _, u := range in {
			if t == u {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

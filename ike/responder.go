package ike

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"

	"github.com/p2sgw/p2sgw/ike/message"
	"github.com/p2sgw/p2sgw/ike/transform"
)

// Respond answers an IKE_SA_INIT request (RFC 7296 §1.2) that arrived from remote on local.
// spiR is the responder SPI the caller reserved for it. It returns the response to send and
// the new SA, or a response without an SA when the request is refused with a notify
// (NO_PROPOSAL_CHOSEN, INVALID_KE_PAYLOAD) and no state is kept. A nil response and an
// error mean the datagram is to be dropped.
//
// The response always tells the client it is behind NAT (a NAT_DETECTION_DESTINATION_IP that
// does not match its address), so every client floats to UDP 4500 and encapsulates ESP in
// UDP (RFC 3948): the gateway needs no raw ESP.
//
//	IKE_SA_INIT { SA, KEi, Ni, [N(NAT_D)], [N(SIG_HASH)], [N(FRAG)] } -->
//	        <-- { SA, KEr, Nr, N(NAT_D_S), N(NAT_D_D), CERTREQ, [N(SIG_HASH)] }
func Respond(cfg *ResponderConfig, req []byte, spiR uint64, local, remote netip.AddrPort) (*SA, []byte, error) {
	m, err := message.Decode(req)
	var uc *message.UnsupportedCriticalError
	if errors.As(err, &uc) {
		if h, herr := message.DecodeHeader(req); herr == nil && h.Exchange == message.ExchangeIKESAInit && !h.IsResponse() {
			sa := &SA{}
			return nil, sa.plainError(h, message.NotifyUnsupportedCriticalPayload, []byte{byte(uc.Type)}), err
		}
	}
	if err != nil {
		return nil, nil, err // anything else undecodable: a silent drop
	}
	h := m.Header
	if h.Exchange != message.ExchangeIKESAInit || h.IsResponse() || h.MessageID != 0 || h.SPIr != 0 || !h.IsInitiator() {
		return nil, nil, fmt.Errorf("%w: %s as the first message of an IKE SA", ErrUnexpected, h.Exchange)
	}
	sa := &SA{resp: cfg, rand: orRand(cfg.Rand), now: orNow(cfg.Now), spiI: h.SPIi, spiR: spiR, state: StateAuthWait, local: local, remote: remote}
	if err := message.Check(message.ExchangeIKESAInit, false, false, m.Payloads); err != nil {
		return nil, sa.plainError(h, message.NotifyInvalidSyntax, nil), err
	}
	saP := m.Payloads.Find(message.PayloadSA).(*message.SA)
	keP := m.Payloads.Find(message.PayloadKE).(*message.KE)
	sel, err := transform.Select(transform.Offer{Proposals: toProposals(saP), KE: transform.DHGroup(keP.Group)}, cfg.IKEProposals, cfg.Legacy)
	var invalidKE *transform.InvalidKEError
	switch {
	case errors.As(err, &invalidKE):
		return nil, sa.plainError(h, message.NotifyInvalidKEPayload, message.InvalidKEPayload(uint16(invalidKE.Group)).Data),
			&NotifyError{message.NotifyInvalidKEPayload, fmt.Errorf("client sent KE for %s, we want %s", transform.DHGroup(keP.Group), invalidKE.Group)}
	case err != nil:
		return nil, sa.plainError(h, message.NotifyNoProposalChosen, nil),
			&NotifyError{message.NotifyNoProposalChosen, fmt.Errorf("client offered %v", toProposals(saP))}
	}
	sa.suite = sel.Suite
	sa.ni = m.Payloads.Find(message.PayloadNonce).(*message.Nonce).Data
	if n := m.Payloads.Notify(message.NotifySignatureHashAlgorithms); n != nil {
		sa.peerHashes, _ = n.HashAlgorithms()
	}
	ke, err := transform.NewKeyExchange(sel.Suite.DH, sa.rand)
	if err != nil {
		return nil, nil, err
	}
	gir, err := ke.SharedSecret(keP.Data)
	if err != nil {
		return nil, sa.plainError(h, message.NotifyInvalidSyntax, nil), fmt.Errorf("client's KE: %w", err)
	}
	if sa.nr, err = randomBytes(sa.rand, nonceLen); err != nil {
		return nil, nil, err
	}
	if err := sa.deriveKeys(gir); err != nil {
		return nil, nil, err
	}

	ps := []message.Payload{
		toSA(sel.Proposal),
		&message.KE{Group: uint16(sel.Suite.DH), Data: ke.PublicKey()},
		&message.Nonce{Data: sa.nr},
		&message.Notify{NotifyType: message.NotifyNATDetectionSourceIP, Data: natHash(sa.spiI, sa.spiR, local)},
		// A hash of no address at all: the client sees it is "behind NAT" and uses UDP 4500.
		&message.Notify{NotifyType: message.NotifyNATDetectionDestinationIP, Data: natHash(sa.spiI, sa.spiR, netip.AddrPortFrom(netip.IPv4Unspecified(), 0))},
	}
	if cfg.CARequests != nil {
		if hashes := cfg.CARequests(); len(hashes) > 0 {
			ps = append(ps, &message.CertReq{Encoding: message.CertX509Signature, Authorities: bytes.Join(hashes, nil)})
		}
	}
	if sa.peerHashes != nil {
		ps = append(ps, message.SignatureHashAlgorithms(hashesWeVerify...))
	}
	if m.Payloads.Notify(message.NotifyIKEv2FragmentationSupported) != nil {
		ps = append(ps, &message.Notify{NotifyType: message.NotifyIKEv2FragmentationSupported})
		sa.fragmentation = true
	}
	resp, err := (&message.Message{Header: sa.header(message.ExchangeIKESAInit, true, 0), Payloads: ps}).Append(nil)
	if err != nil {
		return nil, nil, err
	}
	sa.initReq, sa.initResp = req, resp
	sa.nextPeerID = 1
	return sa, resp, nil
}

// plainError is an unencrypted IKE_SA_INIT error response.
func (sa *SA) plainError(req message.Header, t message.NotifyType, data []byte) []byte {
	h := message.Header{SPIi: req.SPIi, Exchange: req.Exchange, Flags: message.FlagResponse, MessageID: req.MessageID}
	b, _ := (&message.Message{Header: h, Payloads: []message.Payload{&message.Notify{NotifyType: t, Data: data}}}).Append(nil)
	return b
}

// handleAuthRequest is the responder's IKE_AUTH (RFC 7296 §1.2, §2.15, §3.15):
//
//	IKE_AUTH { IDi, CERT+, [CERTREQ], [IDr], AUTH, CP(CFG_REQUEST), SA, TSi, TSr } -->
//	     <-- { IDr, CERT, AUTH, CP(CFG_REPLY), SA, TSi, TSr }
func (sa *SA) handleAuthRequest(h message.Header, ps message.Payloads) ([]byte, Event, error) {
	fail := func(t message.NotifyType, err error) ([]byte, Event, error) {
		sa.state, sa.Err = StateFailed, err
		resp, _ := sa.seal(sa.header(message.ExchangeIKEAuth, true, h.MessageID), []message.Payload{&message.Notify{NotifyType: t}})
		return resp, EventFailed, err
	}
	if err := message.Check(message.ExchangeIKEAuth, false, true, ps); err != nil {
		return fail(message.NotifyInvalidSyntax, err)
	}
	if idi, ok := ps.Find(message.PayloadIDi).(*message.IDi); ok {
		sa.claimed = printableID(idi.IDType, idi.Data)
	}
	authP, _ := ps.Find(message.PayloadAuth).(*message.Auth)
	if authP == nil {
		if sa.resp.EAPTLS == nil && sa.resp.RelayEAP == nil {
			return fail(message.NotifyAuthenticationFailed, fmt.Errorf("%w: EAP is not offered on this gateway; the client must authenticate with a certificate", ErrAuthFailed))
		}
		return sa.startEAP(h, ps)
	}
	idi := ps.Find(message.PayloadIDi).(*message.IDi)
	leaf, inter, err := peerCerts(ps)
	if err != nil {
		return fail(message.NotifyAuthenticationFailed, err)
	}
	name, err := sa.resp.Authenticate(leaf, inter)
	if err != nil {
		return fail(message.NotifyAuthenticationFailed, fmt.Errorf("%w: %w", ErrAuthFailed, err))
	}
	if err := idMatchesCert(idi.IDType, idi.Data, leaf); err != nil {
		return fail(message.NotifyAuthenticationFailed, fmt.Errorf("%w: %w", ErrAuthFailed, err))
	}
	idBody, _ := idi.AppendBody(nil)
	octets := transform.SignedOctets(sa.prf, sa.keys.SKpi, sa.initReq, sa.nr, idBody)
	if err := verifyAuth(AuthData{authP.Method, authP.Data}, leaf.PublicKey, octets); err != nil {
		return fail(message.NotifyAuthenticationFailed, fmt.Errorf("%w: %s: %w", ErrAuthFailed, name, err))
	}

	child, lease, errNotify, err := sa.negotiateChild(ps, name, nil)
	if err != nil {
		// The client authenticated, so it gets our identity and AUTH with the CHILD SA's
		// refusal (RFC 7296 §1.2), and sees the real reason; without a CHILD SA a point-to-site
		// client has nothing to do, so the IKE SA is not kept.
		sa.Lease = lease // the caller releases it
		sa.state, sa.Err = StateFailed, err
		out, aerr := sa.authPayloads(ps.Find(message.PayloadIDr))
		if aerr != nil {
			return fail(errNotify, err)
		}
		resp, serr := sa.seal(sa.header(message.ExchangeIKEAuth, true, h.MessageID), append(out, &message.Notify{NotifyType: errNotify}))
		if serr != nil {
			return nil, EventFailed, err
		}
		sa.authSent = true // the client now holds an IKE SA: Abandon deletes it
		return resp, EventFailed, err
	}
	out, err := sa.authPayloads(ps.Find(message.PayloadIDr))
	if err != nil {
		sa.Lease = lease
		return fail(message.NotifyTemporaryFailure, err)
	}
	out = append(out, cpReply(lease),
		toSA(child.selected),
		&message.TSi{Selectors: child.sa.TSi},
		&message.TSr{Selectors: child.sa.TSr},
	)
	if ps.Notify(message.NotifyMOBIKESupported) != nil {
		out = append(out, &message.Notify{NotifyType: message.NotifyMOBIKESupported})
		sa.mobike = true
	}
	resp, err := sa.seal(sa.header(message.ExchangeIKEAuth, true, h.MessageID), out)
	if err != nil {
		return nil, EventNone, err
	}
	sa.state, sa.Peer, sa.Lease, sa.Child, sa.Established = StateEstablished, name, lease, child.sa, sa.now()
	sa.PeerCerts, sa.AuthMethod = certDER(leaf, inter), "certificate"
	return resp, EventEstablished, nil
}

// negotiatedChild is a CHILD SA chosen in IKE_AUTH, with the proposal to answer.
type negotiatedChild struct {
	sa       *ChildSA
	selected transform.Proposal
}

// negotiateChild selects the ESP proposal, leases the client an address and narrows the
// traffic selectors. On failure it returns the notify to answer with.
func (sa *SA) negotiateChild(ps message.Payloads, name string, grant *Grant) (*negotiatedChild, *Lease, message.NotifyType, error) {
	saP := ps.Find(message.PayloadSA).(*message.SA)
	sel, err := transform.Select(transform.Offer{Proposals: toProposals(saP), IKEAuth: true}, sa.resp.ESPProposals, sa.resp.Legacy)
	if err != nil {
		return nil, nil, message.NotifyNoProposalChosen, &NotifyError{message.NotifyNoProposalChosen, fmt.Errorf("%s offered ESP %v", name, toProposals(saP))}
	}
	if len(sel.Proposal.SPI) != 4 {
		return nil, nil, message.NotifyInvalidSyntax, fmt.Errorf("%w: ESP SPI of %d octets", ErrUnexpected, len(sel.Proposal.SPI))
	}
	cp, _ := ps.Find(message.PayloadCP).(*message.CP)
	if cp == nil || cp.CFGType != message.CPRequest {
		return nil, nil, message.NotifyFailedCPRequired, &NotifyError{message.NotifyFailedCPRequired, fmt.Errorf("%s asked for no address (CP CFG_REQUEST): a point-to-site client must", name)}
	}
	if _, ok := cp.Attribute(message.CPInternalIP4Address); !ok {
		return nil, nil, message.NotifyInternalAddressFailure, &NotifyError{message.NotifyInternalAddressFailure, fmt.Errorf("%s asked for no IPv4 address; only IPv4 pools exist", name)}
	}
	lease, err := sa.resp.Assign(name, grant)
	if err != nil {
		return nil, nil, message.NotifyInternalAddressFailure, &NotifyError{message.NotifyInternalAddressFailure, err}
	}
	tsr := narrowTS(ps.Find(message.PayloadTSr).(*message.TSr).Selectors, lease.Subnets)
	if len(tsr) == 0 {
		return nil, lease, message.NotifyTSUnacceptable, &NotifyError{message.NotifyTSUnacceptable, fmt.Errorf("%s asked for traffic selectors %v, none of which meet the VNet %v", name, ps.Find(message.PayloadTSr).(*message.TSr).Selectors, lease.Subnets)}
	}
	spi, err := sa.resp.AllocateSPI()
	if err != nil {
		return nil, lease, message.NotifyTemporaryFailure, err
	}
	keys, err := transform.DeriveChildKeys(sel.Suite, sa.suite.PRF, sa.keys.SKd, nil, sa.ni, sa.nr)
	if err != nil {
		return nil, lease, message.NotifyNoProposalChosen, err
	}
	answer := sel.Proposal.Clone()
	answer.SPI = spiBytes(spi)
	return &negotiatedChild{
		sa: &ChildSA{
			Suite: sel.Suite, InSPI: spi, OutSPI: spi32(sel.Proposal.SPI),
			In: keys.InitiatorToResponder, Out: keys.ResponderToInitiator,
			TSi: []message.Selector{hostSelector(lease.Addr)}, TSr: tsr,
		},
		selected: answer,
	}, lease, 0, nil
}

// authPayloads returns our IDr, CERT and AUTH. The identity answers the one the client asked
// for when our certificate carries it (macOS asks for the FQDN, Android for the address it
// dialled); otherwise, and for Windows, which asks for none, it is our certificate's first
// name.
func (sa *SA) authPayloads(asked message.Payload) ([]message.Payload, error) {
	id := sa.resp.Identity
	idr := responderID(asked, id.Chain[0])
	body, _ := idr.AppendBody(nil)
	octets := transform.SignedOctets(sa.prf, sa.keys.SKpr, sa.initResp, sa.ni, body)
	auth, err := signAuth(id.Key, octets, sa.peerHashes, sa.rand)
	if err != nil {
		return nil, err
	}
	out := []message.Payload{idr}
	for _, c := range id.Chain {
		out = append(out, &message.Cert{Encoding: message.CertX509Signature, Data: c.Raw})
	}
	return append(out, &message.Auth{Method: auth.Method, Data: auth.Data}), nil
}

// responderID is the IDr we answer with: the one the client asked for if our certificate
// carries it, else our certificate's own.
func responderID(asked message.Payload, cert *x509.Certificate) *message.IDr {
	if a, ok := asked.(*message.IDr); ok && idMatchesCert(a.IDType, a.Data, cert) == nil {
		return &message.IDr{IDType: a.IDType, Data: a.Data}
	}
	return ownID(cert)
}

// peerCerts returns the leaf and intermediates from the CERT payloads (X.509 only).
func peerCerts(ps message.Payloads) (*x509.Certificate, []*x509.Certificate, error) {
	var certs []*x509.Certificate
	for _, p := range ps.FindAll(message.PayloadCert) {
		c := p.(*message.Cert)
		if c.Encoding != message.CertX509Signature {
			continue
		}
		cert, err := x509.ParseCertificate(c.Data)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: CERT payload does not parse: %v", ErrAuthFailed, err)
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, nil, fmt.Errorf("%w: the client sent no X.509 certificate", ErrAuthFailed)
	}
	return certs[0], certs[1:], nil
}

// cpReply is the CP(CFG_REPLY) for a lease: the address with a /32 netmask, the DNS servers
// and the VNet prefixes.
func cpReply(l *Lease) *message.CP {
	a4 := l.Addr.As4()
	cp := &message.CP{CFGType: message.CPReply, Attributes: []message.CPAttribute{
		{Type: message.CPInternalIP4Address, Value: a4[:]},
		{Type: message.CPInternalIP4Netmask, Value: []byte{255, 255, 255, 255}},
	}}
	for _, d := range l.DNS {
		if d.Is4() {
			v := d.As4()
			cp.Attributes = append(cp.Attributes, message.CPAttribute{Type: message.CPInternalIP4DNS, Value: v[:]})
		}
	}
	for _, p := range l.Subnets {
		if p.Addr().Is4() {
			a := p.Masked().Addr().As4()
			m := maskOf(p.Bits())
			cp.Attributes = append(cp.Attributes, message.CPAttribute{Type: message.CPInternalIP4Subnet, Value: append(a[:], m[:]...)})
		}
	}
	return cp
}

func maskOf(bits int) [4]byte {
	v := ^uint32(0) << (32 - bits)
	if bits == 0 {
		v = 0
	}
	return [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

package ike

import (
	"errors"
	"fmt"

	"github.com/p2sgw/p2sgw/ike/message"
	"github.com/p2sgw/p2sgw/ike/transform"
)

// handleCreateChild answers a CREATE_CHILD_SA request. A CHILD SA rekey (RFC 7296 §1.3.3),
// with or without a new key exchange (macOS rekeys without, iOS with), is answered:
//
//	CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, [KEi], TSi, TSr } -->
//	           <-- { SA, Nr, [KEr], TSi, TSr }
//
// The new CHILD SA is in Rekeyed until the caller installs it (EventChildRekeyed); the old one
// stays in OldChild until the peer deletes it. An IKE SA rekey goes to handleIKERekey;
// additional CHILD SAs are refused with NO_ADDITIONAL_SAS: a P2S client has one.
func (sa *SA) handleCreateChild(h message.Header, ps message.Payloads) ([]byte, Event, error) {
	refuse := func(t message.NotifyType, data []byte, err error) ([]byte, Event, error) {
		resp, serr := sa.seal(sa.header(message.ExchangeCreateChildSA, true, h.MessageID), []message.Payload{&message.Notify{NotifyType: t, Data: data}})
		if serr != nil {
			return nil, EventNone, serr
		}
		return resp, EventNone, err
	}
	rekey := ps.Notify(message.NotifyRekeySA)
	saP, _ := ps.Find(message.PayloadSA).(*message.SA)
	nonce, _ := ps.Find(message.PayloadNonce).(*message.Nonce)
	tsr, _ := ps.Find(message.PayloadTSr).(*message.TSr)
	if err := sa.rekeyCollision(); err != nil {
		return refuse(message.NotifyTemporaryFailure, nil, err)
	}
	if saP != nil && nonce != nil && len(saP.Proposals) > 0 && saP.Proposals[0].Protocol == message.ProtocolIKE {
		return sa.handleIKERekey(h, ps, saP, nonce, refuse)
	}
	switch {
	case !sa.isGateway():
		// Our client keeps the CHILD SA the gateway gave it until it rekeys it itself.
		return refuse(message.NotifyNoAdditionalSAs, nil, fmt.Errorf("%w: a CHILD SA from the gateway", ErrUnsupported))
	case saP == nil || nonce == nil:
		return refuse(message.NotifyNoAdditionalSAs, nil, fmt.Errorf("%w: CREATE_CHILD_SA without SA or nonce", ErrUnexpected))
	case rekey == nil || sa.Child == nil || tsr == nil:
		return refuse(message.NotifyNoAdditionalSAs, nil, fmt.Errorf("%w: a CREATE_CHILD_SA that is not a CHILD SA rekey", ErrUnsupported))
	case rekey.Protocol != message.ProtocolESP || (spi32(rekey.SPI) != sa.Child.OutSPI && spi32(rekey.SPI) != sa.Child.InSPI):
		return refuse(message.NotifyChildSANotFound, nil, fmt.Errorf("%w: rekey of unknown CHILD SA %x", ErrUnexpected, rekey.SPI))
	}
	offer := transform.Offer{Proposals: toProposals(saP)}
	ke, _ := ps.Find(message.PayloadKE).(*message.KE)
	if ke != nil {
		offer.KE = transform.DHGroup(ke.Group)
	}
	sel, err := transform.Select(offer, sa.resp.ESPProposals, sa.resp.Legacy)
	switch {
	case err != nil:
		n, data := selectionRefusal(err)
		return refuse(n, data, err)
	case len(sel.Proposal.SPI) != 4:
		return refuse(message.NotifyInvalidSyntax, nil, fmt.Errorf("%w: ESP SPI of %d octets", ErrUnexpected, len(sel.Proposal.SPI)))
	}
	nr, err := randomBytes(sa.rand, nonceLen)
	if err != nil {
		return nil, EventNone, err
	}
	var gir []byte
	var keR *message.KE
	if sel.Suite.DH != transform.DHNone {
		kx, err := transform.NewKeyExchange(sel.Suite.DH, sa.rand)
		if err != nil {
			return nil, EventNone, err
		}
		if gir, err = kx.SharedSecret(ke.Data); err != nil {
			return refuse(message.NotifyInvalidSyntax, nil, err)
		}
		keR = &message.KE{Group: uint16(sel.Suite.DH), Data: kx.PublicKey()}
	}
	narrowed := narrowTS(tsr.Selectors, sa.Lease.Subnets)
	if len(narrowed) == 0 {
		return refuse(message.NotifyTSUnacceptable, nil, fmt.Errorf("%w: rekey asks for traffic selectors outside the VNet", ErrUnexpected))
	}
	spi, err := sa.resp.AllocateSPI()
	if err != nil {
		return refuse(message.NotifyTemporaryFailure, nil, err)
	}
	keys, err := transform.DeriveChildKeys(sel.Suite, sa.suite.PRF, sa.keys.SKd, gir, nonce.Data, nr)
	if err != nil {
		return nil, EventNone, err
	}
	answer := sel.Proposal.Clone()
	answer.SPI = spiBytes(spi)
	child := &ChildSA{
		Suite: sel.Suite, InSPI: spi, OutSPI: spi32(sel.Proposal.SPI),
		In: keys.InitiatorToResponder, Out: keys.ResponderToInitiator,
		TSi: []message.Selector{hostSelector(sa.Lease.Addr)}, TSr: narrowed,
	}
	out := []message.Payload{toSA(answer), &message.Nonce{Data: nr}}
	if keR != nil {
		out = append(out, keR)
	}
	out = append(out, &message.TSi{Selectors: child.TSi}, &message.TSr{Selectors: child.TSr})
	resp, err := sa.seal(sa.header(message.ExchangeCreateChildSA, true, h.MessageID), out)
	if err != nil {
		return nil, EventNone, err
	}
	sa.Rekeyed = child
	return resp, EventChildRekeyed, nil
}

// InstallRekeyed makes the CHILD SA from the last rekey the current one; the previous one
// stays in OldChild until the peer deletes it.
func (sa *SA) InstallRekeyed() {
	if sa.Rekeyed == nil {
		return
	}
	sa.OldChild, sa.Child, sa.Rekeyed = sa.Child, sa.Rekeyed, nil
}

// RekeyChild returns a CREATE_CHILD_SA request that rekeys the CHILD SA (either side may). With a group other than DHNone it
// carries a new key exchange (PFS). The answer goes to Handle, which reports
// EventChildRekeyed with the new CHILD SA in Rekeyed.
func (sa *SA) RekeyChild(group transform.DHGroup, proposals []transform.Proposal) ([]byte, error) {
	if sa.Child == nil || sa.state != StateEstablished {
		return nil, fmt.Errorf("%w: no CHILD SA to rekey", ErrUnexpected)
	}
	if sa.pendingRekey != nil || sa.pendingIKE != nil {
		return nil, fmt.Errorf("%w: a rekey is already under way", ErrUnexpected)
	}
	spi, err := sa.allocateSPI()
	if err != nil {
		return nil, err
	}
	ni, err := randomBytes(sa.rand, nonceLen)
	if err != nil {
		return nil, err
	}
	proposals = withGroup(proposals, group)
	ps := []message.Payload{
		&message.Notify{Protocol: message.ProtocolESP, SPI: spiBytes(sa.Child.InSPI), NotifyType: message.NotifyRekeySA},
		toSA(numbered(proposals, spiBytes(spi))...),
		&message.Nonce{Data: ni},
	}
	var kx transform.KeyExchange
	if group != transform.DHNone {
		if kx, err = transform.NewKeyExchange(group, sa.rand); err != nil {
			return nil, err
		}
		ps = append(ps, &message.KE{Group: uint16(group), Data: kx.PublicKey()})
	}
	// TSi is the exchange initiator's side: ours. ChildSA keeps the IKE SA initiator's (the
	// client's) as TSi, so the gateway swaps them.
	tsi, tsr := sa.Child.TSi, sa.Child.TSr
	if sa.isGateway() {
		tsi, tsr = tsr, tsi
	}
	ps = append(ps, &message.TSi{Selectors: tsi}, &message.TSr{Selectors: tsr})
	req, err := sa.request(message.ExchangeCreateChildSA, ps)
	if err != nil {
		return nil, err
	}
	sa.pendingRekey = &pendingRekey{spi: spi, ni: ni, kx: kx, proposals: proposals}
	return req, nil
}

// pendingRekey is our CHILD SA rekey request waiting for its answer.
type pendingRekey struct {
	spi       uint32
	ni        []byte
	kx        transform.KeyExchange
	proposals []transform.Proposal
}

// handleRekeyResponse takes the answer to RekeyChild.
func (sa *SA) handleRekeyResponse(ps message.Payloads) ([]byte, Event, error) {
	p := sa.pendingRekey
	sa.pendingRekey = nil
	if n := ps.ErrorNotify(); n != nil {
		return nil, EventNone, &NotifyError{n.NotifyType, ErrRefused}
	}
	saP, _ := ps.Find(message.PayloadSA).(*message.SA)
	nonce, _ := ps.Find(message.PayloadNonce).(*message.Nonce)
	tsi, _ := ps.Find(message.PayloadTSi).(*message.TSi)
	tsr, _ := ps.Find(message.PayloadTSr).(*message.TSr)
	if saP == nil || nonce == nil || tsi == nil || tsr == nil || len(saP.Proposals) != 1 {
		return nil, EventNone, fmt.Errorf("%w: incomplete CREATE_CHILD_SA answer", ErrUnexpected)
	}
	group := transform.DHNone
	ke, _ := ps.Find(message.PayloadKE).(*message.KE)
	if ke != nil {
		group = transform.DHGroup(ke.Group)
	}
	sel, err := chosen(toProposals(saP)[0], group, false, p.proposals)
	if err != nil {
		return nil, EventNone, err
	}
	var gir []byte
	if sel.Suite.DH != transform.DHNone {
		if p.kx == nil || ke == nil {
			return nil, EventNone, fmt.Errorf("%w: the answer chose PFS we did not offer", ErrUnexpected)
		}
		if gir, err = p.kx.SharedSecret(ke.Data); err != nil {
			return nil, EventNone, err
		}
	}
	keys, err := transform.DeriveChildKeys(sel.Suite, sa.suite.PRF, sa.keys.SKd, gir, p.ni, nonce.Data)
	if err != nil {
		return nil, EventNone, err
	}
	ctsi, ctsr := tsi.Selectors, tsr.Selectors
	if sa.isGateway() {
		ctsi, ctsr = ctsr, ctsi // back to the client's side as TSi
	}
	sa.Rekeyed = &ChildSA{
		Suite: sel.Suite, InSPI: p.spi, OutSPI: spi32(sel.Proposal.SPI),
		In: keys.ResponderToInitiator, Out: keys.InitiatorToResponder,
		TSi: ctsi, TSr: ctsr,
	}
	return nil, EventChildRekeyed, nil
}

// DeleteOldChild returns the INFORMATIONAL request that retires the CHILD SA a rekey replaced.
func (sa *SA) DeleteOldChild() ([]byte, error) {
	if sa.OldChild == nil {
		return nil, fmt.Errorf("%w: no old CHILD SA", ErrUnexpected)
	}
	return sa.request(message.ExchangeInformational, []message.Payload{&message.Delete{Protocol: message.ProtocolESP, SPIs: []uint32{sa.OldChild.InSPI}}})
}

func (sa *SA) allocateSPI() (uint32, error) {
	if !sa.isGateway() {
		return sa.init.AllocateSPI()
	}
	return sa.resp.AllocateSPI()
}

// withGroup returns proposals whose DH transforms are exactly group (DH NONE: no PFS), so the
// responder cannot pick a group other than the one our KE payload is for.
func withGroup(ps []transform.Proposal, group transform.DHGroup) []transform.Proposal {
	out := make([]transform.Proposal, len(ps))
	for i, p := range ps {
		out[i] = p.Clone()
		out[i].Transforms = out[i].Transforms[:0]
		for _, tr := range p.Transforms {
			if tr.Type != transform.TypeDH {
				out[i].Transforms = append(out[i].Transforms, tr)
			}
		}
		out[i].Transforms = append(out[i].Transforms, group.Transform())
	}
	return out
}

// selectionRefusal is the notification that refuses an offer transform.Select turned down:
// INVALID_KE_PAYLOAD naming the group we want, or NO_PROPOSAL_CHOSEN.
func selectionRefusal(err error) (message.NotifyType, []byte) {
	var invalidKE *transform.InvalidKEError
	if errors.As(err, &invalidKE) {
		return message.NotifyInvalidKEPayload, message.InvalidKEPayload(uint16(invalidKE.Group)).Data
	}
	return message.NotifyNoProposalChosen, nil
}

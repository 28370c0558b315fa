package ike

import (
	"encoding/binary"
	"fmt"

	"github.com/p2sgw/p2sgw/ike/message"
	"github.com/p2sgw/p2sgw/ike/transform"
)

// IKE SA rekeying (RFC 7296 §1.3.2, §2.18), from either side:
//
//	CREATE_CHILD_SA { SA(IKE, new SPIi), Ni, KEi } -->
//	           <-- { SA(IKE, new SPIr), Nr, KEr }
//
// The new IKE SA takes over the CHILD SAs, the lease and the peer's identity, with message IDs
// from zero and keys from the old SK_d. Whoever started the exchange is the new SA's original
// initiator (§2.8): it sets the I flag and uses SK_ei from then on, even if it was the
// responder of the old SA, and it deletes the old SA through the old SA.
//
// Collisions (§2.25) are avoided rather than resolved: while a rekey of ours is unanswered, a
// peer's CHILD SA or IKE SA rekey is refused with TEMPORARY_FAILURE, and the peer tries again
// later, as it must.

// RekeyIKE returns a CREATE_CHILD_SA request that rekeys this IKE SA with the algorithms it
// has (the peer chose them once; a new key exchange in the same group is required). The
// answer goes to Handle, which reports EventIKERekeyed with the new SA in RekeyedIKE; the
// caller then sends this SA's Delete and carries on with the new one.
func (sa *SA) RekeyIKE() ([]byte, error) {
	if sa.state != StateEstablished || sa.Child == nil {
		return nil, fmt.Errorf("%w: no established IKE SA to rekey", ErrUnexpected)
	}
	if sa.pendingRekey != nil || sa.pendingIKE != nil {
		return nil, fmt.Errorf("%w: a rekey is already under way", ErrUnexpected)
	}
	spi, err := randomSPI(sa.rand)
	if err != nil {
		return nil, err
	}
	ni, err := randomBytes(sa.rand, nonceLen)
	if err != nil {
		return nil, err
	}
	kx, err := transform.NewKeyExchange(sa.suite.DH, sa.rand)
	if err != nil {
		return nil, err
	}
	offer := sa.suite.Proposal(1, binary.BigEndian.AppendUint64(nil, spi))
	req, err := sa.request(message.ExchangeCreateChildSA, []message.Payload{
		toSA(offer), &message.Nonce{Data: ni}, &message.KE{Group: uint16(sa.suite.DH), Data: kx.PublicKey()},
	})
	if err != nil {
		return nil, err
	}
	sa.pendingIKE = &pendingIKERekey{spi: spi, ni: ni, kx: kx, offer: offer}
	return req, nil
}

// pendingIKERekey is our IKE SA rekey request waiting for its answer.
type pendingIKERekey struct {
	spi   uint64
	ni    []byte
	kx    transform.KeyExchange
	offer transform.Proposal
}

// handleIKERekeyResponse takes the answer to RekeyIKE. A refusal (TEMPORARY_FAILURE, say)
// leaves this SA as it was, to be rekeyed later.
func (sa *SA) handleIKERekeyResponse(ps message.Payloads) ([]byte, Event, error) {
	p := sa.pendingIKE
	sa.pendingIKE = nil
	if n := ps.ErrorNotify(); n != nil {
		return nil, EventNone, &NotifyError{n.NotifyType, ErrRefused}
	}
	saP, _ := ps.Find(message.PayloadSA).(*message.SA)
	nonce, _ := ps.Find(message.PayloadNonce).(*message.Nonce)
	ke, _ := ps.Find(message.PayloadKE).(*message.KE)
	if saP == nil || nonce == nil || ke == nil || len(saP.Proposals) != 1 {
		return nil, EventNone, fmt.Errorf("%w: incomplete answer to our IKE SA rekey", ErrUnexpected)
	}
	answer := toProposals(saP)[0]
	sel, err := chosen(answer, transform.DHGroup(ke.Group), false, []transform.Proposal{p.offer})
	if err != nil || len(answer.SPI) != 8 {
		return nil, EventNone, fmt.Errorf("%w: the answer to our IKE SA rekey chose %v, we offered %v", ErrUnexpected, answer, p.offer)
	}
	gir, err := p.kx.SharedSecret(ke.Data)
	if err != nil {
		return nil, EventNone, err
	}
	spiR := binary.BigEndian.Uint64(answer.SPI)
	keys, err := transform.RekeyIKEKeys(sel.Suite, sa.suite.PRF, sa.keys.SKd, gir, p.ni, nonce.Data, p.spi, spiR)
	if err != nil {
		return nil, EventNone, err
	}
	next, err := sa.successor(true, sel.Suite, p.spi, spiR, p.ni, nonce.Data, keys)
	if err != nil {
		return nil, EventNone, err
	}
	sa.RekeyedIKE = next
	return nil, EventIKERekeyed, nil
}

// handleIKERekey answers the peer's IKE SA rekey; the peer then deletes this SA.
func (sa *SA) handleIKERekey(h message.Header, ps message.Payloads, saP *message.SA, nonce *message.Nonce,
	refuse func(message.NotifyType, []byte, error) ([]byte, Event, error)) ([]byte, Event, error) {
	ke, _ := ps.Find(message.PayloadKE).(*message.KE)
	if ke == nil {
		return refuse(message.NotifyInvalidSyntax, nil, fmt.Errorf("%w: IKE SA rekey without KE", ErrUnexpected))
	}
	ours, legacy := sa.ikeProposals()
	sel, err := transform.Select(transform.Offer{Proposals: toProposals(saP), KE: transform.DHGroup(ke.Group)}, ours, legacy)
	switch {
	case err != nil:
		n, data := selectionRefusal(err)
		return refuse(n, data, err)
	case len(sel.Proposal.SPI) != 8:
		return refuse(message.NotifyInvalidSyntax, nil, fmt.Errorf("%w: IKE SPI of %d octets", ErrUnexpected, len(sel.Proposal.SPI)))
	}
	kx, err := transform.NewKeyExchange(sel.Suite.DH, sa.rand)
	if err != nil {
		return nil, EventNone, err
	}
	gir, err := kx.SharedSecret(ke.Data)
	if err != nil {
		return refuse(message.NotifyInvalidSyntax, nil, err)
	}
	nr, err := randomBytes(sa.rand, nonceLen)
	if err != nil {
		return nil, EventNone, err
	}
	spiR, err := randomSPI(sa.rand)
	if err != nil {
		return nil, EventNone, err
	}
	spiI := binary.BigEndian.Uint64(sel.Proposal.SPI)
	keys, err := transform.RekeyIKEKeys(sel.Suite, sa.suite.PRF, sa.keys.SKd, gir, nonce.Data, nr, spiI, spiR)
	if err != nil {
		return nil, EventNone, err
	}
	next, err := sa.successor(false, sel.Suite, spiI, spiR, nonce.Data, nr, keys)
	if err != nil {
		return nil, EventNone, err
	}
	answer := sel.Proposal.Clone()
	answer.SPI = binary.BigEndian.AppendUint64(nil, spiR)
	resp, err := sa.seal(sa.header(message.ExchangeCreateChildSA, true, h.MessageID), []message.Payload{
		toSA(answer), &message.Nonce{Data: nr}, &message.KE{Group: uint16(sel.Suite.DH), Data: kx.PublicKey()},
	})
	if err != nil {
		return nil, EventNone, err
	}
	sa.RekeyedIKE = next
	return resp, EventIKERekeyed, nil
}

// successor is the IKE SA a rekey creates: this one's session on new keys. initiator is
// whether we started the rekey.
func (sa *SA) successor(initiator bool, suite transform.Suite, spiI, spiR uint64, ni, nr []byte, keys *transform.IKEKeys) (*SA, error) {
	next := &SA{
		initiator: initiator, resp: sa.resp, init: sa.init, rand: sa.rand, now: sa.now,
		state: StateEstablished, spiI: spiI, spiR: spiR, suite: suite, ni: ni, nr: nr,
		peerHashes: sa.peerHashes, fragmentation: sa.fragmentation, mobike: sa.mobike,
		Peer: sa.Peer, Lease: sa.Lease, Child: sa.Child, OldChild: sa.OldChild,
		Established: sa.Established, PeerCerts: sa.PeerCerts, AuthMethod: sa.AuthMethod, Grant: sa.Grant,
	}
	if err := next.setKeys(keys); err != nil {
		return nil, err
	}
	return next, nil
}

// ikeProposals are the IKE proposals we accept in a rekey, and whether legacy algorithms are
// allowed: the gateway's policy, or for our client what it offered in IKE_SA_INIT.
func (sa *SA) ikeProposals() ([]transform.Proposal, bool) {
	if sa.isGateway() {
		return sa.resp.IKEProposals, sa.resp.Legacy
	}
	return sa.init.IKEProposals, true
}

// rekeyCollision is why a peer's rekey request must wait: a rekey of ours is unanswered, or
// this SA is being deleted (RFC 7296 §2.25). The answer is TEMPORARY_FAILURE.
func (sa *SA) rekeyCollision() error {
	switch {
	case sa.pendingIKE != nil:
		return fmt.Errorf("%w: our IKE SA rekey is unanswered", ErrCollision)
	case sa.pendingRekey != nil:
		return fmt.Errorf("%w: our CHILD SA rekey is unanswered", ErrCollision)
	case sa.state == StateDeleting:
		return fmt.Errorf("%w: we are deleting the IKE SA", ErrCollision)
	}
	return nil
}

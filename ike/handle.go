package ike

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/p2sgw/p2sgw/ike/message"
)

// Handle processes a datagram for this SA: any message after the IKE_SA_INIT request. It
// returns the datagram to send (nil for none) and what happened; see the package's error
// contract.
func (sa *SA) Handle(datagram []byte) ([]byte, Event, error) {
	resp, ev, err := sa.handle(datagram)
	if ev == EventEstablished {
		sa.handshakeDone()
	}
	return resp, ev, err
}

// handshakeDone lets go of what only the handshake needed: the IKE_SA_INIT messages and the
// nonces (signed in the AUTH payloads), the EAP and reassembly state. A gateway holds an SA per
// client for hours; these were a kilobyte or two of each.
func (sa *SA) handshakeDone() {
	sa.initReq, sa.initResp, sa.ni, sa.nr = nil, nil, nil, nil
	sa.eap, sa.reasm, sa.idi, sa.cookie, sa.ke = nil, nil, nil, nil, nil
}

func (sa *SA) handle(datagram []byte) ([]byte, Event, error) {
	h, err := message.DecodeHeader(datagram)
	if err != nil {
		return nil, EventNone, err
	}
	if sa.state == StateDeleted || sa.state == StateFailed {
		return nil, EventNone, fmt.Errorf("%w: the SA is %s", ErrUnexpected, sa.state)
	}
	if h.SPIi != sa.spiI || h.IsInitiator() == sa.initiator {
		return nil, EventNone, fmt.Errorf("%w: SPIs or I flag of another SA", ErrUnexpected)
	}
	if sa.initiator && sa.state == StateInitSent {
		return sa.handleInitResponse(datagram, h)
	}
	if h.SPIr != sa.spiR {
		return nil, EventNone, fmt.Errorf("%w: responder SPI %016x, want %016x", ErrUnexpected, h.SPIr, sa.spiR)
	}
	if h.IsResponse() {
		return sa.handleResponse(datagram, h)
	}
	return sa.handleRequest(datagram, h)
}

// handleRequest answers a request of the peer, or repeats our last answer if the request is
// a retransmission of the previous one (RFC 7296 §2.1: never process a request twice).
// ForgetResponse lets go of our answer to the peer's last request, kept to answer its
// retransmissions. Call it once the peer has long stopped retransmitting (a client gives up
// within minutes): an established SA may hear nothing for hours, and its IKE_AUTH answer
// carries our certificate. A retransmission that comes after all is then not answered.
func (sa *SA) ForgetResponse() { sa.lastResp, sa.lastExtra = nil, nil }

func (sa *SA) handleRequest(datagram []byte, h message.Header) ([]byte, Event, error) {
	sa.extra = nil
	switch {
	case h.MessageID+1 == sa.nextPeerID && sa.lastResp != nil:
		// A retransmission, if it is authentic: answer it again, not processing it twice. Of a
		// fragmented one, answer fragment 1 only (RFC 7383 §2.6.1).
		s, err := message.DecodeSealed(datagram)
		if err != nil {
			return nil, EventNone, err
		}
		if _, err := sa.recv.Open(nil, s.Body, datagram[:s.BodyOffset]); err != nil {
			return nil, EventNone, fmt.Errorf("ike: retransmission does not authenticate: %w", err)
		}
		if s.Fragment && s.FragmentNumber != 1 {
			return nil, EventNone, nil
		}
		sa.extra = sa.lastExtra
		return sa.lastResp, EventNone, nil
	case h.MessageID != sa.nextPeerID:
		return nil, EventNone, fmt.Errorf("%w: request with message ID %d, want %d", ErrUnexpected, h.MessageID, sa.nextPeerID)
	}
	_, ps, err := sa.open(datagram)
	if errors.Is(err, errIncomplete) {
		return nil, EventNone, nil
	}
	var malformed *malformedError
	if errors.As(err, &malformed) {
		return sa.answerMalformed(h, err)
	}
	if err != nil {
		return nil, EventNone, err
	}
	var resp []byte
	ev := EventNone
	switch {
	case h.Exchange == message.ExchangeIKEAuth && sa.isGateway() && sa.state == StateAuthWait:
		resp, ev, err = sa.handleAuthRequest(h, ps)
	case h.Exchange == message.ExchangeIKEAuth && sa.state == StateEAP:
		resp, ev, err = sa.handleEAP(h, ps)
	case sa.state == StateAuthWait || sa.state == StateEAP:
		return nil, EventNone, fmt.Errorf("%w: %s before IKE_AUTH", ErrUnexpected, h.Exchange)
	case h.Exchange == message.ExchangeInformational:
		resp, ev, err = sa.handleInformational(h, ps)
	case h.Exchange == message.ExchangeCreateChildSA:
		resp, ev, err = sa.handleCreateChild(h, ps)
	default:
		return nil, EventNone, fmt.Errorf("%w: %s request", ErrUnexpected, h.Exchange)
	}
	if resp != nil {
		sa.nextPeerID++
		sa.lastResp, sa.lastExtra = resp, sa.extra
	}
	return resp, ev, err
}

// handleInformational answers Delete and liveness checks (an empty INFORMATIONAL).
func (sa *SA) handleInformational(h message.Header, ps message.Payloads) ([]byte, Event, error) {
	var out []message.Payload
	ev := EventNone
	if n := ps.ErrorNotify(); n != nil {
		// The peer refuses the IKE SA after the fact (e.g. AUTHENTICATION_FAILED when it
		// does not accept our certificate): it is gone for it, so it is for us.
		sa.state, sa.Err = StateDeleted, &NotifyError{n.NotifyType, ErrRefused}
		resp, err := sa.seal(sa.header(message.ExchangeInformational, true, h.MessageID), nil)
		return resp, EventDeleted, err
	}
	if sa.mobike && ps.Notify(message.NotifyUpdateSAAddresses) != nil {
		// RFC 4555 §3.5: the client moved; the caller sends to the address this request came
		// from. COOKIE2 is echoed (§3.8).
		ev = EventAddressUpdate
		if ps.Notify(message.NotifyNATDetectionSourceIP) != nil {
			// As in IKE_SA_INIT: the client is told it is behind NAT, so ESP stays in UDP.
			none := natHash(sa.spiI, sa.spiR, netip.AddrPortFrom(netip.IPv4Unspecified(), 0))
			out = append(out,
				&message.Notify{NotifyType: message.NotifyNATDetectionSourceIP, Data: none},
				&message.Notify{NotifyType: message.NotifyNATDetectionDestinationIP, Data: none})
		}
		if c2 := ps.Notify(message.NotifyCookie2); c2 != nil {
			out = append(out, &message.Notify{NotifyType: message.NotifyCookie2, Data: c2.Data})
		}
	}
	for _, p := range ps.FindAll(message.PayloadDelete) {
		d := p.(*message.Delete)
		switch d.Protocol {
		case message.ProtocolIKE:
			sa.state = StateDeleted
			ev = EventDeleted
		case message.ProtocolESP:
			switch {
			case sa.OldChild != nil && containsSPI(d.SPIs, sa.OldChild.OutSPI):
				// The end of a rekey: the peer retires the old CHILD SA.
				out = append(out, &message.Delete{Protocol: message.ProtocolESP, SPIs: []uint32{sa.OldChild.InSPI}})
				if ev == EventNone {
					ev = EventOldChildDeleted
				}
			case sa.Child != nil && containsSPI(d.SPIs, sa.Child.OutSPI):
				out = append(out, &message.Delete{Protocol: message.ProtocolESP, SPIs: []uint32{sa.Child.InSPI}})
				if ev == EventNone || ev == EventOldChildDeleted {
					ev = EventChildDeleted
				}
			}
		}
	}
	if ev == EventDeleted {
		out = nil // the answer to an IKE SA Delete is empty (RFC 7296 §1.4.1)
	}
	resp, err := sa.seal(sa.header(message.ExchangeInformational, true, h.MessageID), out)
	return resp, ev, err
}

// handleResponse takes the answer to our last request.
func (sa *SA) handleResponse(datagram []byte, h message.Header) ([]byte, Event, error) {
	if h.MessageID+1 != sa.nextOwnID {
		return nil, EventNone, fmt.Errorf("%w: response with message ID %d, our last request was %d", ErrUnexpected, h.MessageID, sa.nextOwnID-1)
	}
	_, ps, err := sa.open(datagram)
	if err != nil {
		return nil, EventNone, err
	}
	sa.awaiting = false
	switch {
	case !sa.isGateway() && sa.state == StateAuthWait && h.Exchange == message.ExchangeIKEAuth:
		return sa.handleAuthResponse(ps)
	case sa.state == StateDeleting:
		sa.state = StateDeleted
		return nil, EventDeleted, nil
	case h.Exchange == message.ExchangeCreateChildSA && sa.pendingRekey != nil:
		return sa.handleRekeyResponse(ps)
	case h.Exchange == message.ExchangeCreateChildSA && sa.pendingIKE != nil:
		return sa.handleIKERekeyResponse(ps)
	case sa.OldChild != nil && h.Exchange == message.ExchangeInformational:
		// The answer to our Delete of the CHILD SA a rekey replaced (DeleteOldChild).
		for _, p := range ps.FindAll(message.PayloadDelete) {
			if d := p.(*message.Delete); d.Protocol == message.ProtocolESP && containsSPI(d.SPIs, sa.OldChild.OutSPI) {
				return nil, EventOldChildDeleted, nil
			}
		}
	}
	return nil, EventNone, nil
}

// Delete returns an INFORMATIONAL request deleting the IKE SA (and its CHILD SA with it). The
// SA is DELETING until the answer comes; the caller may give up waiting and drop it.
func (sa *SA) Delete() ([]byte, error) {
	req, err := sa.request(message.ExchangeInformational, []message.Payload{&message.Delete{Protocol: message.ProtocolIKE}})
	if err != nil {
		return nil, err
	}
	sa.state = StateDeleting
	return req, nil
}

// Abandon returns an INFORMATIONAL request deleting an IKE SA the gateway refused after the
// client authenticated (a CHILD SA refused in IKE_AUTH, RFC 7296 §1.2, such as a full pool or a
// connection limit): the client holds that IKE SA, the gateway does not keep it, and without
// the Delete the client would go on using it. nil if the client holds no such SA.
func (sa *SA) Abandon() []byte {
	if !sa.authSent {
		return nil
	}
	req, err := sa.seal(sa.header(message.ExchangeInformational, false, sa.nextOwnID), []message.Payload{&message.Delete{Protocol: message.ProtocolIKE}})
	if err != nil {
		return nil
	}
	sa.nextOwnID++
	sa.authSent = false
	sa.state, sa.awaiting = StateDeleting, true // its answer ends the SA (EventDeleted)
	return req
}

// Liveness returns an empty INFORMATIONAL request (dead peer detection).
func (sa *SA) Liveness() ([]byte, error) {
	return sa.request(message.ExchangeInformational, nil)
}

// MOBIKE reports whether both sides announced MOBIKE (RFC 4555), so UpdateAddresses may be used.
func (sa *SA) MOBIKE() bool { return sa.mobike }

// UpdateAddresses returns an INFORMATIONAL request that tells the peer we moved to local (RFC
// 4555 §3.5: UPDATE_SA_ADDRESSES with NAT detection for the new path to remote). The caller
// sends it from the new address; the peer then sends to where it came from. It needs MOBIKE.
func (sa *SA) UpdateAddresses(local, remote netip.AddrPort) ([]byte, error) {
	if !sa.mobike {
		return nil, fmt.Errorf("%w: the peer did not announce MOBIKE", ErrUnexpected)
	}
	return sa.request(message.ExchangeInformational, []message.Payload{
		&message.Notify{NotifyType: message.NotifyUpdateSAAddresses},
		&message.Notify{NotifyType: message.NotifyNATDetectionSourceIP, Data: natHash(sa.spiI, sa.spiR, local)},
		&message.Notify{NotifyType: message.NotifyNATDetectionDestinationIP, Data: natHash(sa.spiI, sa.spiR, remote)},
	})
}

// request builds our next request with a fresh message ID.
func (sa *SA) request(ex message.ExchangeType, ps []message.Payload) ([]byte, error) {
	if sa.state != StateEstablished {
		return nil, fmt.Errorf("%w: request in state %s", ErrUnexpected, sa.state)
	}
	req, err := sa.seal(sa.header(ex, false, sa.nextOwnID), ps)
	if err != nil {
		return nil, err
	}
	sa.nextOwnID++
	sa.awaiting = true
	return req, nil
}

func containsSPI(spis []uint32, spi uint32) bool {
	for _, s := range spis {
		if s == spi {
			return true
		}
	}
	return false
}

// answerMalformed answers an authentic request whose payloads do not decode: with
// UNSUPPORTED_CRITICAL_PAYLOAD (naming the payload type) or INVALID_SYNTAX. The request counts
// as answered; the SA stays.
func (sa *SA) answerMalformed(h message.Header, err error) ([]byte, Event, error) {
	n := &message.Notify{NotifyType: message.NotifyInvalidSyntax}
	var uc *message.UnsupportedCriticalError
	if errors.As(err, &uc) {
		n = &message.Notify{NotifyType: message.NotifyUnsupportedCriticalPayload, Data: []byte{byte(uc.Type)}}
	}
	resp, serr := sa.seal(sa.header(h.Exchange, true, h.MessageID), []message.Payload{n})
	if serr != nil {
		return nil, EventNone, serr
	}
	sa.nextPeerID++
	sa.lastResp, sa.lastExtra = resp, nil
	return resp, EventNone, err
}

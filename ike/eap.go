package ike

import (
	"crypto/hmac"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/p2sgw/p2sgw/eap"
	"github.com/p2sgw/p2sgw/ike/message"
	"github.com/p2sgw/p2sgw/ike/transform"
)

// EAP inside IKEv2 (RFC 7296 §2.16), the gateway being the EAP authenticator: it terminates
// EAP-TLS itself (Windows' certificate profile), or relays the conversation to a RADIUS server
// (organisation credentials: EAP-MSCHAPv2, or EAP-TLS and PEAP that the RADIUS server runs).
//
//	IKE_AUTH { IDi, [IDr], SA, TSi, TSr, CP } -->         (no AUTH: the client wants EAP)
//	     <-- { IDr, CERT, AUTH, EAP(Request/Identity) }
//	IKE_AUTH { EAP(Response/Identity) } -->
//	     <-- { EAP(Request/EAP-TLS Start) }               (or the RADIUS server's first request)
//	… EAP rounds …
//	     <-- { EAP(Success) }
//	IKE_AUTH { AUTH } -->                                  (keyed with the EAP MSK)
//	     <-- { AUTH, CP, SA, TSi, TSr }
//
// With both on, EAP-TLS is offered first; a client that answers with a Nak (it wants another
// method) is handed to RADIUS, which starts again from the client's identity.

// eapState is the EAP part of a responder's IKE_AUTH.
type eapState struct {
	first    message.Payloads // the first IKE_AUTH request: IDi, SA, TSi, TSr, CP
	idi      []byte           // IDi's body, for the final AUTH
	idr      []byte           // the IDr body we sent, for our final AUTH
	id       uint8            // the identifier of our last EAP request
	identity []byte           // the client's EAP Response/Identity, for the relay
	user     string           // the EAP identity
	tls      *eap.TLSServer   // EAP-TLS terminated here
	relay    EAPRelay         // or EAP relayed to RADIUS
	name     string           // the client: as its certificate names it, or its EAP identity
	method   string           // "eap-tls" or "radius"
	leaf     *x509.Certificate
	inter    []*x509.Certificate
	msk      []byte
	grant    *Grant
	authErr  error // why the client's certificate was refused, from inside TLS
}

// maxIdentity bounds the EAP identity we take (a user name or an NAI; RADIUS's User-Name holds
// 253 octets).
const maxIdentity = 253

// startEAP answers an IKE_AUTH without AUTH: our identity and AUTH, and an EAP Identity request
// (Windows expects the EAP exchange to begin with it).
func (sa *SA) startEAP(h message.Header, ps message.Payloads) ([]byte, Event, error) {
	idi := ps.Find(message.PayloadIDi).(*message.IDi)
	if ps.Find(message.PayloadSA) == nil || ps.Find(message.PayloadTSr) == nil {
		return sa.eapFail(h, fmt.Errorf("%w: EAP without SA or TSr in the first IKE_AUTH", ErrUnexpected))
	}
	out, err := sa.authPayloads(ps.Find(message.PayloadIDr))
	if err != nil {
		return sa.eapFail(h, err)
	}
	idiBody, _ := idi.AppendBody(nil)
	idrBody, _ := out[0].(*message.IDr).AppendBody(nil)
	sa.eap = &eapState{first: ps, idi: idiBody, idr: idrBody, id: 1}
	req := eap.Packet{Code: eap.CodeRequest, Identifier: 1, Type: eap.TypeIdentity}
	out = append(out, &message.EAP{Data: req.Bytes()})
	resp, err := sa.seal(sa.header(message.ExchangeIKEAuth, true, h.MessageID), out)
	if err != nil {
		return nil, EventNone, err
	}
	sa.state = StateEAP
	return resp, EventNone, nil
}

// handleEAP runs one EAP round, or, after EAP Success, checks the client's MSK-keyed AUTH and
// finishes IKE_AUTH.
func (sa *SA) handleEAP(h message.Header, ps message.Payloads) ([]byte, Event, error) {
	e := sa.eap
	if authP, _ := ps.Find(message.PayloadAuth).(*message.Auth); authP != nil {
		return sa.finishEAP(h, e, authP)
	}
	ep, _ := ps.Find(message.PayloadEAP).(*message.EAP)
	if ep == nil {
		return sa.eapFail(h, fmt.Errorf("%w: IKE_AUTH round without EAP", ErrUnexpected))
	}
	pkt, err := eap.Parse(ep.Data)
	if err != nil {
		return sa.eapFail(h, err)
	}
	var next eap.Packet
	switch {
	case e.tls == nil && e.relay == nil:
		if pkt.Code != eap.CodeResponse || pkt.Type != eap.TypeIdentity || pkt.Identifier != e.id {
			return sa.eapFail(h, fmt.Errorf("%w: expected the EAP identity", ErrUnexpected))
		}
		if len(pkt.Data) == 0 || len(pkt.Data) > maxIdentity || !utf8.Valid(pkt.Data) {
			return sa.eapFail(h, fmt.Errorf("%w: an EAP identity of %d octets that is not a name", ErrAuthFailed, len(pkt.Data)))
		}
		e.identity, e.user = ep.Data, string(pkt.Data)
		sa.claimed = e.user
		if sa.resp.EAPTLS == nil {
			e.relay = sa.resp.RelayEAP(e.user, sa.remote)
			return sa.relayEAP(h, e, e.identity)
		}
		e.tls = eap.NewTLSServer(sa.eapTLSConfig(e))
		e.id++
		next = e.tls.Start(e.id)
	case e.relay != nil:
		return sa.relayEAP(h, e, ep.Data)
	case pkt.Code == eap.CodeResponse && pkt.Type == eap.TypeNak && pkt.Identifier == e.id && sa.resp.RelayEAP != nil:
		// The client wants another method than EAP-TLS: the RADIUS server's.
		e.tls.Close()
		e.tls = nil
		e.relay = sa.resp.RelayEAP(e.user, sa.remote)
		return sa.relayEAP(h, e, e.identity)
	default:
		next, err = e.tls.Next(pkt)
		if err != nil {
			if e.authErr != nil {
				return sa.eapFailWith(h, next, e.authErr) // the policy's reason, not TLS's
			}
			return sa.eapFailWith(h, next, fmt.Errorf("%w: EAP-TLS: %w", ErrAuthFailed, err))
		}
		e.id = next.Identifier
		if next.Code == eap.CodeSuccess {
			e.msk, e.method = e.tls.MSK, "eap-tls"
		}
	}
	resp, err := sa.seal(sa.header(message.ExchangeIKEAuth, true, h.MessageID), []message.Payload{&message.EAP{Data: next.Bytes()}})
	return resp, EventNone, err
}

// relayEAP passes one EAP packet of the client to the authentication server and its answer
// back: the next request, or the Success or Failure that ends EAP.
func (sa *SA) relayEAP(h message.Header, e *eapState, packet []byte) ([]byte, Event, error) {
	ans, err := e.relay.Exchange(packet)
	if err != nil {
		return sa.eapFail(h, fmt.Errorf("%w: %s: %w", ErrAuthFailed, e.user, err))
	}
	var out eap.Packet
	if ans.Packet != nil {
		if out, err = eap.Parse(ans.Packet); err != nil {
			return sa.eapFail(h, fmt.Errorf("%w: %s: the authentication server's EAP packet: %w", ErrAuthFailed, e.user, err))
		}
	}
	switch ans.Verdict {
	case EAPContinue:
		if out.Code != eap.CodeRequest {
			return sa.eapFail(h, fmt.Errorf("%w: %s: the authentication server went on with EAP code %d, not a request", ErrAuthFailed, e.user, out.Code))
		}
		e.id = out.Identifier
	case EAPAccept:
		if len(ans.MSK) == 0 {
			return sa.eapFail(h, fmt.Errorf("%w: %s: accepted, but with no key (MS-MPPE keys) to protect IKE with: use a key-generating EAP method such as EAP-MSCHAPv2, EAP-TLS or PEAP", ErrAuthFailed, e.user))
		}
		if ans.Packet == nil {
			out = eap.Packet{Code: eap.CodeSuccess, Identifier: e.id}
		}
		if out.Code != eap.CodeSuccess {
			return sa.eapFail(h, fmt.Errorf("%w: %s: accepted with EAP code %d, not Success", ErrAuthFailed, e.user, out.Code))
		}
		e.msk, e.grant, e.name, e.method = ans.MSK, ans.Grant, e.user, "radius"
	default:
		reason := "no reason given"
		if ans.Reason != "" {
			reason = strconv.Quote(ans.Reason)
		}
		if ans.Packet == nil || out.Code != eap.CodeFailure {
			out = eap.Packet{Code: eap.CodeFailure, Identifier: e.id}
		}
		return sa.eapFailWith(h, out, fmt.Errorf("%w: %s: rejected by the authentication server: %s", ErrAuthFailed, e.user, reason))
	}
	resp, err := sa.seal(sa.header(message.ExchangeIKEAuth, true, h.MessageID), []message.Payload{&message.EAP{Data: out.Bytes()}})
	return resp, EventNone, err
}

// eapTLSConfig is the gateway's TLS configuration for one client: its certificate is checked by
// the same policy as IKEv2 certificate authentication, inside the handshake.
func (sa *SA) eapTLSConfig(e *eapState) *tls.Config {
	cfg := sa.resp.EAPTLS.Clone()
	cfg.ClientAuth = tls.RequireAnyClientCert
	cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
		certs, err := eap.PeerCertificates(raw)
		if err != nil {
			return err
		}
		name, err := sa.resp.Authenticate(certs[0], certs[1:])
		if err != nil {
			e.authErr = fmt.Errorf("%w: %w", ErrAuthFailed, err)
			return err
		}
		e.name, e.leaf, e.inter = name, certs[0], certs[1:]
		return nil
	}
	return cfg
}

// finishEAP checks the client's AUTH keyed with the MSK and completes IKE_AUTH.
func (sa *SA) finishEAP(h message.Header, e *eapState, authP *message.Auth) ([]byte, Event, error) {
	if e.msk == nil {
		return sa.eapFail(h, fmt.Errorf("%w: AUTH before EAP succeeded", ErrAuthFailed))
	}
	octets := transform.SignedOctets(sa.prf, sa.keys.SKpi, sa.initReq, sa.nr, e.idi)
	if authP.Method != message.AuthPSK || !hmac.Equal(authP.Data, transform.SharedKeyAuth(sa.prf, e.msk, octets)) {
		return sa.eapFail(h, fmt.Errorf("%w: %s: the AUTH keyed with the EAP MSK does not verify", ErrAuthFailed, e.name))
	}
	child, lease, errNotify, err := sa.negotiateChild(e.first, e.name, e.grant)
	if err != nil {
		sa.Lease = lease
		sa.state, sa.Err = StateFailed, err
		resp, _ := sa.seal(sa.header(message.ExchangeIKEAuth, true, h.MessageID), []message.Payload{&message.Notify{NotifyType: errNotify}})
		return resp, EventFailed, err
	}
	ours := transform.SignedOctets(sa.prf, sa.keys.SKpr, sa.initResp, sa.ni, e.idr)
	out := []message.Payload{
		&message.Auth{Method: message.AuthPSK, Data: transform.SharedKeyAuth(sa.prf, e.msk, ours)},
		cpReply(lease), toSA(child.selected),
		&message.TSi{Selectors: child.sa.TSi}, &message.TSr{Selectors: child.sa.TSr},
	}
	if e.first.Notify(message.NotifyMOBIKESupported) != nil {
		out = append(out, &message.Notify{NotifyType: message.NotifyMOBIKESupported})
		sa.mobike = true
	}
	resp, err := sa.seal(sa.header(message.ExchangeIKEAuth, true, h.MessageID), out)
	if err != nil {
		return nil, EventNone, err
	}
	sa.state, sa.Peer, sa.Lease, sa.Child, sa.Established = StateEstablished, e.name, lease, child.sa, sa.now()
	sa.AuthMethod, sa.Grant = e.method, e.grant
	if e.leaf != nil {
		sa.PeerCerts = certDER(e.leaf, e.inter)
	}
	sa.eap = nil
	return resp, EventEstablished, nil
}

func (sa *SA) eapFail(h message.Header, err error) ([]byte, Event, error) {
	id := uint8(0)
	if sa.eap != nil {
		id = sa.eap.id + 1
	}
	return sa.eapFailWith(h, eap.Packet{Code: eap.CodeFailure, Identifier: id}, err)
}

// eapFailWith ends IKE_AUTH with an EAP Failure (and AUTHENTICATION_FAILED).
func (sa *SA) eapFailWith(h message.Header, failure eap.Packet, err error) ([]byte, Event, error) {
	if sa.eap != nil && sa.eap.tls != nil {
		sa.eap.tls.Close()
	}
	sa.state, sa.Err = StateFailed, err
	resp, _ := sa.seal(sa.header(message.ExchangeIKEAuth, true, h.MessageID), []message.Payload{
		&message.EAP{Data: failure.Bytes()}, &message.Notify{NotifyType: message.NotifyAuthenticationFailed},
	})
	return resp, EventFailed, err
}

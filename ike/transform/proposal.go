package transform

import (
	"fmt"
	"slices"
	"strings"
)

// Transform mirrors one Transform substructure (RFC 7296 §3.3.2). KeyLen is the Key Length
// attribute in bits, zero when the attribute is absent; a transform carrying any other
// attribute must be dropped by the codec before it gets here, as RFC 7296 §3.3.6 tells a
// responder to treat such a transform as unknown.
type Transform struct {
	Type   TransformType
	ID     uint16
	KeyLen uint16
}

// Transform returns id as an ENCR transform with a Key Length attribute of keyLen bits.
func (id EncrID) Transform(keyLen uint16) Transform {
	return Transform{Type: TypeENCR, ID: uint16(id), KeyLen: keyLen}
}

// Transform returns id as a PRF transform.
func (id PRFID) Transform() Transform { return Transform{Type: TypePRF, ID: uint16(id)} }

// Transform returns id as an INTEG transform.
func (id IntegID) Transform() Transform { return Transform{Type: TypeINTEG, ID: uint16(id)} }

// Transform returns g as a DH transform.
func (g DHGroup) Transform() Transform { return Transform{Type: TypeDH, ID: uint16(g)} }

// Transform returns e as an ESN transform.
func (e ESN) Transform() Transform { return Transform{Type: TypeESN, ID: uint16(e)} }

// String returns IANA's name of the transform, with the key length appended to an ENCR
// transform that has one ("ENCR_AES_CBC_256").
func (t Transform) String() string {
	var s string
	switch t.Type {
	case TypeENCR:
		s = EncrID(t.ID).String()
	case TypePRF:
		s = PRFID(t.ID).String()
	case TypeINTEG:
		s = IntegID(t.ID).String()
	case TypeDH:
		s = DHGroup(t.ID).String()
	case TypeESN:
		s = ESN(t.ID).String()
	default:
		s = fmt.Sprintf("%s:%d", t.Type, t.ID)
	}
	if t.KeyLen != 0 {
		s = fmt.Sprintf("%s_%d", s, t.KeyLen)
	}
	return s
}

// Proposal mirrors one Proposal substructure (RFC 7296 §3.3.1). Transforms of the same type are
// alternatives, transforms of different types are all required, and their order is the
// proposer's preference. SPI is empty for an IKE SA in IKE_SA_INIT, eight octets for an IKE SA
// being rekeyed and four octets for ESP.
type Proposal struct {
	Number     uint8
	Protocol   Protocol
	SPI        []byte
	Transforms []Transform
}

// String returns the proposal in a form for logs: "1:IKE[ENCR_AES_GCM_16_256 …]".
func (p Proposal) String() string {
	names := make([]string, len(p.Transforms))
	for i, t := range p.Transforms {
		names[i] = t.String()
	}
	return fmt.Sprintf("%d:%s[%s]", p.Number, p.Protocol, strings.Join(names, " "))
}

// Clone returns a deep copy of p.
func (p Proposal) Clone() Proposal {
	p.SPI = slices.Clone(p.SPI)
	p.Transforms = slices.Clone(p.Transforms)
	return p
}

// Offer is a peer's SA payload with the key exchange that came beside it.
type Offer struct {
	// Proposals are the peer's proposals in the order it sent them.
	Proposals []Proposal
	// KE is the group of the KE payload in the same message, DHNone if it had none.
	KE DHGroup
	// IKEAuth marks the CHILD SA negotiated inside IKE_AUTH. That exchange has no KE payload,
	// so any DH transforms in the peer's ESP proposals are ignored and the suite has no DH
	// (RFC 7296 §1.2 tells the initiator to leave them out; strongSwan ignores them too).
	IKEAuth bool
}

// Selection is the outcome of Select.
type Selection struct {
	// Proposal is the peer's proposal reduced to the chosen transform of each type, with the
	// peer's proposal number and SPI: the responder answers with exactly this proposal, its
	// own SPI put in place of the peer's (RFC 7296 §2.7, §3.3). INTEG NONE, DH NONE are left
	// out; an ESP proposal always carries its ESN transform.
	Proposal Proposal
	// Suite is what the chosen transforms mean.
	Suite Suite
}

// Select is responder proposal selection. It returns the first proposal in offer that one of
// ours accepts, with the peer's order deciding between alternatives inside it too: the
// strongSwan default. Our order matters only to say which of our proposals a combination must
// come from: the transforms chosen always come from a single one of ours, so our proposals can
// pair AES-GCM with some groups and AES-CBC with others.
//
// With legacy set, the legacy compat set (LegacyIKEProposals, LegacyESPProposals) is
// considered after ours, and only then may a legacy algorithm (MODP_1024, AUTH_HMAC_SHA1_96,
// PRF_HMAC_SHA1) be chosen at all, even one that ours lists.
//
// The key exchange: inside the chosen proposal the group of the peer's KE payload is
// preferred, if both sides accept it with the rest of the proposal. If the proposal is
// acceptable only with another group, or needs a group and the peer sent no KE, Select returns
// an *InvalidKEError with the first group acceptable in the peer's order, for an
// INVALID_KE_PAYLOAD answer; choosing DH NONE (a CHILD SA without PFS) ignores any KE, as RFC
// 7296 §1.3 allows. A proposal that accepts the KE group is preferred to an earlier one of
// ours that would need a retry, but never to an earlier proposal of the peer's.
//
// A proposal is skipped, never the whole offer refused, when its protocol is not ours, when it
// holds a transform type its protocol does not have (RFC 7296 §3.3.6), or when it lacks ENCR,
// or PRF or DH for IKE. An AES transform without a Key Length attribute is never acceptable.
// A missing ESN transform in an ESP proposal counts as "no ESN", a missing INTEG as NONE
// (allowed with an AEAD cipher only, which ignores INTEG transforms offered beside it, RFC
// 5282 §8), a missing DH in an ESP proposal as NONE.
//
// An initiator checks the responder's answer the same way: Select the one returned proposal
// against the proposals it sent.
//
// Select returns ErrNoProposalChosen when no proposal is acceptable.
func Select(offer Offer, ours []Proposal, legacy bool) (Selection, error) {
	policy := ours
	if legacy {
		policy = slices.Concat(ours, legacyIKE, legacyESP)
	}
	for _, offered := range offer.Proposals {
		var retry *Selection
		for _, our := range policy {
			sel, ok := match(offered, our, offer, legacy)
			if !ok {
				continue
			}
			if sel.Suite.DH == DHNone || sel.Suite.DH == offer.KE {
				return sel, nil
			}
			if retry == nil {
				retry = &sel
			}
		}
		if retry != nil {
			return Selection{}, &InvalidKEError{Group: retry.Suite.DH}
		}
	}
	return Selection{}, ErrNoProposalChosen
}

// typesOf lists the transform types each protocol has (RFC 7296 §3.3.3).
var typesOf = map[Protocol][]TransformType{
	ProtocolIKE: {TypeENCR, TypePRF, TypeINTEG, TypeDH},
	ProtocolESP: {TypeENCR, TypeINTEG, TypeDH, TypeESN},
}

// match tries to choose, from the peer's proposal offered, one transform of each type that
// our proposal also lists.
func match(offered, our Proposal, offer Offer, legacy bool) (Selection, bool) {
	types, ok := typesOf[offered.Protocol]
	if !ok || offered.Protocol != our.Protocol {
		return Selection{}, false
	}
	for _, t := range offered.Transforms {
		if !slices.Contains(types, t.Type) {
			return Selection{}, false
		}
	}
	accept := func(t Transform) bool {
		return Supported(t, legacy) && slices.Contains(transformsOf(our, t.Type), t)
	}
	s := Suite{Protocol: offered.Protocol}
	if !chooseCipher(&s, offered, accept) {
		return Selection{}, false
	}
	if s.Protocol == ProtocolIKE {
		prf, ok := first(transformsOf(offered, TypePRF), accept)
		if !ok {
			return Selection{}, false
		}
		s.PRF = PRFID(prf.ID)
	}
	if !offer.IKEAuth || s.Protocol == ProtocolIKE {
		dh, ok := chooseGroup(offered, offer.KE, accept)
		if !ok {
			return Selection{}, false
		}
		s.DH = dh
	}
	if s.Protocol == ProtocolESP {
		esn, ok := first(transformsOf(offered, TypeESN), accept)
		if !ok {
			return Selection{}, false
		}
		s.ESN = ESN(esn.ID)
	}
	return Selection{Proposal: answer(offered, s), Suite: s}, true
}

// chooseCipher picks the first acceptable ENCR transform that has an acceptable INTEG partner
// (none for an AEAD).
func chooseCipher(s *Suite, offered Proposal, accept func(Transform) bool) bool {
	for _, e := range transformsOf(offered, TypeENCR) {
		if !accept(e) {
			continue
		}
		if encrAlgs[EncrID(e.ID)].aead {
			s.Encr, s.KeyLen, s.Integ = EncrID(e.ID), e.KeyLen, IntegNone
			return true
		}
		integ, ok := first(transformsOf(offered, TypeINTEG), func(t Transform) bool {
			return IntegID(t.ID) != IntegNone && accept(t)
		})
		if ok {
			s.Encr, s.KeyLen, s.Integ = EncrID(e.ID), e.KeyLen, IntegID(integ.ID)
			return true
		}
	}
	return false
}

// chooseGroup picks the DH transform: the KE group if acceptable, else the first acceptable in
// the peer's order. NONE is acceptable only for ESP (and only if both sides list it or leave
// DH out).
func chooseGroup(offered Proposal, ke DHGroup, accept func(Transform) bool) (DHGroup, bool) {
	ok := func(t Transform) bool {
		return accept(t) && (DHGroup(t.ID) != DHNone || offered.Protocol == ProtocolESP)
	}
	groups := transformsOf(offered, TypeDH)
	if kt := ke.Transform(); ke != DHNone && slices.Contains(groups, kt) && ok(kt) {
		return ke, true
	}
	t, found := first(groups, ok)
	return DHGroup(t.ID), found
}

// transformsOf returns p's transforms of type typ, in order. Where the protocol allows the type
// to be left out, a proposal without it is read as listing the "nothing" value: INTEG NONE,
// DH NONE for ESP, NO_ESN.
func transformsOf(p Proposal, typ TransformType) []Transform {
	var ts []Transform
	for _, t := range p.Transforms {
		if t.Type == typ {
			ts = append(ts, t)
		}
	}
	if len(ts) > 0 {
		return ts
	}
	switch {
	case typ == TypeINTEG:
		return []Transform{IntegNone.Transform()}
	case typ == TypeDH && p.Protocol == ProtocolESP:
		return []Transform{DHNone.Transform()}
	case typ == TypeESN && p.Protocol == ProtocolESP:
		return []Transform{ESNNo.Transform()}
	}
	return nil
}

func first(ts []Transform, ok func(Transform) bool) (Transform, bool) {
	for _, t := range ts {
		if ok(t) {
			return t, true
		}
	}
	return Transform{}, false
}

// answer builds the responder's proposal for suite s chosen from the peer's proposal offered.
func answer(offered Proposal, s Suite) Proposal {
	return s.Proposal(offered.Number, offered.SPI)
}

// Proposal returns s as a proposal of exactly its transforms: what a responder answers with,
// or what a peer offers to keep the algorithms it has (an IKE SA rekey).
func (s Suite) Proposal(number uint8, spi []byte) Proposal {
	p := Proposal{Number: number, Protocol: s.Protocol, SPI: slices.Clone(spi)}
	p.Transforms = append(p.Transforms, s.Encr.Transform(s.KeyLen))
	if s.Protocol == ProtocolIKE {
		p.Transforms = append(p.Transforms, s.PRF.Transform())
	}
	if s.Integ != IntegNone {
		p.Transforms = append(p.Transforms, s.Integ.Transform())
	}
	if s.DH != DHNone {
		p.Transforms = append(p.Transforms, s.DH.Transform())
	}
	if s.Protocol == ProtocolESP {
		p.Transforms = append(p.Transforms, s.ESN.Transform())
	}
	return p
}

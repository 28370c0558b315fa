package message

import (
	"encoding/binary"
	"fmt"
)

// The SA payload (RFC 7296 §3.3) is a list of proposals; each proposal (Figure 7) holds
// transforms (Figure 8), and each transform holds attributes (Figure 9).
//
// Proposal substructure:
//
//	                     1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Last Substruc |   RESERVED    |         Proposal Length       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	~                        SPI (variable)                         ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	~                        <Transforms>                           ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Transform substructure:
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Last Substruc |   RESERVED    |        Transform Length       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Transform Type |   RESERVED    |          Transform ID         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	~                      Transform Attributes                     ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Data attribute:
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|A|       Attribute Type        |    AF=0  Attribute Length     |
//	|F|                             |    AF=1  Attribute Value      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                   AF=0  Attribute Value                       |
//	|                   AF=1  Not Transmitted                       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Last Substruc is 0 on the last proposal (transform) and 2 (3) on every other one. Proposal
// numbers start at 1 and grow by one in a request; a response carries the one chosen proposal
// with its number from the request, so the decoder only insists that numbers are consecutive
// and not zero. The SPI is empty for IKE in IKE_SA_INIT, 8 bytes for IKE in a CREATE_CHILD_SA
// rekey, and 4 bytes for AH and ESP.

const (
	proposalHeaderLen  = 8
	transformHeaderLen = 8
	attributeHeaderLen = 4
	tvValueLen         = 2
	moreProposals      = 2
	moreTransforms     = 3
	lastSubstructure   = 0
	attributeTV        = 0x8000 // the AF bit: type/value format
	ikeRekeySPILen     = 8
	childSPILen        = 4
)

// SA is a Security Association payload: the proposals, most preferred first.
type SA struct {
	Proposals []Proposal
}

// Proposal is one proposal substructure.
type Proposal struct {
	Number     uint8 // from 1; in a response, the number of the chosen proposal
	Protocol   ProtocolID
	SPI        []byte // see the SPI sizes above
	Transforms []Transform
}

// Transform is one transform substructure.
type Transform struct {
	Type       TransformType
	ID         uint16 // named by package ike/transform
	Attributes []Attribute
}

// Attribute is a transform attribute.
type Attribute struct {
	Type AttributeType // 15 bits
	// TV selects the type/value format (AF=1), whose value is exactly 2 bytes; otherwise the
	// attribute is sent type/length/value.
	TV    bool
	Value []byte
}

// KeyLengthAttribute returns the Key Length attribute for a key of the given bits.
func KeyLengthAttribute(bits uint16) Attribute {
	return Attribute{Type: AttrKeyLength, TV: true, Value: binary.BigEndian.AppendUint16(nil, bits)}
}

// KeyLength returns the transform's Key Length attribute in bits, and whether it has one.
func (t *Transform) KeyLength() (bits uint16, ok bool) {
	for _, a := range t.Attributes {
		if a.Type == AttrKeyLength && len(a.Value) == tvValueLen {
			return binary.BigEndian.Uint16(a.Value), true
		}
	}
	return 0, false
}

func (*SA) Type() PayloadType { return PayloadSA }

func decodeSA(b []byte) (*SA, error) {
	sa := &SA{}
	for i := 0; len(b) > 0; i++ {
		if i == MaxProposals {
			return nil, fmt.Errorf("more than %d proposals: %w", MaxProposals, ErrTooMany)
		}
		n, err := substructureLen(b, proposalHeaderLen)
		if err != nil {
			return nil, fmt.Errorf("proposal %d: %w", i+1, err)
		}
		p, err := decodeProposal(b[:n])
		if err != nil {
			return nil, fmt.Errorf("proposal %d: %w", i+1, err)
		}
		if err := checkMarker(b[0], n == len(b), moreProposals); err != nil {
			return nil, fmt.Errorf("proposal %d: %w", i+1, err)
		}
		sa.Proposals = append(sa.Proposals, p)
		b = b[n:]
	}
	if err := checkProposals(sa.Proposals); err != nil {
		return nil, err
	}
	return sa, nil
}

// substructureLen reads the 16-bit length at b[2:4] of a proposal or transform and checks it
// against its fixed part and the bytes that enclose it.
func substructureLen(b []byte, fixed int) (int, error) {
	if len(b) < fixed {
		return 0, fmt.Errorf("header: %w", ErrTruncated)
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n < fixed {
		return 0, fmt.Errorf("length %d: %w", n, ErrBadLength)
	}
	if n > len(b) {
		return 0, fmt.Errorf("length %d, %d bytes left: %w", n, len(b), ErrTruncated)
	}
	return n, nil
}

// checkMarker checks a Last Substruc field: 0 on the last one, more on the others.
func checkMarker(marker byte, last bool, more byte) error {
	want := more
	if last {
		want = lastSubstructure
	}
	if marker != want {
		return fmt.Errorf("last-substructure marker %d, want %d: %w", marker, want, ErrSyntax)
	}
	return nil
}

// checkProposals holds the rules on the proposal list that both directions share.
func checkProposals(ps []Proposal) error {
	if len(ps) == 0 {
		return fmt.Errorf("no proposal: %w", ErrSyntax)
	}
	if len(ps) > MaxProposals {
		return fmt.Errorf("%d proposals, limit %d: %w", len(ps), MaxProposals, ErrTooMany)
	}
	for i, p := range ps {
		if p.Number == 0 || i > 0 && p.Number != ps[i-1].Number+1 {
			return fmt.Errorf("proposal %d numbered %d: numbers start at 1 and grow by one: %w", i+1, p.Number, ErrSyntax)
		}
	}
	return nil
}

func decodeProposal(b []byte) (Proposal, error) {
	p := Proposal{Number: b[4], Protocol: ProtocolID(b[5])}
	spiLen, count := int(b[6]), int(b[7])
	if err := checkSPILen(p.Protocol, spiLen); err != nil {
		return Proposal{}, err
	}
	b = b[proposalHeaderLen:]
	if len(b) < spiLen {
		return Proposal{}, fmt.Errorf("SPI of %d bytes: %w", spiLen, ErrTruncated)
	}
	p.SPI, b = clip(b[:spiLen]), b[spiLen:]
	for j := 0; len(b) > 0; j++ {
		if j == MaxTransforms {
			return Proposal{}, fmt.Errorf("more than %d transforms: %w", MaxTransforms, ErrTooMany)
		}
		n, err := substructureLen(b, transformHeaderLen)
		if err != nil {
			return Proposal{}, fmt.Errorf("transform %d: %w", j+1, err)
		}
		t, err := decodeTransform(b[:n])
		if err != nil {
			return Proposal{}, fmt.Errorf("transform %d: %w", j+1, err)
		}
		if err := checkMarker(b[0], n == len(b), moreTransforms); err != nil {
			return Proposal{}, fmt.Errorf("transform %d: %w", j+1, err)
		}
		p.Transforms = append(p.Transforms, t)
		b = b[n:]
	}
	if len(p.Transforms) != count {
		return Proposal{}, fmt.Errorf("announces %d transforms, carries %d: %w", count, len(p.Transforms), ErrSyntax)
	}
	return p, nil
}

// checkSPILen checks an SPI size against the protocol: 0 or 8 for IKE, 4 for AH and ESP, and
// anything for protocols this package does not know (the proposal is then simply not chosen).
func checkSPILen(proto ProtocolID, n int) error {
	ok := true
	switch proto {
	case ProtocolIKE:
		ok = n == 0 || n == ikeRekeySPILen
	case ProtocolAH, ProtocolESP:
		ok = n == childSPILen
	}
	if !ok || n > 0xff {
		return fmt.Errorf("SPI of %d bytes for protocol %v: %w", n, proto, ErrSyntax)
	}
	return nil
}

func decodeTransform(b []byte) (Transform, error) {
	t := Transform{Type: TransformType(b[4]), ID: binary.BigEndian.Uint16(b[6:8])}
	b = b[transformHeaderLen:]
	for k := 0; len(b) > 0; k++ {
		if k == MaxTransformAttributes {
			return Transform{}, fmt.Errorf("more than %d attributes: %w", MaxTransformAttributes, ErrTooMany)
		}
		if len(b) < attributeHeaderLen {
			return Transform{}, fmt.Errorf("attribute %d: %w", k+1, ErrTruncated)
		}
		word := binary.BigEndian.Uint16(b[0:2])
		a := Attribute{Type: AttributeType(word &^ attributeTV), TV: word&attributeTV != 0}
		if a.TV {
			a.Value, b = clip(b[2:4]), b[4:]
		} else {
			n := int(binary.BigEndian.Uint16(b[2:4]))
			if len(b)-attributeHeaderLen < n {
				return Transform{}, fmt.Errorf("attribute %d of %d bytes: %w", k+1, n, ErrTruncated)
			}
			a.Value, b = clip(b[4:4+n]), b[4+n:]
		}
		t.Attributes = append(t.Attributes, a)
	}
	return t, nil
}

func (p *SA) AppendBody(b []byte) ([]byte, error) {
	if err := checkProposals(p.Proposals); err != nil {
		return b, err
	}
	for i := range p.Proposals {
		var err error
		if b, err = appendProposal(b, &p.Proposals[i], i == len(p.Proposals)-1); err != nil {
			return b, fmt.Errorf("proposal %d: %w", i+1, err)
		}
	}
	return b, nil
}

func appendProposal(b []byte, p *Proposal, last bool) ([]byte, error) {
	if err := checkSPILen(p.Protocol, len(p.SPI)); err != nil {
		return b, err
	}
	if len(p.Transforms) > MaxTransforms {
		return b, fmt.Errorf("%d transforms, limit %d: %w", len(p.Transforms), MaxTransforms, ErrTooMany)
	}
	marker := byte(moreProposals)
	if last {
		marker = lastSubstructure
	}
	start := len(b)
	b = append(b, marker, 0, 0, 0, p.Number, byte(p.Protocol), byte(len(p.SPI)), byte(len(p.Transforms)))
	b = append(b, p.SPI...)
	for j := range p.Transforms {
		var err error
		if b, err = appendTransform(b, &p.Transforms[j], j == len(p.Transforms)-1); err != nil {
			return b, fmt.Errorf("transform %d: %w", j+1, err)
		}
	}
	return b, putLen16(b, start, len(b)-start)
}

func appendTransform(b []byte, t *Transform, last bool) ([]byte, error) {
	if len(t.Attributes) > MaxTransformAttributes {
		return b, fmt.Errorf("%d attributes, limit %d: %w", len(t.Attributes), MaxTransformAttributes, ErrTooMany)
	}
	marker := byte(moreTransforms)
	if last {
		marker = lastSubstructure
	}
	start := len(b)
	b = append(b, marker, 0, 0, 0, byte(t.Type), 0)
	b = binary.BigEndian.AppendUint16(b, t.ID)
	for k, a := range t.Attributes {
		if a.Type&attributeTV != 0 {
			return b, fmt.Errorf("attribute %d: type %d does not fit 15 bits: %w", k+1, a.Type, ErrSyntax)
		}
		if a.TV {
			if len(a.Value) != tvValueLen {
				return b, fmt.Errorf("attribute %d: TV value of %d bytes: %w", k+1, len(a.Value), ErrBadLength)
			}
			b = binary.BigEndian.AppendUint16(b, uint16(a.Type)|attributeTV)
			b = append(b, a.Value...)
			continue
		}
		if len(a.Value) > maxPayloadLen {
			return b, fmt.Errorf("attribute %d: %w", k+1, ErrTooLarge)
		}
		b = binary.BigEndian.AppendUint16(b, uint16(a.Type))
		b = binary.BigEndian.AppendUint16(b, uint16(len(a.Value)))
		b = append(b, a.Value...)
	}
	return b, putLen16(b, start, len(b)-start)
}

package message

import (
	"encoding/binary"
	"fmt"
)

// The Notify payload (RFC 7296 §3.10, Figure 16):
//
//	                     1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Next Payload  |C|  RESERVED   |         Payload Length        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Protocol ID  |   SPI Size    |      Notify Message Type      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	~                Security Parameter Index (SPI)                 ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	~                       Notification Data                       ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// A notify about the IKE SA has no SPI and Protocol ID 0; REKEY_SA, INVALID_SELECTORS and
// CHILD_SA_NOT_FOUND carry the 4-byte SPI of an AH or ESP SA. The data is carried as is; the
// helpers below read the few kinds whose layout the state machines need.

const notifyFixedLen = 4

// Notify is a Notify payload.
type Notify struct {
	Protocol   ProtocolID // ProtocolNone when SPI is empty
	SPI        []byte     // at most 255 bytes
	NotifyType NotifyType
	Data       []byte
}

func (*Notify) Type() PayloadType { return PayloadNotify }

func decodeNotify(b []byte) (*Notify, error) {
	if len(b) < notifyFixedLen {
		return nil, fmt.Errorf("%d bytes, need %d: %w", len(b), notifyFixedLen, ErrTruncated)
	}
	n := &Notify{Protocol: ProtocolID(b[0]), NotifyType: NotifyType(binary.BigEndian.Uint16(b[2:4]))}
	spiLen := int(b[1])
	b = b[notifyFixedLen:]
	if len(b) < spiLen {
		return nil, fmt.Errorf("%v: SPI of %d bytes: %w", n.NotifyType, spiLen, ErrTruncated)
	}
	n.SPI, n.Data = clip(b[:spiLen]), clip(b[spiLen:])
	return n, nil
}

func (p *Notify) AppendBody(b []byte) ([]byte, error) {
	if len(p.SPI) > 0xff {
		return b, fmt.Errorf("%v: SPI of %d bytes: %w", p.NotifyType, len(p.SPI), ErrBadLength)
	}
	b = append(b, byte(p.Protocol), byte(len(p.SPI)))
	b = binary.BigEndian.AppendUint16(b, uint16(p.NotifyType))
	return append(append(b, p.SPI...), p.Data...), nil
}

// SignatureHashAlgorithms returns a SIGNATURE_HASH_ALGORITHMS notify listing algs (RFC 7427
// §4).
func SignatureHashAlgorithms(algs ...HashAlgorithm) *Notify {
	data := make([]byte, 0, 2*len(algs))
	for _, a := range algs {
		data = binary.BigEndian.AppendUint16(data, uint16(a))
	}
	return &Notify{NotifyType: NotifySignatureHashAlgorithms, Data: data}
}

// HashAlgorithms reads the data of a SIGNATURE_HASH_ALGORITHMS notify: 2-byte algorithm
// numbers. It fails with ErrSyntax on another notify type and ErrBadLength on an odd length.
func (p *Notify) HashAlgorithms() ([]HashAlgorithm, error) {
	if p.NotifyType != NotifySignatureHashAlgorithms {
		return nil, fmt.Errorf("ike/message: %v is not %v: %w", p.NotifyType, NotifySignatureHashAlgorithms, ErrSyntax)
	}
	if len(p.Data)%2 != 0 {
		return nil, fmt.Errorf("ike/message: %v data of %d bytes: %w", p.NotifyType, len(p.Data), ErrBadLength)
	}
	algs := make([]HashAlgorithm, 0, len(p.Data)/2)
	for d := p.Data; len(d) >= 2; d = d[2:] {
		algs = append(algs, HashAlgorithm(binary.BigEndian.Uint16(d)))
	}
	return algs, nil
}

// InvalidKEPayload returns an INVALID_KE_PAYLOAD notify naming the DH group the responder
// wants (RFC 7296 §1.3).
func InvalidKEPayload(group uint16) *Notify {
	return &Notify{NotifyType: NotifyInvalidKEPayload, Data: binary.BigEndian.AppendUint16(nil, group)}
}

// Group reads the data of an INVALID_KE_PAYLOAD notify: the 2-byte DH group the peer wants.
func (p *Notify) Group() (uint16, error) {
	if p.NotifyType != NotifyInvalidKEPayload {
		return 0, fmt.Errorf("ike/message: %v is not %v: %w", p.NotifyType, NotifyInvalidKEPayload, ErrSyntax)
	}
	if len(p.Data) != 2 {
		return 0, fmt.Errorf("ike/message: %v data of %d bytes: %w", p.NotifyType, len(p.Data), ErrBadLength)
	}
	return binary.BigEndian.Uint16(p.Data), nil
}

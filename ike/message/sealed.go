package message

import "fmt"

// Sealed is an encrypted message located in its datagram by DecodeSealed, before decryption.
//
// Its layout, when no unencrypted payload precedes SK (BodyOffset is then SKBodyOffset, or
// SKFBodyOffset for a fragment):
//
//	0          28            SKOffset+4 (or +8 for SKF)                  len(datagram)
//	| IKE header | SK header | IV ‖ ciphertext ‖ padding ‖ pad length ‖ ICV |
//	             ^SKOffset   ^BodyOffset
//
// datagram[:BodyOffset] is the associated data of an AEAD transform (RFC 5282 §5.1; RFC 7383
// §2.5 for SKF, whose header includes the fragment number and total); a non-AEAD integrity
// transform covers datagram[:len(datagram)-icvLen] (RFC 7296 §3.14).
type Sealed struct {
	Header
	// Outer holds the unencrypted payloads before SK or SKF; RFC 7296 allows them, nobody
	// sends them, and a state machine should normally refuse a message that has any.
	Outer Payloads
	// Fragment is set for an SKF payload (RFC 7383); FragmentNumber and TotalFragments then
	// hold its fields, and Inner is meaningful only in fragment 1.
	Fragment       bool
	FragmentNumber uint16
	TotalFragments uint16
	// Inner is the SK or SKF header's Next Payload: the type of the first inner payload, to be
	// passed to DecodePayloads with the plaintext.
	Inner PayloadType
	// SKOffset is where the SK or SKF generic payload header starts in the datagram.
	SKOffset int
	// BodyOffset is where the IV starts: the length of the associated data.
	BodyOffset int
	// Body is datagram[BodyOffset:], aliased so it can be decrypted in place.
	Body []byte
}

// DecodeSealed reads datagram up to and including the SK or SKF payload header, with the
// checks of Decode, and reports where the encrypted body lies. It does not copy: Body and the
// Outer payloads alias datagram. It fails with ErrNotSealed if the message has no SK or SKF
// payload (an IKE_SA_INIT message, or a plaintext INFORMATIONAL that must be dropped).
func DecodeSealed(datagram []byte) (*Sealed, error) {
	h, err := DecodeHeader(datagram)
	if err != nil {
		return nil, err
	}
	ps, err := decodeChain(datagram[HeaderLen:], h.NextPayload, chainOuter)
	if err != nil {
		return nil, err
	}
	s := &Sealed{Header: h}
	var body []byte
	headerLen := SKHeaderLen
	switch p := ps.last().(type) {
	case *SK:
		s.Inner, body = p.NextPayload, p.Body
	case *SKF:
		s.Inner, body = p.NextPayload, p.Body
		s.Fragment, s.FragmentNumber, s.TotalFragments = true, p.FragmentNumber, p.TotalFragments
		headerLen = SKFHeaderLen
	default:
		return nil, fmt.Errorf("ike/message: decode %v message: %w", h.Exchange, ErrNotSealed)
	}
	if len(ps) > 1 {
		s.Outer = ps[: len(ps)-1 : len(ps)-1]
	}
	// The SK or SKF payload ends the datagram (decodeChain checks it), so its body is the tail.
	s.BodyOffset = len(datagram) - len(body)
	s.SKOffset = s.BodyOffset - headerLen
	s.Body = datagram[s.BodyOffset:len(datagram):len(datagram)]
	return s, nil
}

func (ps Payloads) last() Payload {
	if len(ps) == 0 {
		return nil
	}
	return ps[len(ps)-1]
}

// AppendSKHeader appends the IKE header h and an SK payload header for an SK body (IV ‖
// ciphertext ‖ ICV) of bodyLen bytes, and returns the extended buffer, SKBodyOffset bytes
// longer. It sets the header's Next Payload to SK and its Length, and the SK header's Next
// Payload to inner and its Payload Length, so that after the caller appends exactly bodyLen
// bytes the message is complete; h.NextPayload and h.Length are ignored.
//
// What it appends is final: it is the associated data for AEAD and the start of what the ICV
// covers. To build in one buffer without knowing bodyLen in advance, reserve SKBodyOffset
// bytes, build the body after them, and then call AppendSKHeader(buf[:0], …): appending into
// the reserved prefix of the same array overwrites those bytes and nothing else.
//
// It fails, appending nothing, if bodyLen is negative, the payload or the message would be too
// long (ErrTooLarge), or inner is SK or SKF (ErrSyntax).
func AppendSKHeader(b []byte, h Header, inner PayloadType, bodyLen int) ([]byte, error) {
	if err := checkSealed(inner, bodyLen, SKBodyOffset); err != nil {
		return b, fmt.Errorf("ike/message: encode SK header: %w", err)
	}
	h.NextPayload, h.Length = PayloadSK, uint32(SKBodyOffset+bodyLen)
	b = AppendHeader(b, h)
	return appendPayloadHeader(b, inner, SKHeaderLen+bodyLen), nil
}

// AppendSKFHeader is AppendSKHeader for one fragment (RFC 7383): it appends the IKE header and
// an SKF payload header with the fragment number and total, SKFBodyOffset bytes. Every
// fragment of a message carries the message's header (same message ID); inner is the first
// inner payload's type in fragment 1 and PayloadNone in the others.
func AppendSKFHeader(b []byte, h Header, inner PayloadType, number, total uint16, bodyLen int) ([]byte, error) {
	if err := checkFragment(number, total); err != nil {
		return b, fmt.Errorf("ike/message: encode SKF header: %w", err)
	}
	if err := checkSealed(inner, bodyLen, SKFBodyOffset); err != nil {
		return b, fmt.Errorf("ike/message: encode SKF header: %w", err)
	}
	h.NextPayload, h.Length = PayloadSKF, uint32(SKFBodyOffset+bodyLen)
	b = AppendHeader(b, h)
	b = appendPayloadHeader(b, inner, SKFHeaderLen+bodyLen)
	return append(b, byte(number>>8), byte(number), byte(total>>8), byte(total)), nil
}

func checkSealed(inner PayloadType, bodyLen, offset int) error {
	switch {
	case inner == PayloadSK || inner == PayloadSKF:
		return fmt.Errorf("inner payload of type %v: %w", inner, ErrSyntax)
	case bodyLen < 0:
		return fmt.Errorf("body of %d bytes: %w", bodyLen, ErrBadLength)
	case bodyLen+offset-HeaderLen > maxPayloadLen, bodyLen+offset > MaxMessageLen:
		return fmt.Errorf("body of %d bytes: %w", bodyLen, ErrTooLarge)
	}
	return nil
}

func appendPayloadHeader(b []byte, next PayloadType, length int) []byte {
	return append(b, byte(next), 0, byte(length>>8), byte(length))
}

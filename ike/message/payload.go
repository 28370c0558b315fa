package message

import (
	"encoding/binary"
	"fmt"
)

// The generic payload header (RFC 7296 §3.2, Figure 5), in front of every payload:
//
//	                     1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Next Payload  |C|  RESERVED   |         Payload Length        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Payload Length counts the header. The critical bit C matters only for payload types the
// receiver does not know: set, the whole message is rejected with UNSUPPORTED_CRITICAL_PAYLOAD;
// clear, the payload is skipped. It is sent clear for the types RFC 7296 defines and ignored on
// them when received.

// PayloadHeaderLen is the length of the generic payload header.
const PayloadHeaderLen = 4

const (
	criticalBit   = 0x80
	maxPayloadLen = 0xffff
)

// Payload is one IKEv2 payload. The types in this package are pointers (*SA, *Notify, …);
// decoders return them and never anything else.
type Payload interface {
	// Type is the payload type written in the Next Payload field before the payload.
	Type() PayloadType
	// AppendBody appends the payload's body, everything after the generic payload header, to
	// b. It checks the fields against the rules the decoder applies, so what it writes
	// decodes to an equal value, and returns an error instead of writing something the
	// decoder would refuse. For IDi and IDr the body is RFC 7296's RestOfInitIDPayload /
	// RestOfRespIDPayload, which the AUTH signature covers.
	AppendBody(b []byte) ([]byte, error)
}

// Unknown is a payload of a type this package does not decode. Decoders keep one whose
// critical bit is clear (RFC 7296 §2.5 says to skip it) so it stays visible; Check ignores it.
type Unknown struct {
	PayloadType PayloadType
	// Critical is the critical bit. Decoders never return a critical Unknown (they fail with
	// *UnsupportedCriticalError instead); encoders write the bit as given.
	Critical bool
	Data     []byte
}

func (p *Unknown) Type() PayloadType { return p.PayloadType }

func (p *Unknown) AppendBody(b []byte) ([]byte, error) {
	if p.PayloadType == PayloadNone || p.PayloadType.known() {
		return b, fmt.Errorf("unknown payload of known type %v: %w", p.PayloadType, ErrSyntax)
	}
	return append(b, p.Data...), nil
}

// chain tells decodeChain where a chain of payloads stands.
type chain int

const (
	chainOuter chain = iota // after the IKE header: may end in SK or SKF
	chainInner              // inside SK: may not contain SK or SKF
)

// decodeChain reads the chain of payloads in b, the first of type next. In an outer chain it
// stops at an SK or SKF payload, which must end b, and returns it last as *SK or *SKF. The
// payloads alias b.
func decodeChain(b []byte, next PayloadType, where chain) (Payloads, error) {
	var ps Payloads
	for next != PayloadNone {
		t := next
		if len(ps) == MaxPayloads {
			return nil, fmt.Errorf("ike/message: more than %d payloads: %w", MaxPayloads, ErrTooMany)
		}
		if len(b) < PayloadHeaderLen {
			return nil, fmt.Errorf("ike/message: decode %v payload: header: %w", t, ErrTruncated)
		}
		next = PayloadType(b[0])
		critical := b[1]&criticalBit != 0
		n := int(binary.BigEndian.Uint16(b[2:4]))
		if n < PayloadHeaderLen {
			return nil, fmt.Errorf("ike/message: decode %v payload: length %d: %w", t, n, ErrBadLength)
		}
		if n > len(b) {
			return nil, fmt.Errorf("ike/message: decode %v payload: length %d, %d bytes left: %w", t, n, len(b), ErrTruncated)
		}
		body := b[PayloadHeaderLen:n:n]
		b = b[n:]
		if t == PayloadSK || t == PayloadSKF {
			p, err := decodeEncrypted(t, next, body, len(b), where)
			if err != nil {
				return nil, fmt.Errorf("ike/message: decode %v payload: %w", t, err)
			}
			return append(ps, p), nil
		}
		p, err := decodeBody(t, critical, body)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("ike/message: %d bytes after the last payload: %w", len(b), ErrBadLength)
	}
	return ps, nil
}

// decodeEncrypted reads an SK or SKF payload, after checking that it may stand where it does
// and that it is the last payload (left is what follows it).
func decodeEncrypted(t, inner PayloadType, body []byte, left int, where chain) (Payload, error) {
	if where == chainInner {
		return nil, fmt.Errorf("encrypted payload inside an encrypted payload: %w", ErrSyntax)
	}
	if left != 0 {
		return nil, fmt.Errorf("%d bytes follow it, it must be last: %w", left, ErrSyntax)
	}
	if t == PayloadSKF {
		return decodeSKF(inner, body)
	}
	return &SK{NextPayload: inner, Body: clip(body)}, nil
}

func decodeBody(t PayloadType, critical bool, body []byte) (Payload, error) {
	var (
		p   Payload
		err error
	)
	switch t {
	case PayloadSA:
		p, err = decodeSA(body)
	case PayloadKE:
		p, err = decodeKE(body)
	case PayloadIDi:
		p, err = decodeIDi(body)
	case PayloadIDr:
		p, err = decodeIDr(body)
	case PayloadCert:
		p, err = decodeCert(body)
	case PayloadCertReq:
		p, err = decodeCertReq(body)
	case PayloadAuth:
		p, err = decodeAuth(body)
	case PayloadNonce:
		p, err = decodeNonce(body)
	case PayloadNotify:
		p, err = decodeNotify(body)
	case PayloadDelete:
		p, err = decodeDelete(body)
	case PayloadVendorID:
		p, err = &VendorID{Data: clip(body)}, nil
	case PayloadTSi:
		p, err = decodeTSi(body)
	case PayloadTSr:
		p, err = decodeTSr(body)
	case PayloadCP:
		p, err = decodeCP(body)
	case PayloadEAP:
		p, err = decodeEAP(body)
	default:
		if critical {
			return nil, &UnsupportedCriticalError{Type: t}
		}
		p = &Unknown{PayloadType: t, Data: clip(body)}
	}
	if err != nil {
		return nil, fmt.Errorf("ike/message: decode %v payload: %w", t, err)
	}
	return p, nil
}

// appendChain appends ps with their generic headers. An SK or SKF payload may only be the
// last one of an outer chain; its Next Payload is its inner type.
func appendChain(b []byte, ps []Payload, where chain) ([]byte, error) {
	if len(ps) > MaxPayloads {
		return b, fmt.Errorf("ike/message: %d payloads, limit %d: %w", len(ps), MaxPayloads, ErrTooMany)
	}
	for i, p := range ps {
		if p == nil {
			return b, fmt.Errorf("ike/message: encode payload %d: nil payload: %w", i+1, ErrSyntax)
		}
	}
	for i, p := range ps {
		next := PayloadNone
		if i+1 < len(ps) {
			next = ps[i+1].Type()
		}
		var critical byte
		switch p := p.(type) {
		case *SK:
			next = p.NextPayload
		case *SKF:
			next = p.NextPayload
		case *Unknown:
			if p.Critical {
				critical = criticalBit
			}
		}
		t := p.Type()
		if (t == PayloadSK || t == PayloadSKF) && (where == chainInner || i != len(ps)-1) {
			return b, fmt.Errorf("ike/message: encode %v payload: must be the last outer payload: %w", t, ErrSyntax)
		}
		start := len(b)
		b = append(b, byte(next), critical, 0, 0)
		var err error
		if b, err = p.AppendBody(b); err != nil {
			return b[:start], fmt.Errorf("ike/message: encode %v payload: %w", t, err)
		}
		if err := putLen16(b, start, len(b)-start); err != nil {
			return b[:start], fmt.Errorf("ike/message: encode %v payload: %w", t, err)
		}
	}
	return b, nil
}

// putLen16 writes n as the 16-bit length field two bytes after start, as in every payload,
// proposal and transform header.
func putLen16(b []byte, start, n int) error {
	if n > maxPayloadLen {
		return fmt.Errorf("%d bytes do not fit a 16-bit length: %w", n, ErrTooLarge)
	}
	binary.BigEndian.PutUint16(b[start+2:], uint16(n))
	return nil
}

// clip returns b with its capacity cut to its length, so a caller appending to a decoded field
// cannot overwrite the bytes after it, and nil for an empty b, so decoded values compare equal
// to ones built by hand.
func clip(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b[:len(b):len(b)]
}

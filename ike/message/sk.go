package message

import (
	"encoding/binary"
	"fmt"
)

// The Encrypted and Authenticated payload, SK (RFC 7296 §3.14, Figure 21):
//
//	                     1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Next Payload  |C|  RESERVED   |         Payload Length        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                     Initialization Vector                     |
//	|         (length is block size for encryption algorithm)       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	~                    Encrypted IKE Payloads                     ~
//	+               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|               |             Padding (0-255 octets)            |
//	+-+-+-+-+-+-+-+-+                               +-+-+-+-+-+-+-+-+
//	|                                               |  Pad Length   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	~                    Integrity Checksum Data                    ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The Encrypted Fragment payload, SKF (RFC 7383 §2.5):
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Next Payload  |C|  RESERVED   |         Payload Length        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|        Fragment Number        |        Total Fragments        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                     Initialization Vector                     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	~                      Encrypted content                        ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	~                    Integrity Checksum Data                    ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Both must be the last payload of a message. Their Next Payload is the type of the first
// inner payload (in SKF, only in fragment 1; RFC 7383 has later fragments send 0, which this
// package writes and reads as given). Fragment numbers run from 1 to Total Fragments, which
// is not 0. This package treats the body, IV to ICV, as opaque bytes: sealed.go describes how
// ike/transform opens and seals it in place.

// Lengths of the SK and SKF headers, and where an encrypted message's body starts when no
// unencrypted payload precedes SK (which is always, in practice).
const (
	SKHeaderLen      = PayloadHeaderLen
	SKFHeaderLen     = PayloadHeaderLen + skfFieldsLen
	SKBodyOffset     = HeaderLen + SKHeaderLen
	SKFBodyOffset    = HeaderLen + SKFHeaderLen
	skfFieldsLen     = 4
	maxFragmentCount = 0xffff
)

// SK is an Encrypted and Authenticated payload as decoded, still encrypted.
type SK struct {
	NextPayload PayloadType // the type of the first inner payload; PayloadNone if it has none
	Body        []byte      // IV ‖ ciphertext ‖ ICV
}

// SKF is an Encrypted Fragment payload as decoded, still encrypted.
type SKF struct {
	NextPayload    PayloadType // the first inner payload's type in fragment 1; 0 in the others
	FragmentNumber uint16      // from 1
	TotalFragments uint16      // at least FragmentNumber
	Body           []byte      // IV ‖ ciphertext ‖ ICV
}

func (*SK) Type() PayloadType  { return PayloadSK }
func (*SKF) Type() PayloadType { return PayloadSKF }

func (p *SK) AppendBody(b []byte) ([]byte, error) { return append(b, p.Body...), nil }

func (p *SKF) AppendBody(b []byte) ([]byte, error) {
	if err := checkFragment(p.FragmentNumber, p.TotalFragments); err != nil {
		return b, err
	}
	b = binary.BigEndian.AppendUint16(b, p.FragmentNumber)
	b = binary.BigEndian.AppendUint16(b, p.TotalFragments)
	return append(b, p.Body...), nil
}

func decodeSKF(inner PayloadType, b []byte) (*SKF, error) {
	if len(b) < skfFieldsLen {
		return nil, fmt.Errorf("%d bytes, need %d: %w", len(b), skfFieldsLen, ErrTruncated)
	}
	p := &SKF{
		NextPayload:    inner,
		FragmentNumber: binary.BigEndian.Uint16(b[0:2]),
		TotalFragments: binary.BigEndian.Uint16(b[2:4]),
		Body:           clip(b[skfFieldsLen:]),
	}
	return p, checkFragment(p.FragmentNumber, p.TotalFragments)
}

func checkFragment(number, total uint16) error {
	if number == 0 || number > total {
		return fmt.Errorf("fragment %d of %d: %w", number, total, ErrSyntax)
	}
	return nil
}

package message

import (
	"encoding/binary"
	"fmt"
)

// The EAP payload (RFC 7296 §3.16, Figure 24) carries one EAP message (RFC 3748 §4):
//
//	                     1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Next Payload  |C|  RESERVED   |         Payload Length        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	~                       EAP Message                             ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// with the EAP message (Figure 25):
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Code      | Identifier    |           Length              |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      | Type_Data...
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Only the framing is checked here: Code 1 (Request) or 2 (Response) with a Type byte, or 3
// (Success) or 4 (Failure) of exactly 4 bytes, and an EAP Length equal to the payload's. The
// message itself belongs to package eap.

// EAP codes (RFC 3748 §4).
const (
	EAPRequest  = 1
	EAPResponse = 2
	EAPSuccess  = 3
	EAPFailure  = 4
)

const eapHeaderLen = 4

// EAP is an EAP payload.
type EAP struct {
	Data []byte // one EAP message, header included
}

func (*EAP) Type() PayloadType { return PayloadEAP }

// Code returns the EAP code, or 0 if Data is too short to have one.
func (p *EAP) Code() uint8 {
	if len(p.Data) < eapHeaderLen {
		return 0
	}
	return p.Data[0]
}

// Identifier returns the EAP identifier, or 0 if Data is too short to have one.
func (p *EAP) Identifier() uint8 {
	if len(p.Data) < eapHeaderLen {
		return 0
	}
	return p.Data[1]
}

func decodeEAP(b []byte) (*EAP, error) {
	if err := checkEAP(b); err != nil {
		return nil, err
	}
	return &EAP{Data: clip(b)}, nil
}

func checkEAP(b []byte) error {
	if len(b) < eapHeaderLen {
		return fmt.Errorf("EAP message of %d bytes: %w", len(b), ErrTruncated)
	}
	if n := int(binary.BigEndian.Uint16(b[2:4])); n != len(b) {
		return fmt.Errorf("EAP length %d in %d bytes: %w", n, len(b), ErrBadLength)
	}
	switch b[0] {
	case EAPRequest, EAPResponse:
		if len(b) == eapHeaderLen {
			return fmt.Errorf("EAP code %d without a type: %w", b[0], ErrTruncated)
		}
	case EAPSuccess, EAPFailure:
		if len(b) != eapHeaderLen {
			return fmt.Errorf("EAP code %d of %d bytes: %w", b[0], len(b), ErrBadLength)
		}
	default:
		return fmt.Errorf("EAP code %d: %w", b[0], ErrSyntax)
	}
	return nil
}

func (p *EAP) AppendBody(b []byte) ([]byte, error) {
	if err := checkEAP(p.Data); err != nil {
		return b, err
	}
	return append(b, p.Data...), nil
}

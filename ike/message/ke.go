package message

import (
	"encoding/binary"
	"fmt"
)

// The Key Exchange payload (RFC 7296 §3.4, Figure 10):
//
//	                     1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Next Payload  |C|  RESERVED   |         Payload Length        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Diffie-Hellman Group Num    |           RESERVED            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	~                       Key Exchange Data                       ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The length of the key exchange data depends on the group; package ike/transform checks it.

const keFixedLen = 4

// KE is a Key Exchange payload.
type KE struct {
	Group uint16 // a DH transform ID, named by package ike/transform
	Data  []byte
}

func (*KE) Type() PayloadType { return PayloadKE }

func decodeKE(b []byte) (*KE, error) {
	if len(b) < keFixedLen {
		return nil, fmt.Errorf("%d bytes, need %d: %w", len(b), keFixedLen, ErrTruncated)
	}
	return &KE{Group: binary.BigEndian.Uint16(b[0:2]), Data: clip(b[keFixedLen:])}, nil
}

func (p *KE) AppendBody(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint16(b, p.Group)
	return append(append(b, 0, 0), p.Data...), nil
}

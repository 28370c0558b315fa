package message

import "fmt"

// The Nonce payload, Ni or Nr (RFC 7296 §3.9, Figure 15):
//
//	                     1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Next Payload  |C|  RESERVED   |         Payload Length        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	~                            Nonce Data                         ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// "The size of the Nonce Data MUST be between 16 and 256 octets, inclusive" (§3.9). Both
// directions enforce it.

// Nonce sizes allowed by RFC 7296 §3.9.
const (
	MinNonceLen = 16
	MaxNonceLen = 256
)

// Nonce is a Nonce payload.
type Nonce struct {
	Data []byte
}

func (*Nonce) Type() PayloadType { return PayloadNonce }

func decodeNonce(b []byte) (*Nonce, error) {
	if err := checkNonceLen(len(b)); err != nil {
		return nil, err
	}
	return &Nonce{Data: clip(b)}, nil
}

func checkNonceLen(n int) error {
	if n < MinNonceLen || n > MaxNonceLen {
		return fmt.Errorf("nonce of %d bytes, want %d to %d: %w", n, MinNonceLen, MaxNonceLen, ErrBadLength)
	}
	return nil
}

func (p *Nonce) AppendBody(b []byte) ([]byte, error) {
	if err := checkNonceLen(len(p.Data)); err != nil {
		return b, err
	}
	return append(b, p.Data...), nil
}

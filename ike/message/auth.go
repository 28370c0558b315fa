package message

import "fmt"

// The Authentication payload (RFC 7296 §3.8, Figure 14):
//
//	                     1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Next Payload  |C|  RESERVED   |         Payload Length        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Auth Method   |                RESERVED                       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	~                      Authentication Data                      ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// For AuthDigitalSignature (RFC 7427 §3) the data starts with a one-byte length and an ASN.1
// AlgorithmIdentifier before the signature; this package carries the bytes and leaves that
// structure to the authenticator.

const authFixedLen = 4

// Auth is an Authentication payload.
type Auth struct {
	Method AuthMethod
	Data   []byte
}

func (*Auth) Type() PayloadType { return PayloadAuth }

func decodeAuth(b []byte) (*Auth, error) {
	if len(b) < authFixedLen {
		return nil, fmt.Errorf("%d bytes, need %d: %w", len(b), authFixedLen, ErrTruncated)
	}
	return &Auth{Method: AuthMethod(b[0]), Data: clip(b[authFixedLen:])}, nil
}

func (p *Auth) AppendBody(b []byte) ([]byte, error) {
	return append(append(b, byte(p.Method), 0, 0, 0), p.Data...), nil
}

package message

import "fmt"

// The Certificate payload (RFC 7296 §3.6, Figure 12):
//
//	                     1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Next Payload  |C|  RESERVED   |         Payload Length        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Cert Encoding |                                               |
//	+-+-+-+-+-+-+-+-+                                               |
//	~                       Certificate Data                        ~
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// For CertX509Signature the data is one DER certificate; it is not parsed here.

const encodingLen = 1

// Cert is a Certificate payload.
type Cert struct {
	Encoding CertEncoding
	Data     []byte
}

func (*Cert) Type() PayloadType { return PayloadCert }

func decodeCert(b []byte) (*Cert, error) {
	if len(b) < encodingLen {
		return nil, fmt.Errorf("no encoding byte: %w", ErrTruncated)
	}
	return &Cert{Encoding: CertEncoding(b[0]), Data: clip(b[encodingLen:])}, nil
}

func (p *Cert) AppendBody(b []byte) ([]byte, error) {
	return append(append(b, byte(p.Encoding)), p.Data...), nil
}

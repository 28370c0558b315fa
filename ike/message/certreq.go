package message

import "fmt"

// The Certificate Request payload (RFC 7296 §3.7, Figure 13):
//
//	                     1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Next Payload  |C|  RESERVED   |         Payload Length        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Cert Encoding |                                               |
//	+-+-+-+-+-+-+-+-+                                               |
//	~                    Certification Authority                    ~
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// For CertX509Signature the Certification Authority field is a concatenation of SHA-1 hashes
// of trusted CAs' SubjectPublicKeyInfo, so its length must be a multiple of 20 (it may be
// empty: "any CA"). Windows sends one CERTREQ with its whole root store, ~40 hashes.

// CAHashLen is the length of one CA hash in a CERTREQ of encoding CertX509Signature.
const CAHashLen = 20 // a SHA-1 hash

// CertReq is a Certificate Request payload.
type CertReq struct {
	Encoding    CertEncoding
	Authorities []byte // for CertX509Signature: CAHashLen-byte hashes, concatenated
}

func (*CertReq) Type() PayloadType { return PayloadCertReq }

// Hashes returns the CA hashes of a CertX509Signature request, aliasing Authorities; nil for
// any other encoding.
func (p *CertReq) Hashes() [][]byte {
	if p.Encoding != CertX509Signature {
		return nil
	}
	var hs [][]byte
	for a := p.Authorities; len(a) >= CAHashLen; a = a[CAHashLen:] {
		hs = append(hs, a[:CAHashLen:CAHashLen])
	}
	return hs
}

func decodeCertReq(b []byte) (*CertReq, error) {
	if len(b) < encodingLen {
		return nil, fmt.Errorf("no encoding byte: %w", ErrTruncated)
	}
	p := &CertReq{Encoding: CertEncoding(b[0]), Authorities: clip(b[encodingLen:])}
	return p, p.check()
}

func (p *CertReq) check() error {
	if p.Encoding == CertX509Signature && len(p.Authorities)%CAHashLen != 0 {
		return fmt.Errorf("%d bytes of CA hashes, not a multiple of %d: %w", len(p.Authorities), CAHashLen, ErrBadLength)
	}
	return nil
}

func (p *CertReq) AppendBody(b []byte) ([]byte, error) {
	if err := p.check(); err != nil {
		return b, err
	}
	return append(append(b, byte(p.Encoding)), p.Authorities...), nil
}

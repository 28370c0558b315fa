package radius

import (
	"crypto/md5"
	"crypto/subtle"
	"errors"
	"fmt"
)

// Microsoft vendor attributes (RFC 2548 §2.4.2, §2.4.3).
const (
	microsoftVendorID = 311
	msMPPESendKey     = 16
	msMPPERecvKey     = 17
	msCHAPError       = 2  // MS-CHAP-Error
	msCHAPChallenge   = 11 // MS-CHAP-Challenge
	msCHAP2Response   = 25 // MS-CHAP2-Response
	msCHAP2Success    = 26 // MS-CHAP2-Success

	mppeSaltLen  = 2
	mppeBlockLen = md5.Size // 16
)

func mppeKeyName(typ byte) string {
	if typ == msMPPESendKey {
		return "MS-MPPE-Send-Key"
	}
	return "MS-MPPE-Recv-Key"
}

// decryptMSK decrypts both MS-MPPE keys of an Access-Accept and returns MS-MPPE-Recv-Key ‖
// MS-MPPE-Send-Key, the MSK as the EAP server exported it (RFC 3748 §7.10: the Recv-Key is the
// MSK's first 32 octets, the Send-Key its second). Neither key gives nil; one without the
// other is ErrMalformed.
func decryptMSK(recv, send []byte, auth *[authLen]byte, secret []byte) ([]byte, error) {
	if recv == nil && send == nil {
		return nil, nil
	}
	if recv == nil || send == nil {
		return nil, fmt.Errorf("%w: only one of MS-MPPE-Recv-Key and MS-MPPE-Send-Key", ErrMalformed)
	}
	r, err := decryptMPPEKey(recv, auth, secret)
	if err != nil {
		return nil, fmt.Errorf("%w: MS-MPPE-Recv-Key: %v", ErrMalformed, err)
	}
	s, err := decryptMPPEKey(send, auth, secret)
	if err != nil {
		return nil, fmt.Errorf("%w: MS-MPPE-Send-Key: %v", ErrMalformed, err)
	}
	return append(r, s...), nil
}

// decryptMPPEKey decrypts the String of an MS-MPPE-Send-Key or MS-MPPE-Recv-Key (RFC 2548
// §2.4.2) with the secret S and the Request Authenticator R of the Access-Request:
//
//	String = Salt(2) ‖ C,   C = c(1) ‖ … ‖ c(n),   the salt's high bit set
//	b(1) = MD5(S ‖ R ‖ Salt)   p(1) = c(1) ⊕ b(1)
//	b(i) = MD5(S ‖ c(i-1))     p(i) = c(i) ⊕ b(i)
//	P = p(1) ‖ … ‖ p(n) = Key-Length(1) ‖ Key ‖ Padding
//
// The padding must be the fewest octets that make P a multiple of 16 (the RFC: "between 1
// and 15 octets"), all zero. The RFC only recommends zeros, but servers use them, and non-zero
// padding in an authentic answer means the key was encrypted under other inputs than ours, so
// the key would be garbage. decryptMPPEKey never panics; the key it returns is a new slice.
func decryptMPPEKey(v []byte, auth *[authLen]byte, secret []byte) ([]byte, error) {
	if len(v) < mppeSaltLen+mppeBlockLen || (len(v)-mppeSaltLen)%mppeBlockLen != 0 {
		return nil, fmt.Errorf("encrypted key of %d octets", len(v))
	}
	if v[0]&0x80 == 0 {
		return nil, errors.New("salt without its high bit")
	}
	salt, c := v[:mppeSaltLen], v[mppeSaltLen:]
	p := make([]byte, len(c))
	var b [mppeBlockLen]byte
	h := md5.New()
	for i := 0; i < len(c); i += mppeBlockLen {
		h.Reset()
		h.Write(secret)
		if i == 0 {
			h.Write(auth[:])
			h.Write(salt)
		} else {
			h.Write(c[i-mppeBlockLen : i])
		}
		h.Sum(b[:0])
		subtle.XORBytes(p[i:i+mppeBlockLen], c[i:i+mppeBlockLen], b[:])
	}
	n := int(p[0])
	if n == 0 {
		return nil, errors.New("empty key")
	}
	if padded := (1 + n + mppeBlockLen - 1) / mppeBlockLen * mppeBlockLen; padded != len(p) {
		return nil, fmt.Errorf("key length %d in %d octets", n, len(p))
	}
	var nonzero byte
	for _, x := range p[1+n:] {
		nonzero |= x
	}
	if nonzero != 0 {
		return nil, errors.New("padding is not zero")
	}
	return append([]byte(nil), p[1:1+n]...), nil
}

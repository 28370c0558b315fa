package transform

import (
	"fmt"
	"slices"
	"strings"
)

// Suite is the set of algorithms negotiated for one SA.
//
// For an IKE SA (Protocol ProtocolIKE) Encr, KeyLen, PRF and DH are set, Integ is set unless
// Encr is an AEAD, and ESN is ESNNo. For a CHILD SA (ProtocolESP) Encr, KeyLen and ESN are
// set, Integ unless Encr is an AEAD, DH only when the CREATE_CHILD_SA exchange carried KE
// payloads (PFS), and PRF is zero: CHILD SA keys come from the IKE SA's PRF.
//
// The zero Suite is invalid. A Suite is a plain value, safe to copy and compare.
type Suite struct {
	Protocol Protocol
	Encr     EncrID
	KeyLen   uint16 // the Key Length attribute in bits: the AES key, without any salt
	Integ    IntegID
	PRF      PRFID
	DH       DHGroup
	ESN      ESN
}

// AEAD reports whether the encryption algorithm also protects integrity.
func (s Suite) AEAD() bool { return encrAlgs[s.Encr].aead }

// EncrKeySize returns the octets of keying material one direction's encryption key takes: the
// size of SK_ei or SK_er, or of an ESP encryption key. For AES-GCM it includes the 4-octet salt
// that follows the key (RFC 5282 §7.1, RFC 4106 §8.1): 36 for AES-GCM-16 with a 256-bit key.
func (s Suite) EncrKeySize() int {
	alg, ok := encrAlgs[s.Encr]
	if !ok {
		return 0
	}
	return int(s.KeyLen)/8 + alg.saltLen
}

// IntegKeySize returns the octets of one direction's integrity key (SK_ai, SK_ar or an ESP
// integrity key): zero for an AEAD suite.
func (s Suite) IntegKeySize() int { return integAlgs[s.Integ].keyLen }

// Validate reports whether s is a combination this package can derive keys for and protect
// with, as described on Suite. It does not apply the legacy gate: that is Select's job.
func (s Suite) Validate() error {
	encr, ok := encrAlgs[s.Encr]
	if !ok || !slices.Contains(encr.keyLens, s.KeyLen) {
		return fmt.Errorf("%w: %s with key length %d", ErrUnsupported, s.Encr, s.KeyLen)
	}
	if encr.aead != (s.Integ == IntegNone) {
		return fmt.Errorf("%w: %s with %s", ErrUnsupported, s.Encr, s.Integ)
	}
	if _, ok := integAlgs[s.Integ]; !ok && s.Integ != IntegNone {
		return fmt.Errorf("%w: %s", ErrUnsupported, s.Integ)
	}
	if _, ok := dhAlgs[s.DH]; !ok && s.DH != DHNone {
		return fmt.Errorf("%w: %s", ErrUnsupported, s.DH)
	}
	switch s.Protocol {
	case ProtocolIKE:
		if _, ok := prfAlgs[s.PRF]; !ok {
			return fmt.Errorf("%w: %s", ErrUnsupported, s.PRF)
		}
		if s.DH == DHNone || s.ESN != ESNNo {
			return fmt.Errorf("%w: IKE SA with %s and %s", ErrUnsupported, s.DH, s.ESN)
		}
	case ProtocolESP:
		if s.PRF != 0 || (s.ESN != ESNNo && s.ESN != ESNYes) {
			return fmt.Errorf("%w: CHILD SA with %s and %s", ErrUnsupported, s.PRF, s.ESN)
		}
	default:
		return fmt.Errorf("%w: protocol %s", ErrUnsupported, s.Protocol)
	}
	return nil
}

// String returns the suite in a form for logs, such as
// "IKE:ENCR_AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_256".
func (s Suite) String() string {
	parts := []string{fmt.Sprintf("%s_%d", s.Encr, s.KeyLen)}
	if s.Integ != IntegNone {
		parts = append(parts, s.Integ.String())
	}
	if s.Protocol == ProtocolIKE {
		parts = append(parts, s.PRF.String())
	}
	if s.DH != DHNone {
		parts = append(parts, s.DH.String())
	}
	if s.Protocol == ProtocolESP {
		parts = append(parts, s.ESN.String())
	}
	return s.Protocol.String() + ":" + strings.Join(parts, "/")
}

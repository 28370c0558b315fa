package sstp

import (
	"encoding/binary"
	"fmt"
)

// Attribute values (§2.2.5–2.2.8). The headers are in control.go; these are the values.

const (
	// ProtocolPPP is the Encapsulated Protocol ID of PPP, the only one there is (§2.2.5).
	ProtocolPPP = 0x0001

	encapsulatedProtocolLen = 2
	cryptoBindingReqLen     = 36  // §2.2.6: attribute length 40
	cryptoBindingLen        = 100 // §2.2.7: attribute length 104
	statusInfoMinLen        = 8   // §2.2.8: attribute length 12 + len(AttribValue)
	maxStatusValue          = 64

	// NonceLen is the length of the crypto binding nonce.
	NonceLen = 32
	// hashFieldLen is the length of the Cert Hash and Compound MAC fields with their padding.
	hashFieldLen = 32
)

// HashProtocol is a crypto binding hash (§2.2.6, §2.2.7). The values are also the bits of
// the Hash Protocol Bitmask a server offers.
type HashProtocol uint8

// Hash protocols.
const (
	HashSHA1   HashProtocol = 1
	HashSHA256 HashProtocol = 2
)

func (h HashProtocol) String() string {
	switch h {
	case HashSHA1:
		return "SHA1"
	case HashSHA256:
		return "SHA256"
	}
	return fmt.Sprintf("HashProtocol(%d)", uint8(h))
}

// size is the length of the hash's certificate hash, CMK and Compound MAC; 0 if unknown.
func (h HashProtocol) size() int {
	switch h {
	case HashSHA1:
		return 20
	case HashSHA256:
		return 32
	}
	return 0
}

// encapsulatedProtocol returns the ENCAPSULATED_PROTOCOL_ID attribute for PPP.
func encapsulatedProtocol() Attribute {
	return Attribute{ID: AttrEncapsulatedProtocolID, Value: []byte{0, ProtocolPPP}}
}

// StatusInfo is the value of a Status Info attribute (§2.2.8): the status of one attribute,
// or of the call when Attr is AttrNoError. Value, at most 64 bytes, is the refused value of
// the attribute, sent back in a CALL_CONNECT_NAK.
type StatusInfo struct {
	Attr   AttributeID
	Status Status
	Value  []byte
}

// Attribute encodes s. A Value longer than 64 bytes is cut to 64, as §2.2.8 requires.
func (s StatusInfo) Attribute() Attribute {
	v := s.Value
	if len(v) > maxStatusValue {
		v = v[:maxStatusValue]
	}
	b := make([]byte, statusInfoMinLen, statusInfoMinLen+len(v))
	b[3] = byte(s.Attr)
	binary.BigEndian.PutUint32(b[4:], uint32(s.Status))
	return Attribute{ID: AttrStatusInfo, Value: append(b, v...)}
}

// ParseStatusInfo decodes a Status Info value. Value aliases v.
func ParseStatusInfo(v []byte) (StatusInfo, error) {
	if len(v) < statusInfoMinLen || len(v) > statusInfoMinLen+maxStatusValue {
		return StatusInfo{}, fmt.Errorf("sstp: parse STATUS_INFO: %d bytes: %w", len(v), ErrMalformed)
	}
	return StatusInfo{Attr: AttributeID(v[3]), Status: Status(binary.BigEndian.Uint32(v[4:])), Value: v[statusInfoMinLen:]}, nil
}

func (s StatusInfo) String() string { return fmt.Sprintf("%v: %v", s.Attr, s.Status) }

// statusOf returns the first Status Info of m, for logs; the zero StatusInfo if none.
func statusOf(m ControlMessage) StatusInfo {
	if a, ok := m.Attribute(AttrStatusInfo); ok {
		if s, err := ParseStatusInfo(a.Value); err == nil {
			return s
		}
	}
	return StatusInfo{}
}

// CryptoBindingRequest is the value of the CRYPTO_BINDING_REQ attribute a server sends in
// CALL_CONNECT_ACK (§2.2.6).
type CryptoBindingRequest struct {
	Hashes uint8 // bitmask of offered HashProtocols
	Nonce  [NonceLen]byte
}

// Attribute encodes r.
func (r CryptoBindingRequest) Attribute() Attribute {
	b := make([]byte, cryptoBindingReqLen)
	b[3] = r.Hashes
	copy(b[4:], r.Nonce[:])
	return Attribute{ID: AttrCryptoBindingReq, Value: b}
}

// ParseCryptoBindingRequest decodes a CRYPTO_BINDING_REQ value.
func ParseCryptoBindingRequest(v []byte) (CryptoBindingRequest, error) {
	if len(v) != cryptoBindingReqLen {
		return CryptoBindingRequest{}, fmt.Errorf("sstp: parse CRYPTO_BINDING_REQ: %d bytes: %w", len(v), ErrMalformed)
	}
	r := CryptoBindingRequest{Hashes: v[3]}
	copy(r.Nonce[:], v[4:])
	return r, nil
}

// CryptoBinding is the value of the CRYPTO_BINDING attribute of CALL_CONNECTED (§2.2.7).
// CertHash and MAC are the hash's size (20 bytes for SHA1, 32 for SHA256); on the wire each
// is padded with zeros to 32.
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                 Reserved1                     | Hash Protocol |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Nonce (32 bytes)                           |
//	|                 Cert Hash + Padding (32 bytes)                |
//	|               Compound MAC + Padding1 (32 bytes)              |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type CryptoBinding struct {
	Hash     HashProtocol
	Nonce    [NonceLen]byte
	CertHash []byte
	MAC      []byte
}

const (
	bindingNonceOff = 4
	bindingCertOff  = bindingNonceOff + NonceLen
	bindingMACOff   = bindingCertOff + hashFieldLen
)

// Attribute encodes b. CertHash and MAC longer than 32 bytes are cut to 32.
func (cb CryptoBinding) Attribute() Attribute {
	v := make([]byte, cryptoBindingLen)
	v[3] = byte(cb.Hash)
	copy(v[bindingNonceOff:], cb.Nonce[:])
	copy(v[bindingCertOff:bindingMACOff], cb.CertHash)
	copy(v[bindingMACOff:], cb.MAC)
	return Attribute{ID: AttrCryptoBinding, Value: v}
}

// ParseCryptoBinding decodes a CRYPTO_BINDING value. An unknown hash protocol is an error
// wrapping ErrMalformed, since the lengths of the fields depend on it; the padding is
// ignored, as §2.2.7 requires. CertHash and MAC alias v.
func ParseCryptoBinding(v []byte) (CryptoBinding, error) {
	if len(v) != cryptoBindingLen {
		return CryptoBinding{}, fmt.Errorf("sstp: parse CRYPTO_BINDING: %d bytes: %w", len(v), ErrMalformed)
	}
	cb := CryptoBinding{Hash: HashProtocol(v[3])}
	n := cb.Hash.size()
	if n == 0 {
		return CryptoBinding{}, fmt.Errorf("sstp: parse CRYPTO_BINDING: hash protocol %d: %w", v[3], ErrMalformed)
	}
	copy(cb.Nonce[:], v[bindingNonceOff:])
	cb.CertHash = v[bindingCertOff : bindingCertOff+n : bindingCertOff+n]
	cb.MAC = v[bindingMACOff : bindingMACOff+n : bindingMACOff+n]
	return cb, nil
}

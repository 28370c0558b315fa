package transform

import "strconv"

// The identifiers below are IANA's "Internet Key Exchange Version 2 (IKEv2) Parameters"
// (RFC 7296 §3.3.2 and its successors). Defining one does not mean p2sgw implements it: the
// registry (Supported) says what it implements. String returns IANA's name, or the type and
// number for a value this package does not name.

// Protocol is the Protocol ID of a proposal (RFC 7296 §3.3.1).
type Protocol uint8

// Protocol IDs.
const (
	ProtocolIKE Protocol = 1
	ProtocolAH  Protocol = 2
	ProtocolESP Protocol = 3
)

func (p Protocol) String() string {
	switch p {
	case ProtocolIKE:
		return "IKE"
	case ProtocolAH:
		return "AH"
	case ProtocolESP:
		return "ESP"
	}
	return unnamed("PROTOCOL", uint16(p))
}

// TransformType is the Transform Type of a transform (RFC 7296 §3.3.2). Its values are those
// of message.TransformType.
type TransformType uint8

// Transform types.
const (
	TypeENCR  TransformType = 1 // encryption algorithm
	TypePRF   TransformType = 2 // pseudorandom function
	TypeINTEG TransformType = 3 // integrity algorithm
	TypeDH    TransformType = 4 // Diffie-Hellman group (RFC 9370: key exchange method)
	TypeESN   TransformType = 5 // extended sequence numbers
)

func (t TransformType) String() string {
	switch t {
	case TypeENCR:
		return "ENCR"
	case TypePRF:
		return "PRF"
	case TypeINTEG:
		return "INTEG"
	case TypeDH:
		return "DH"
	case TypeESN:
		return "ESN"
	}
	return unnamed("TRANSFORM", uint16(t))
}

// EncrID identifies an encryption algorithm (Transform Type 1).
type EncrID uint16

// Encryption algorithms.
const (
	EncrDES3             EncrID = 3
	EncrAESCBC           EncrID = 12
	EncrAESCTR           EncrID = 13
	EncrAESGCM8          EncrID = 18 // 8-octet ICV
	EncrAESGCM12         EncrID = 19 // 12-octet ICV
	EncrAESGCM16         EncrID = 20 // 16-octet ICV
	EncrChaCha20Poly1305 EncrID = 28
)

var encrNames = map[EncrID]string{
	EncrDES3:             "ENCR_3DES",
	EncrAESCBC:           "ENCR_AES_CBC",
	EncrAESCTR:           "ENCR_AES_CTR",
	EncrAESGCM8:          "ENCR_AES_GCM_8",
	EncrAESGCM12:         "ENCR_AES_GCM_12",
	EncrAESGCM16:         "ENCR_AES_GCM_16",
	EncrChaCha20Poly1305: "ENCR_CHACHA20_POLY1305",
}

func (id EncrID) String() string { return name(encrNames, id, "ENCR") }

// PRFID identifies a pseudorandom function (Transform Type 2).
type PRFID uint16

// Pseudorandom functions.
const (
	PRFHMACMD5    PRFID = 1
	PRFHMACSHA1   PRFID = 2
	PRFAES128XCBC PRFID = 4
	PRFHMACSHA256 PRFID = 5
	PRFHMACSHA384 PRFID = 6
	PRFHMACSHA512 PRFID = 7
)

var prfNames = map[PRFID]string{
	PRFHMACMD5:    "PRF_HMAC_MD5",
	PRFHMACSHA1:   "PRF_HMAC_SHA1",
	PRFAES128XCBC: "PRF_AES128_XCBC",
	PRFHMACSHA256: "PRF_HMAC_SHA2_256",
	PRFHMACSHA384: "PRF_HMAC_SHA2_384",
	PRFHMACSHA512: "PRF_HMAC_SHA2_512",
}

func (id PRFID) String() string { return name(prfNames, id, "PRF") }

// IntegID identifies an integrity algorithm (Transform Type 3).
type IntegID uint16

// Integrity algorithms. IntegNone is what an AEAD suite has.
const (
	IntegNone          IntegID = 0
	IntegHMACMD596     IntegID = 1
	IntegHMACSHA196    IntegID = 2
	IntegAESXCBC96     IntegID = 5
	IntegHMACSHA256128 IntegID = 12
	IntegHMACSHA384192 IntegID = 13
	IntegHMACSHA512256 IntegID = 14
)

var integNames = map[IntegID]string{
	IntegNone:          "NONE",
	IntegHMACMD596:     "AUTH_HMAC_MD5_96",
	IntegHMACSHA196:    "AUTH_HMAC_SHA1_96",
	IntegAESXCBC96:     "AUTH_AES_XCBC_96",
	IntegHMACSHA256128: "AUTH_HMAC_SHA2_256_128",
	IntegHMACSHA384192: "AUTH_HMAC_SHA2_384_192",
	IntegHMACSHA512256: "AUTH_HMAC_SHA2_512_256",
}

func (id IntegID) String() string { return name(integNames, id, "INTEG") }

// DHGroup identifies a Diffie-Hellman group (Transform Type 4). DHNone is a CHILD SA
// without perfect forward secrecy.
type DHGroup uint16

// Diffie-Hellman groups.
const (
	DHNone       DHGroup = 0
	DHMODP1024   DHGroup = 2  // RFC 2409 §6.2
	DHMODP1536   DHGroup = 5  // RFC 3526 §2
	DHMODP2048   DHGroup = 14 // RFC 3526 §3
	DHMODP3072   DHGroup = 15 // RFC 3526 §4
	DHMODP4096   DHGroup = 16 // RFC 3526 §5
	DHMODP6144   DHGroup = 17 // RFC 3526 §6
	DHMODP8192   DHGroup = 18 // RFC 3526 §7
	DHECP256     DHGroup = 19 // RFC 5903
	DHECP384     DHGroup = 20 // RFC 5903
	DHECP521     DHGroup = 21 // RFC 5903
	DHCurve25519 DHGroup = 31 // RFC 8031
)

var dhNames = map[DHGroup]string{
	DHNone:       "NONE",
	DHMODP1024:   "MODP_1024",
	DHMODP1536:   "MODP_1536",
	DHMODP2048:   "MODP_2048",
	DHMODP3072:   "MODP_3072",
	DHMODP4096:   "MODP_4096",
	DHMODP6144:   "MODP_6144",
	DHMODP8192:   "MODP_8192",
	DHECP256:     "ECP_256",
	DHECP384:     "ECP_384",
	DHECP521:     "ECP_521",
	DHCurve25519: "CURVE25519",
}

func (g DHGroup) String() string { return name(dhNames, g, "DH") }

// ESN is an Extended Sequence Numbers choice (Transform Type 5).
type ESN uint16

// ESN values.
const (
	ESNNo  ESN = 0
	ESNYes ESN = 1
)

func (e ESN) String() string {
	switch e {
	case ESNNo:
		return "NO_ESN"
	case ESNYes:
		return "ESN"
	}
	return unnamed("ESN", uint16(e))
}

func name[K ~uint16](names map[K]string, id K, kind string) string {
	if s, ok := names[id]; ok {
		return s
	}
	return unnamed(kind, uint16(id))
}

func unnamed(kind string, v uint16) string {
	return kind + "(" + strconv.Itoa(int(v)) + ")"
}

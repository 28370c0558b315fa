package transform

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"slices"
)

// The registry: what p2sgw implements. Anything not here is refused by Select, NewPRF,
// NewKeyExchange and NewProtector alike.
//
// Legacy algorithms (MODP_1024, HMAC-SHA1-96, PRF_HMAC_SHA1) are implemented because the
// built-in Windows client offers nothing else unless reconfigured (see INTEROP.md), but Select
// only chooses them when its caller turns the legacy compat set on.

// encrAlg describes an implemented encryption algorithm. How each one lays out the Encrypted
// payload is in protect.go.
type encrAlg struct {
	aead    bool
	keyLens []uint16 // accepted Key Length attribute values, in bits
	saltLen int      // octets of salt after the key in the KEYMAT (RFC 5282 §7.1, RFC 4106 §8.1)
}

var encrAlgs = map[EncrID]encrAlg{
	EncrAESCBC: {keyLens: []uint16{128, 256}},
	// AES-192 is left out: RFC 5282 §7.3 discourages it and no client we know of needs it.
	EncrAESGCM16: {aead: true, keyLens: []uint16{128, 256}, saltLen: gcmSaltLen},
}

// integAlg describes an implemented integrity algorithm: HMAC with its output truncated to the
// leftmost icvLen octets (RFC 2404, RFC 4868 §2.3), keyed with keyLen octets (RFC 4868 §2.1.1).
type integAlg struct {
	hash   func() hash.Hash
	keyLen int
	icvLen int
	legacy bool
}

var integAlgs = map[IntegID]integAlg{
	IntegHMACSHA196:    {hash: sha1.New, keyLen: 20, icvLen: 12, legacy: true},
	IntegHMACSHA256128: {hash: sha256.New, keyLen: 32, icvLen: 16},
	IntegHMACSHA384192: {hash: sha512.New384, keyLen: 48, icvLen: 24},
	IntegHMACSHA512256: {hash: sha512.New, keyLen: 64, icvLen: 32},
}

// prfAlg describes an implemented PRF: HMAC, whose preferred key length is its output length
// (RFC 7296 §2.14, RFC 4868 §2.1.2).
type prfAlg struct {
	hash   func() hash.Hash
	size   int
	legacy bool
}

var prfAlgs = map[PRFID]prfAlg{
	PRFHMACSHA1:   {hash: sha1.New, size: sha1.Size, legacy: true},
	PRFHMACSHA256: {hash: sha256.New, size: sha256.Size},
	PRFHMACSHA384: {hash: sha512.New384, size: sha512.Size384},
	PRFHMACSHA512: {hash: sha512.New, size: sha512.Size},
}

// dhAlgs lists the implemented groups and whether each is legacy. MODP_6144, MODP_8192 and
// ECP_521 are implemented but in no default proposal: a responder that accepted MODP_8192
// from anyone would hand out ~0.1 s of CPU per IKE_SA_INIT (filippo.io/bigmod has assembly
// only up to 2048-bit moduli; see BenchmarkDH for the groups in the defaults).
var dhAlgs = map[DHGroup]bool{
	DHMODP1024:   true,
	DHMODP2048:   false,
	DHMODP3072:   false,
	DHMODP4096:   false,
	DHMODP6144:   false,
	DHMODP8192:   false,
	DHECP256:     false,
	DHECP384:     false,
	DHECP521:     false,
	DHCurve25519: false,
}

// Supported reports whether p2sgw implements transform t, its key length included. With
// legacy false, the legacy algorithms (MODP_1024, AUTH_HMAC_SHA1_96, PRF_HMAC_SHA1) count as
// unsupported. The "nothing" values INTEG NONE, DH NONE and both ESN values are supported;
// whether a protocol allows them is for Select and Suite.Validate to say.
func Supported(t Transform, legacy bool) bool {
	switch t.Type {
	case TypeENCR:
		alg, ok := encrAlgs[EncrID(t.ID)]
		return ok && slices.Contains(alg.keyLens, t.KeyLen)
	case TypeINTEG:
		if t.KeyLen != 0 {
			return false
		}
		if IntegID(t.ID) == IntegNone {
			return true
		}
		alg, ok := integAlgs[IntegID(t.ID)]
		return ok && (legacy || !alg.legacy)
	case TypePRF:
		alg, ok := prfAlgs[PRFID(t.ID)]
		return ok && t.KeyLen == 0 && (legacy || !alg.legacy)
	case TypeDH:
		if t.KeyLen != 0 {
			return false
		}
		if DHGroup(t.ID) == DHNone {
			return true
		}
		isLegacy, ok := dhAlgs[DHGroup(t.ID)]
		return ok && (legacy || !isLegacy)
	case TypeESN:
		return t.KeyLen == 0 && (ESN(t.ID) == ESNNo || ESN(t.ID) == ESNYes)
	}
	return false
}

package transform

import (
	"encoding/binary"
	"fmt"
)

// IKEKeys are the keys of an IKE SA (RFC 7296 §2.14). Every slice is newly allocated and owned
// by the caller. SKai and SKar are empty for an AEAD suite; SKei and SKer end with the 4-octet
// AES-GCM salt when the suite uses AES-GCM (RFC 5282 §7.1).
type IKEKeys struct {
	SKEYSEED []byte
	SKd      []byte // derives CHILD SA keys and the next IKE SA's SKEYSEED
	SKai     []byte // integrity, initiator to responder
	SKar     []byte // integrity, responder to initiator
	SKei     []byte // encryption, initiator to responder
	SKer     []byte // encryption, responder to initiator
	SKpi     []byte // the initiator's AUTH payload
	SKpr     []byte // the responder's AUTH payload
}

// DeriveIKEKeys derives the keys of a new IKE SA from IKE_SA_INIT (RFC 7296 §2.14):
//
//	SKEYSEED = prf(Ni | Nr, g^ir)
//	{SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
//	                = prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr)
//
// ni and nr are the Nonce payload bodies without their headers, gir the shared secret from
// KeyExchange.SharedSecret, spiI and spiR the IKE SPIs as the header carries them. The sizes
// come from the suite: SK_d, SK_pi and SK_pr the PRF's output, SK_a the integrity key, SK_e
// the encryption key with any salt.
func DeriveIKEKeys(s Suite, ni, nr, gir []byte, spiI, spiR uint64) (*IKEKeys, error) {
	if s.Protocol != ProtocolIKE {
		return nil, fmt.Errorf("%w: IKE keys for a %s suite", ErrUnsupported, s.Protocol)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	prf, err := NewPRF(s.PRF)
	if err != nil {
		return nil, err
	}
	skeyseed := prf.Sum(concatBytes(ni, nr), gir)
	return expandIKEKeys(s, prf, skeyseed, ni, nr, spiI, spiR)
}

// RekeyIKEKeys derives the keys of an IKE SA that replaces an old one in a CREATE_CHILD_SA
// exchange (RFC 7296 §2.18):
//
//	SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)
//
// with the old IKE SA's PRF (oldPRF), because the exchange belongs to the old SA; then the
// keys as in DeriveIKEKeys with the new suite's PRF, the new nonces and the new SPIs.
func RekeyIKEKeys(s Suite, oldPRF PRFID, oldSKd, gir, ni, nr []byte, spiI, spiR uint64) (*IKEKeys, error) {
	if s.Protocol != ProtocolIKE {
		return nil, fmt.Errorf("%w: IKE keys for a %s suite", ErrUnsupported, s.Protocol)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	old, err := NewPRF(oldPRF)
	if err != nil {
		return nil, err
	}
	prf, err := NewPRF(s.PRF)
	if err != nil {
		return nil, err
	}
	skeyseed := old.Sum(oldSKd, gir, ni, nr)
	return expandIKEKeys(s, prf, skeyseed, ni, nr, spiI, spiR)
}

func expandIKEKeys(s Suite, prf PRF, skeyseed, ni, nr []byte, spiI, spiR uint64) (*IKEKeys, error) {
	var spis [16]byte
	binary.BigEndian.PutUint64(spis[:8], spiI)
	binary.BigEndian.PutUint64(spis[8:], spiR)
	p, a, e := prf.Size(), s.IntegKeySize(), s.EncrKeySize()
	keymat, err := prfPlus(prf, skeyseed, 3*p+2*a+2*e, ni, nr, spis[:])
	if err != nil {
		return nil, err
	}
	k := &IKEKeys{SKEYSEED: skeyseed}
	rest := keymat
	for _, f := range []struct {
		dst *[]byte
		n   int
	}{{&k.SKd, p}, {&k.SKai, a}, {&k.SKar, a}, {&k.SKei, e}, {&k.SKer, e}, {&k.SKpi, p}, {&k.SKpr, p}} {
		*f.dst, rest = rest[:f.n:f.n], rest[f.n:]
	}
	return k, nil
}

// Protectors returns the Encrypted payload protectors of the IKE SA for the given role: send
// protects what this side sends (SK_ei/SK_ai for the initiator, SK_er/SK_ar for the
// responder), recv checks and decrypts what the peer sends.
func (k *IKEKeys) Protectors(s Suite, initiator bool) (send, recv Protector, err error) {
	iToR, err := NewProtector(s, k.SKei, k.SKai)
	if err != nil {
		return nil, nil, err
	}
	rToI, err := NewProtector(s, k.SKer, k.SKar)
	if err != nil {
		return nil, nil, err
	}
	if initiator {
		return iToR, rToI, nil
	}
	return rToI, iToR, nil
}

// DirectionKeys are the keys of one direction of a CHILD SA. Every slice is owned by the
// caller. For AES-GCM, Encr is the AES key and Salt the 4 octets that follow it in the KEYMAT,
// the first part of every ESP nonce (RFC 4106 §4, §8.1); Integ is empty. For AES-CBC, Salt is
// empty.
type DirectionKeys struct {
	Encr  []byte
	Salt  []byte
	Integ []byte
}

// ChildKeys are the keys of a CHILD SA: one ESP SA per direction (RFC 7296 §2.17).
type ChildKeys struct {
	InitiatorToResponder DirectionKeys
	ResponderToInitiator DirectionKeys
}

// DeriveChildKeys derives the keys of a CHILD SA (RFC 7296 §2.17):
//
//	KEYMAT = prf+(SK_d, Ni | Nr)                  without PFS
//	KEYMAT = prf+(SK_d, g^ir (new) | Ni | Nr)     with PFS
//
// taken as the encryption key (with salt), then the integrity key, of the SA carrying data from
// initiator to responder, then the same for the SA from responder to initiator. prf is the IKE
// SA's PRF and skd its SK_d; ni and nr are the nonces of the exchange that created the CHILD SA
// (those of IKE_SA_INIT for the CHILD SA of IKE_AUTH). gir must be set exactly when s.DH is not
// DHNone.
func DeriveChildKeys(s Suite, prf PRFID, skd, gir, ni, nr []byte) (*ChildKeys, error) {
	if s.Protocol != ProtocolESP {
		return nil, fmt.Errorf("%w: CHILD SA keys for a %s suite", ErrUnsupported, s.Protocol)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if (s.DH == DHNone) != (len(gir) == 0) {
		return nil, fmt.Errorf("%w: %s with a %d-octet shared secret", ErrKeyLength, s.DH, len(gir))
	}
	p, err := NewPRF(prf)
	if err != nil {
		return nil, err
	}
	e, a := s.EncrKeySize(), s.IntegKeySize()
	keymat, err := prfPlus(p, skd, 2*(e+a), gir, ni, nr)
	if err != nil {
		return nil, err
	}
	salt := encrAlgs[s.Encr].saltLen
	dir := func(b []byte) DirectionKeys {
		return DirectionKeys{
			Encr:  b[: e-salt : e-salt],
			Salt:  b[e-salt : e : e],
			Integ: b[e : e+a : e+a],
		}
	}
	return &ChildKeys{
		InitiatorToResponder: dir(keymat[:e+a]),
		ResponderToInitiator: dir(keymat[e+a:]),
	}, nil
}

func concatBytes(a, b []byte) []byte {
	out := make([]byte, 0, len(a)+len(b))
	return append(append(out, a...), b...)
}

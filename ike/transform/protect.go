package transform

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"fmt"
	"io"
	"slices"
)

// Protector encrypts and authenticates the body of Encrypted payloads (SK, RFC 7296 §3.14) and
// Encrypted Fragment payloads (SKF, RFC 7383) in one direction of an IKE SA. Make one per
// direction with NewProtector or IKEKeys.Protectors. A Protector holds no per-message state and
// is safe for concurrent use.
//
// The body is everything after the payload's own header:
//
//	IV | Ciphertext of (payloads | Padding | Pad Length) | ICV
//
// aad is always "the message from the first octet of the IKE header through the last octet of
// the SK payload header" (the SKF header for a fragment): the exact octets that precede the
// body on the wire, the header's Length fields and any unencrypted payloads before the SK
// payload included.
//
//   - AES-GCM (RFC 5282): aad is the associated data (§5.1), the nonce is the 4-octet salt
//     from the end of SK_e followed by the 8-octet IV (§4), the ICV is the 16-octet tag.
//   - AES-CBC with HMAC (RFC 7296 §3.14): the ICV is the HMAC over "the entire message starting
//     with the Fixed IKE header through the Pad Length", encrypted: aad | IV | Ciphertext,
//     truncated to the integrity algorithm's length (RFC 4868 §2.3).
//
// Since aad includes the IKE header's and the SK header's Length fields, which count the body,
// a sender writes the header with the length SealedLen gives, then seals:
//
//	msg = append(msg, header, payloads before SK, SK header)   // lengths from SealedLen
//	msg, err = p.Seal(msg, inner, msg, rand)                    // aad aliases msg: allowed
//
// and a receiver, having found where the body starts:
//
//	inner, err := p.Open(nil, msg[bodyStart:], msg[:bodyStart])
type Protector interface {
	// SealedLen returns the length of the body Seal produces for n octets of plaintext.
	SealedLen(n int) int
	// Seal appends IV | Ciphertext | ICV for plaintext to dst and returns the result. The IV is
	// read from rand. Padding is the least the cipher needs, all zero octets. aad may alias dst;
	// plaintext must not overlap dst's spare capacity.
	Seal(dst, plaintext, aad []byte, rand io.Reader) ([]byte, error)
	// Open checks the ICV of body against aad in constant time, decrypts, strips the padding
	// (accepting any Pad Length the recipient must: up to 255 octets, RFC 7296 §3.14, RFC 5282
	// §3) and appends the payloads to dst. It returns ErrAuthentication if the check fails and
	// ErrMalformed for a body whose length cannot be right or whose Pad Length is longer than
	// what precedes it; it never panics on any body or aad. dst's spare capacity must not
	// overlap body or aad.
	Open(dst, body, aad []byte) ([]byte, error)
}

// NewProtector returns the Protector of an IKE SA suite for one direction, keyed with that
// direction's SK_e (with the AES-GCM salt at its end) and SK_a (empty for AES-GCM). It copies
// the keys. It returns an error wrapping ErrUnsupported for a suite other than an IKE SA's, or
// ErrKeyLength for a key of the wrong size.
func NewProtector(s Suite, encKey, integKey []byte) (Protector, error) {
	if s.Protocol != ProtocolIKE {
		return nil, fmt.Errorf("%w: Encrypted payload for a %s suite", ErrUnsupported, s.Protocol)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if len(encKey) != s.EncrKeySize() || len(integKey) != s.IntegKeySize() {
		return nil, fmt.Errorf("%w: %d-octet SK_e and %d-octet SK_a for %s",
			ErrKeyLength, len(encKey), len(integKey), s)
	}
	alg := encrAlgs[s.Encr]
	keyLen := len(encKey) - alg.saltLen
	block, err := aes.NewCipher(encKey[:keyLen])
	if err != nil {
		return nil, err
	}
	if alg.aead {
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		p := &gcmProtector{aead: aead}
		copy(p.salt[:], encKey[keyLen:])
		return p, nil
	}
	return &cbcProtector{block: block, integ: integAlgs[s.Integ], key: slices.Clone(integKey)}, nil
}

// AES-GCM-16 in the Encrypted payload (RFC 5282).
const (
	gcmIVLen   = 8
	gcmSaltLen = 4
	gcmTagLen  = 16
)

type gcmProtector struct {
	aead cipher.AEAD
	salt [gcmSaltLen]byte
}

var _ Protector = (*gcmProtector)(nil)

// SealedLen: no alignment, so no padding; one Pad Length octet of zero.
func (p *gcmProtector) SealedLen(n int) int { return gcmIVLen + n + 1 + gcmTagLen }

func (p *gcmProtector) Seal(dst, plaintext, aad []byte, rand io.Reader) ([]byte, error) {
	ret, out := sliceForAppend(dst, p.SealedLen(len(plaintext)))
	iv := out[:gcmIVLen]
	// A random 64-bit IV repeats with probability about m²/2^65 after m messages: negligible
	// for the hundreds of messages an IKE SA carries (RFC 5282 §3.1 asks only for uniqueness).
	if _, err := io.ReadFull(rand, iv); err != nil {
		return nil, fmt.Errorf("transform: read IV: %w", err)
	}
	padded := out[gcmIVLen : gcmIVLen+len(plaintext)+1]
	copy(padded, plaintext)
	padded[len(plaintext)] = 0 // Pad Length
	nonce := p.nonce(iv)
	p.aead.Seal(padded[:0], nonce[:], padded, aad)
	return ret, nil
}

func (p *gcmProtector) Open(dst, body, aad []byte) ([]byte, error) {
	if len(body) < gcmIVLen+1+gcmTagLen {
		return nil, fmt.Errorf("%w: %d-octet body", ErrMalformed, len(body))
	}
	nonce := p.nonce(body[:gcmIVLen])
	ret, out := sliceForAppend(dst, len(body)-gcmIVLen-gcmTagLen)
	padded, err := p.aead.Open(out[:0], nonce[:], body[gcmIVLen:], aad)
	if err != nil {
		return nil, ErrAuthentication
	}
	n, err := unpad(padded)
	if err != nil {
		return nil, err
	}
	return ret[:len(dst)+n], nil
}

func (p *gcmProtector) nonce(iv []byte) [gcmSaltLen + gcmIVLen]byte {
	var nonce [gcmSaltLen + gcmIVLen]byte
	copy(nonce[:gcmSaltLen], p.salt[:])
	copy(nonce[gcmSaltLen:], iv)
	return nonce
}

// AES-CBC with a truncated HMAC in the Encrypted payload (RFC 7296 §3.14).
type cbcProtector struct {
	block cipher.Block
	integ integAlg
	key   []byte
}

var _ Protector = (*cbcProtector)(nil)

// SealedLen: a block-sized IV, payloads | Padding | Pad Length rounded up to whole blocks.
func (p *cbcProtector) SealedLen(n int) int {
	return aes.BlockSize + roundUp(n+1, aes.BlockSize) + p.integ.icvLen
}

func (p *cbcProtector) Seal(dst, plaintext, aad []byte, rand io.Reader) ([]byte, error) {
	ret, out := sliceForAppend(dst, p.SealedLen(len(plaintext)))
	iv := out[:aes.BlockSize]
	// RFC 7296 §3.14: a new unpredictable IV for every message.
	if _, err := io.ReadFull(rand, iv); err != nil {
		return nil, fmt.Errorf("transform: read IV: %w", err)
	}
	ctEnd := len(out) - p.integ.icvLen
	padded := out[aes.BlockSize:ctEnd]
	copy(padded, plaintext)
	clear(padded[len(plaintext):])
	padded[len(padded)-1] = byte(len(padded) - len(plaintext) - 1) // Pad Length
	cipher.NewCBCEncrypter(p.block, iv).CryptBlocks(padded, padded)
	copy(out[ctEnd:], p.icv(aad, out[:ctEnd]))
	return ret, nil
}

func (p *cbcProtector) Open(dst, body, aad []byte) ([]byte, error) {
	icvLen := p.integ.icvLen
	ctLen := len(body) - aes.BlockSize - icvLen
	if ctLen < aes.BlockSize || ctLen%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: %d-octet body", ErrMalformed, len(body))
	}
	ctEnd := len(body) - icvLen
	if !hmac.Equal(p.icv(aad, body[:ctEnd]), body[ctEnd:]) {
		return nil, ErrAuthentication
	}
	ret, out := sliceForAppend(dst, ctLen)
	cipher.NewCBCDecrypter(p.block, body[:aes.BlockSize]).CryptBlocks(out, body[aes.BlockSize:ctEnd])
	n, err := unpad(out)
	if err != nil {
		return nil, err
	}
	return ret[:len(dst)+n], nil
}

// icv returns the truncated HMAC of aad | ivAndCiphertext.
func (p *cbcProtector) icv(aad, ivAndCiphertext []byte) []byte {
	mac := hmac.New(p.integ.hash, p.key)
	mac.Write(aad)
	mac.Write(ivAndCiphertext)
	return mac.Sum(nil)[:p.integ.icvLen]
}

// unpad returns the length of the payloads in decrypted payloads | Padding | Pad Length.
func unpad(padded []byte) (int, error) {
	if len(padded) == 0 {
		return 0, fmt.Errorf("%w: no Pad Length", ErrMalformed)
	}
	n := len(padded) - 1 - int(padded[len(padded)-1])
	if n < 0 {
		return 0, fmt.Errorf("%w: Pad Length %d in %d octets", ErrMalformed, padded[len(padded)-1], len(padded))
	}
	return n, nil
}

func roundUp(n, block int) int { return (n + block - 1) / block * block }

// sliceForAppend extends in by n octets, reallocating if its capacity is short, and returns
// the whole slice and the n new octets.
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	return head, head[len(in):]
}

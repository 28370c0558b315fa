package transform

import (
	"crypto/hmac"
	"fmt"
)

// PRF is a pseudorandom function of an IKE SA (RFC 7296 §2.13). Implementations are safe for
// concurrent use.
type PRF interface {
	// ID returns the transform ID.
	ID() PRFID
	// Size returns the output length in octets, which for HMAC is also the preferred key length:
	// the size of SK_d, SK_pi and SK_pr (RFC 7296 §2.14).
	Size() int
	// Sum returns prf(key, data[0] | data[1] | …) in a new slice. The key is used whole, of
	// any length: SKEYSEED takes Ni | Nr as its key.
	Sum(key []byte, data ...[]byte) []byte
}

// NewPRF returns the PRF id, or an error wrapping ErrUnsupported. Only the HMAC PRFs are
// implemented; none of them has a fixed key length, so the special cases of RFC 7296 §2.14 for
// AES-XCBC never arise.
func NewPRF(id PRFID) (PRF, error) {
	alg, ok := prfAlgs[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnsupported, id)
	}
	return hmacPRF{id: id, alg: alg}, nil
}

type hmacPRF struct {
	id  PRFID
	alg prfAlg
}

var _ PRF = hmacPRF{}

func (p hmacPRF) ID() PRFID { return p.id }
func (p hmacPRF) Size() int { return p.alg.size }

func (p hmacPRF) Sum(key []byte, data ...[]byte) []byte {
	mac := hmac.New(p.alg.hash, key)
	for _, d := range data {
		mac.Write(d)
	}
	return mac.Sum(make([]byte, 0, p.alg.size))
}

// maxPRFPlusBlocks is the most prf+ can produce: the counter is one octet from 0x01 up.
const maxPRFPlusBlocks = 255

// PRFPlus returns the first n octets of prf+(key, seed) (RFC 7296 §2.13):
//
//	prf+ (K,S) = T1 | T2 | T3 | T4 | ...
//	T1 = prf (K, S | 0x01)
//	T2 = prf (K, T1 | S | 0x02)
//	...
//
// It returns ErrKeyMaterialTooLong if n needs more than 255 blocks.
func PRFPlus(p PRF, key, seed []byte, n int) ([]byte, error) {
	return prfPlus(p, key, n, seed)
}

// prfPlus is PRFPlus with the seed S given in parts, so callers need not concatenate them.
func prfPlus(p PRF, key []byte, n int, seed ...[]byte) ([]byte, error) {
	size := p.Size()
	if n < 0 || n > maxPRFPlusBlocks*size {
		return nil, fmt.Errorf("%w: %d octets from %s", ErrKeyMaterialTooLong, n, p.ID())
	}
	out := make([]byte, 0, (n+size-1)/size*size)
	parts := make([][]byte, 0, len(seed)+2)
	var prev []byte
	for i := 1; len(out) < n; i++ {
		parts = append(parts[:0], prev)
		parts = append(parts, seed...)
		parts = append(parts, []byte{byte(i)})
		prev = p.Sum(key, parts...)
		out = append(out, prev...)
	}
	return out[:n], nil
}

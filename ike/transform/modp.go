package transform

import (
	"encoding/hex"
	"fmt"
	"io"
	"sync"

	"filippo.io/bigmod"
)

// modpGroup is a MODP group of RFC 2409 or RFC 3526: a safe prime p with generator 2.
type modpGroup struct {
	p    *bigmod.Modulus // read-only after construction, shared by all key exchanges
	size int             // octets of p: of every public value and shared secret
	// expLen is the octets of the private exponent: at least twice the larger of RFC 3526
	// §8's two strength estimates for the group (SP 800-56A asks for twice the strength).
	// A short exponent is safe with safe primes and makes exponentiation several times
	// faster than a full-length one; its length is fixed per group, so timing reveals
	// nothing about it.
	expLen int
}

var modpGroups = map[DHGroup]func() *modpGroup{
	DHMODP1024: sync.OnceValue(func() *modpGroup { return newMODPGroup(modp1024Hex, 32) }),
	DHMODP2048: sync.OnceValue(func() *modpGroup { return newMODPGroup(modp2048Hex, 40) }),
	DHMODP3072: sync.OnceValue(func() *modpGroup { return newMODPGroup(modp3072Hex, 56) }),
	DHMODP4096: sync.OnceValue(func() *modpGroup { return newMODPGroup(modp4096Hex, 64) }),
	DHMODP6144: sync.OnceValue(func() *modpGroup { return newMODPGroup(modp6144Hex, 72) }),
	DHMODP8192: sync.OnceValue(func() *modpGroup { return newMODPGroup(modp8192Hex, 80) }),
}

func newMODPGroup(primeHex string, expLen int) *modpGroup {
	b, err := hex.DecodeString(primeHex)
	if err != nil {
		panic("transform: bad MODP prime constant: " + err.Error())
	}
	m, err := bigmod.NewModulus(b)
	if err != nil {
		panic("transform: bad MODP prime constant: " + err.Error())
	}
	return &modpGroup{p: m, size: len(b), expLen: expLen}
}

// modpKeyExchange exponentiates with filippo.io/bigmod, whose Exp runs in time that depends
// only on the lengths of its operands: math/big's does not.
type modpKeyExchange struct {
	group DHGroup
	mg    *modpGroup
	x     []byte // the private exponent, big-endian
	pub   []byte
}

var _ KeyExchange = (*modpKeyExchange)(nil)

func newMODPKeyExchange(g DHGroup, mg *modpGroup, rand io.Reader) (KeyExchange, error) {
	x := make([]byte, mg.expLen)
	if _, err := io.ReadFull(rand, x); err != nil {
		return nil, fmt.Errorf("transform: read %s private exponent: %w", g, err)
	}
	if allZero(x) { // only a broken random source does this
		return nil, fmt.Errorf("transform: all-zero %s private exponent from the random source", g)
	}
	gen, err := bigmod.NewNat().SetBytes([]byte{2}, mg.p)
	if err != nil {
		return nil, err
	}
	pub := bigmod.NewNat().Exp(gen, x, mg.p).Bytes(mg.p)
	return &modpKeyExchange{group: g, mg: mg, x: x, pub: pub}, nil
}

func (k *modpKeyExchange) Group() DHGroup    { return k.group }
func (k *modpKeyExchange) PublicKey() []byte { return k.pub }

func (k *modpKeyExchange) SharedSecret(peer []byte) ([]byte, error) {
	// RFC 7296 §3.4: the value is exactly as long as p, zero-padded.
	if len(peer) != k.mg.size {
		return nil, fmt.Errorf("%w: %d octets for %s", ErrInvalidPublicKey, len(peer), k.group)
	}
	y, err := bigmod.NewNat().SetBytes(peer, k.mg.p)
	if err != nil { // y >= p
		return nil, fmt.Errorf("%w: %s: not below p", ErrInvalidPublicKey, k.group)
	}
	// RFC 6989 §2.1: with a safe prime, 1 < y < p-1 is the whole check. The peer's value is
	// public, so these comparisons need not hide anything.
	if y.IsZero() == 1 || y.IsOne() == 1 || y.IsMinusOne(k.mg.p) == 1 {
		return nil, fmt.Errorf("%w: %s: 0, 1 or p-1", ErrInvalidPublicKey, k.group)
	}
	return bigmod.NewNat().Exp(y, k.x, k.mg.p).Bytes(k.mg.p), nil
}

package transform

import (
	"crypto/ecdh"
	cryptorand "crypto/rand"
	"crypto/subtle"
	"fmt"
	"io"
)

// KeyExchange is one side's ephemeral Diffie-Hellman key (RFC 7296 §1.2, §3.4). It is used for
// one exchange and then dropped. Its methods are safe for concurrent use.
type KeyExchange interface {
	// Group returns the group.
	Group() DHGroup
	// PublicKey returns the Key Exchange Data of our KE payload: for MODP groups g^x mod p
	// big-endian, zero-padded to the length of p (RFC 7296 §3.4); for ECP groups x | y, each
	// coordinate padded to the field size, with no point-format octet (RFC 5903 §7); for
	// Curve25519 the 32-octet u-coordinate (RFC 8031 §2). The caller must not modify it.
	PublicKey() []byte
	// SharedSecret checks the peer's Key Exchange Data and returns g^ir in a new slice: for
	// MODP big-endian padded to the length of p (RFC 7296 §2.14), for ECP the x coordinate
	// (RFC 5903 §7), for Curve25519 the 32-octet X25519 output (RFC 8031 §2). A value of the
	// wrong length or outside the group (MODP: not 1 < y < p-1; ECP: not on the curve;
	// Curve25519: a point of small order, giving an all-zero result) is refused with
	// ErrInvalidPublicKey (RFC 6989).
	SharedSecret(peer []byte) ([]byte, error)
}

// NewKeyExchange makes an ephemeral key in group g. The private key is read from rand (nil
// means crypto/rand.Reader): for ECP and Curve25519 the scalar bytes, for MODP the exponent. It
// returns an error wrapping ErrUnsupported for a group not in the registry (DHNone included).
//
// Reading the key from rand ourselves, rather than through ecdh.Curve.GenerateKey, is
// deliberate: since Go 1.26 GenerateKey ignores its reader, and a fixed reader is how the
// tests reproduce RFC 5903 and RFC 7748 vectors.
func NewKeyExchange(g DHGroup, rand io.Reader) (KeyExchange, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	if mg, ok := modpGroups[g]; ok {
		return newMODPKeyExchange(g, mg(), rand)
	}
	if c, ok := ecdhCurves[g]; ok {
		return newECDHKeyExchange(g, c, rand)
	}
	return nil, fmt.Errorf("%w: key exchange in %s", ErrUnsupported, g)
}

// ecdhCurve is a group implemented with crypto/ecdh.
type ecdhCurve struct {
	curve ecdh.Curve
	// scalarLen is the octets of a private scalar; topMask clears the bits of its first
	// octet above the bit length of the group order, so rejection sampling rarely rejects.
	scalarLen int
	topMask   byte
	// coordLen is the octets of one coordinate on the wire; zero for Curve25519, whose
	// public value is crypto/ecdh's encoding as is.
	coordLen int
}

var ecdhCurves = map[DHGroup]ecdhCurve{
	DHECP256:     {curve: ecdh.P256(), scalarLen: 32, topMask: 0xff, coordLen: 32},
	DHECP384:     {curve: ecdh.P384(), scalarLen: 48, topMask: 0xff, coordLen: 48},
	DHECP521:     {curve: ecdh.P521(), scalarLen: 66, topMask: 0x01, coordLen: 66},
	DHCurve25519: {curve: ecdh.X25519(), scalarLen: 32, topMask: 0xff},
}

// maxScalarTries bounds rejection sampling of NIST scalars. A uniformly random candidate is
// out of range with probability below 2^-32 for every curve here, so running out means rand
// is broken.
const maxScalarTries = 16

type ecdhKeyExchange struct {
	group DHGroup
	c     ecdhCurve
	priv  *ecdh.PrivateKey
	pub   []byte
}

func newECDHKeyExchange(g DHGroup, c ecdhCurve, rand io.Reader) (KeyExchange, error) {
	scalar := make([]byte, c.scalarLen)
	for range maxScalarTries {
		if _, err := io.ReadFull(rand, scalar); err != nil {
			return nil, fmt.Errorf("transform: read %s private key: %w", g, err)
		}
		scalar[0] &= c.topMask
		priv, err := c.curve.NewPrivateKey(scalar)
		if err != nil {
			continue // zero or not below the group order: draw again
		}
		pub := priv.PublicKey().Bytes()
		if c.coordLen != 0 {
			pub = pub[1:] // drop the 0x04 uncompressed-point octet
		}
		return &ecdhKeyExchange{group: g, c: c, priv: priv, pub: pub}, nil
	}
	return nil, fmt.Errorf("transform: no valid %s private key from the random source", g)
}

var _ KeyExchange = (*ecdhKeyExchange)(nil)

func (k *ecdhKeyExchange) Group() DHGroup    { return k.group }
func (k *ecdhKeyExchange) PublicKey() []byte { return k.pub }

func (k *ecdhKeyExchange) SharedSecret(peer []byte) ([]byte, error) {
	encoded := peer
	if k.c.coordLen != 0 {
		if len(peer) != 2*k.c.coordLen {
			return nil, fmt.Errorf("%w: %d octets for %s", ErrInvalidPublicKey, len(peer), k.group)
		}
		encoded = make([]byte, 1+len(peer))
		encoded[0] = 4
		copy(encoded[1:], peer)
	} else if len(peer) != len(k.pub) {
		return nil, fmt.Errorf("%w: %d octets for %s", ErrInvalidPublicKey, len(peer), k.group)
	}
	pk, err := k.c.curve.NewPublicKey(encoded) // checks the point is on the curve
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidPublicKey, k.group, err)
	}
	secret, err := k.priv.ECDH(pk) // X25519: refuses an all-zero result
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidPublicKey, k.group, err)
	}
	if allZero(secret) {
		return nil, fmt.Errorf("%w: %s: all-zero shared secret", ErrInvalidPublicKey, k.group)
	}
	return secret, nil
}

// allZero reports, in time independent of the contents, whether b is all zero octets.
func allZero(b []byte) bool {
	var acc byte
	for _, v := range b {
		acc |= v
	}
	return subtle.ConstantTimeByteEq(acc, 0) == 1
}

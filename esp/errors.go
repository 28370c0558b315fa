package esp

import "errors"

// Errors of building an SA. They come wrapped with the detail of what was wrong.
var (
	// ErrSPI: the SPI is zero, which RFC 4303 §2.1 reserves and which would read as the
	// non-ESP marker on UDP port 4500.
	ErrSPI = errors.New("esp: SPI 0 is reserved")
	// ErrTransform: the cipher or integrity algorithm is unknown, or they do not go together.
	ErrTransform = errors.New("esp: unsupported transform")
	// ErrKeyLength: a key is not the length its algorithm needs.
	ErrKeyLength = errors.New("esp: wrong key length")
	// ErrRand: the random source failed while building an SA.
	ErrRand = errors.New("esp: random source failed")
)

// Errors of Seal. They are never wrapped, so the hot path allocates nothing; compare with ==.
var (
	// ErrExhausted: the SA has used its last sequence number (2^32-1, or 2^64-1 with ESN)
	// and refuses to send more, as RFC 4303 §3.3.3 requires. The IKE layer must rekey.
	ErrExhausted = errors.New("esp: sequence numbers exhausted, the SA must be rekeyed")
	// ErrNoRoom: the buffer has less room before or after the inner packet than the
	// transform needs (see Transform.HeaderLen and Transform.TrailerLen).
	ErrNoRoom = errors.New("esp: no room in the buffer for the ESP header or trailer")
	// ErrNotIP: the inner packet is empty or is neither IPv4 nor IPv6.
	ErrNotIP = errors.New("esp: inner packet is neither IPv4 nor IPv6")
)

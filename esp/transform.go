package esp

import (
	"fmt"
	"io"
)

// Cipher is the ESP encryption algorithm of an SA. The zero value is no cipher and is invalid:
// ESP without encryption is not offered.
type Cipher uint8

const (
	// CipherNone is the zero value: no cipher, invalid.
	CipherNone Cipher = iota
	// AESGCM128 is AES-GCM with a 128-bit key and a 16-octet ICV (RFC 4106; IKEv2
	// ENCR_AES_GCM_16 with key length 128).
	AESGCM128
	// AESGCM256 is AES-GCM with a 256-bit key and a 16-octet ICV.
	AESGCM256
	// AESCBC128 is AES-CBC with a 128-bit key (RFC 3602); it needs an Integrity algorithm.
	AESCBC128
	// AESCBC256 is AES-CBC with a 256-bit key.
	AESCBC256
	numCiphers
)

// Integrity is the ESP integrity algorithm of an SA that uses a non-AEAD cipher. Each is HMAC
// truncated to the ICV length the RFC fixes for ESP.
type Integrity uint8

const (
	// IntegrityNone is the integrity of AEAD ciphers, whose ICV is part of the cipher.
	IntegrityNone Integrity = iota
	// HMACSHA1 is HMAC-SHA1-96 (RFC 2404): 20-octet key, 12-octet ICV.
	HMACSHA1
	// HMACSHA256 is HMAC-SHA-256-128 (RFC 4868): 32-octet key, 16-octet ICV.
	HMACSHA256
	// HMACSHA384 is HMAC-SHA-384-192 (RFC 4868): 48-octet key, 24-octet ICV.
	HMACSHA384
	// HMACSHA512 is HMAC-SHA-512-256 (RFC 4868): 64-octet key, 32-octet ICV.
	HMACSHA512
	numIntegrities
)

// Sizes on the wire.
const (
	spiLen     = 4
	seqLen     = 4
	gcmIVLen   = 8  // RFC 4106 §3.1
	gcmSaltLen = 4  // RFC 4106 §4
	gcmICVLen  = 16 // the 16-octet ICV variant only
	cbcIVLen   = 16 // RFC 3602 §3: the AES block size
	gcmAlign   = 4  // RFC 4303 §2.4: the ciphertext ends on a 4-octet boundary
	cbcAlign   = 16 // RFC 3602 §3: whole AES blocks
	trailerLen = 2  // Pad Length and Next Header

	// Headroom (24) is the most room any transform needs in front of the inner packet: the
	// header with a 16-octet CBC IV. A buffer that reserves Headroom serves every SA.
	Headroom = spiLen + seqLen + cbcIVLen
	// Tailroom (49) is the most room any transform needs after the inner packet: CBC padding of
	// up to 15 octets, Pad Length, Next Header and the 32-octet ICV of HMAC-SHA-512-256.
	Tailroom = cbcAlign - 1 + trailerLen + 32
)

type cipherSpec struct {
	name       string
	key, ivLen int // AES key (without salt), IV on the wire
	align      int // the ciphertext is a whole number of align octets
	aead       bool
}

var cipherInfo = [numCiphers]cipherSpec{
	CipherNone: {name: "none", align: 1},
	AESGCM128:  {"aes-gcm-128", 16, gcmIVLen, gcmAlign, true},
	AESGCM256:  {"aes-gcm-256", 32, gcmIVLen, gcmAlign, true},
	AESCBC128:  {"aes-cbc-128", 16, cbcIVLen, cbcAlign, false},
	AESCBC256:  {"aes-cbc-256", 32, cbcIVLen, cbcAlign, false},
}

// spec is the table row of c; the row of CipherNone for an invalid c, so that the size
// methods of an invalid Transform return small numbers instead of panicking.
func (c Cipher) spec() cipherSpec {
	if c.valid() {
		return cipherInfo[c]
	}
	return cipherInfo[CipherNone]
}

var integrityInfo = [numIntegrities]struct {
	name   string
	key    int
	icvLen int
}{
	IntegrityNone: {"none", 0, 0},
	HMACSHA1:      {"hmac-sha1-96", 20, 12},
	HMACSHA256:    {"hmac-sha2-256-128", 32, 16},
	HMACSHA384:    {"hmac-sha2-384-192", 48, 24},
	HMACSHA512:    {"hmac-sha2-512-256", 64, 32},
}

func (c Cipher) valid() bool    { return c > CipherNone && c < numCiphers }
func (i Integrity) valid() bool { return i < numIntegrities }

func (c Cipher) String() string {
	if c < numCiphers {
		return cipherInfo[c].name
	}
	return fmt.Sprintf("cipher(%d)", uint8(c))
}

func (i Integrity) String() string {
	if i.valid() {
		return integrityInfo[i].name
	}
	return fmt.Sprintf("integrity(%d)", uint8(i))
}

// AEAD reports whether c authenticates as well as encrypts, and so takes IntegrityNone.
func (c Cipher) AEAD() bool { return c.spec().aead }

// KeyLen is the length of the encryption key material c takes: the AES key, followed for
// AES-GCM by the 4-octet salt (RFC 4106 §8.1: 20 octets for AES-128, 36 for AES-256). It is
// how many octets of KEYMAT the IKE layer takes for the cipher. It is 0 for an invalid c.
func (c Cipher) KeyLen() int {
	if c.spec().aead {
		return c.spec().key + gcmSaltLen
	}
	return c.spec().key
}

// KeyLen is the length of the integrity key, 0 for IntegrityNone.
func (i Integrity) KeyLen() int {
	if !i.valid() {
		return 0
	}
	return integrityInfo[i].key
}

// A Transform is everything IKE negotiated about how an SA protects packets.
type Transform struct {
	Cipher    Cipher
	Integrity Integrity // IntegrityNone with an AEAD cipher, required otherwise
	// ESN turns on 64-bit extended sequence numbers (RFC 4303 §2.2.1; IKEv2 transform type 5).
	// Only the low 32 bits are sent; the high 32 bits are covered by the ICV.
	ESN bool
}

func (t Transform) String() string {
	s := t.Cipher.String()
	if t.Integrity != IntegrityNone {
		s += "/" + t.Integrity.String()
	}
	if t.ESN {
		s += "/esn"
	}
	return s
}

// Validate reports whether this package can use t.
func (t Transform) Validate() error {
	switch {
	case !t.Cipher.valid() || !t.Integrity.valid():
		return fmt.Errorf("%w: %s", ErrTransform, t)
	case t.Cipher.AEAD() && t.Integrity != IntegrityNone:
		return fmt.Errorf("%w: %s is an AEAD cipher and takes no integrity algorithm", ErrTransform, t.Cipher)
	case !t.Cipher.AEAD() && t.Integrity == IntegrityNone:
		return fmt.Errorf("%w: %s needs an integrity algorithm", ErrTransform, t.Cipher)
	}
	return nil
}

// HeaderLen is the length of the ESP header: SPI, sequence number and IV (16 for AES-GCM, 24
// for AES-CBC). Seal needs this much room before the inner packet.
func (t Transform) HeaderLen() int { return spiLen + seqLen + t.Cipher.spec().ivLen }

// ICVLen is the length of the Integrity Check Value at the end of each packet.
func (t Transform) ICVLen() int {
	if t.Cipher.AEAD() {
		return gcmICVLen
	}
	if !t.Integrity.valid() {
		return 0
	}
	return integrityInfo[t.Integrity].icvLen
}

// padLen is the padding Seal adds to an n-octet inner packet: the least that makes the
// ciphertext (packet, padding, Pad Length, Next Header) a whole number of align octets.
func padLen(n, align int) int { return (align - (n+trailerLen)%align) % align }

// TrailerLen is the room Seal needs after an n-octet inner packet: padding, Pad Length, Next
// Header and ICV.
func (t Transform) TrailerLen(n int) int {
	return padLen(n, t.Cipher.spec().align) + trailerLen + t.ICVLen()
}

// Overhead is how many octets ESP adds to an n-octet inner packet.
func (t Transform) Overhead(n int) int { return t.HeaderLen() + t.TrailerLen(n) }

// MaxInner is the longest inner packet whose ESP packet fits in size octets (for instance
// the path MTU less the outer IP and UDP headers), or 0 if none fits.
func (t Transform) MaxInner(size int) int {
	align := t.Cipher.spec().align
	ct := size - t.HeaderLen() - t.ICVLen()
	ct -= ct % align
	return max(ct-trailerLen, 0)
}

// Keys are the keys of one direction of an SA, as IKEv2 takes them from KEYMAT (RFC 7296
// §2.17): the encryption key first, then the integrity key.
type Keys struct {
	// Encryption is Cipher.KeyLen octets: for AES-GCM the AES key followed by the 4-octet
	// salt.
	Encryption []byte
	// Integrity is Integrity.KeyLen octets; empty for AEAD ciphers.
	Integrity []byte
}

// Config describes one direction of an SA. The SA copies what it needs; the caller may wipe
// the keys after building it.
type Config struct {
	// SPI is the SPI the packets of this direction carry: the one the receiver chose.
	SPI       uint32
	Transform Transform
	Keys      Keys
	// Rand is the random source for the key of CBC IVs (see the package comment). Only an
	// Outbound with an AES-CBC cipher reads it, once, when it is built; nil means
	// crypto/rand.Reader.
	Rand io.Reader
}

func (c *Config) validate() error {
	if c.SPI == 0 {
		return ErrSPI
	}
	t := c.Transform
	if err := t.Validate(); err != nil {
		return err
	}
	if got, want := len(c.Keys.Encryption), t.Cipher.KeyLen(); got != want {
		return fmt.Errorf("%w: %s takes a %d-octet encryption key, got %d", ErrKeyLength, t.Cipher, want, got)
	}
	if got, want := len(c.Keys.Integrity), t.Integrity.KeyLen(); got != want {
		return fmt.Errorf("%w: %s takes a %d-octet integrity key, got %d", ErrKeyLength, t.Integrity, want, got)
	}
	return nil
}

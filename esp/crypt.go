package esp

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"hash"
	"sync"
)

var integrityHash = [numIntegrities]func() hash.Hash{
	HMACSHA1:   sha1.New,
	HMACSHA256: sha256.New,
	HMACSHA384: sha512.New384,
	HMACSHA512: sha512.New,
}

// suite is the cryptographic state of one direction of an SA. It is read-only after init, so
// every goroutine may use it; what one call writes lives in a scratch from pool.
type suite struct {
	spi    uint32
	t      Transform
	hdrLen int // SPI, sequence number, IV
	icvLen int
	align  int // the ciphertext is a whole number of align octets
	minLen int // the shortest valid packet

	aead cipher.AEAD // AES-GCM
	salt [gcmSaltLen]byte

	block   cipher.Block // AES-CBC
	newHash func() hash.Hash
	macKey  []byte

	pool sync.Pool // of *scratch
}

// scratch is the working memory of one Seal or Open. Arrays on the caller's stack would
// escape to the heap through the interface calls into crypto/cipher and hash, one allocation
// per packet; a pooled scratch costs none once the pool is warm.
type scratch struct {
	nonce [gcmSaltLen + gcmIVLen]byte // salt (set once) || explicit IV
	aad   [spiLen + 8]byte            // SPI (set once) || 64-bit ESN, for AES-GCM with ESN
	ivIn  [cbcIVLen]byte              // the block encrypted into a CBC IV: seq || 0^64
	seqHi [4]byte                     // high half of an ESN, appended for the HMAC
	sum   [sha512.Size]byte
	mac   hash.Hash
	cbc   cbcMode
}

// init builds s in place (it holds a sync.Pool, which must not be copied). encrypt picks
// the direction of the CBC modes in the scratches.
func (s *suite) init(c *Config, encrypt bool) error {
	if err := c.validate(); err != nil {
		return err
	}
	t := c.Transform
	spec := t.Cipher.spec()
	s.spi, s.t = c.SPI, t
	s.hdrLen, s.icvLen, s.align = t.HeaderLen(), t.ICVLen(), spec.align
	// The shortest packet Open looks at: for CBC one block, for GCM the Pad Length and Next
	// Header alone. Open does not insist that a GCM ciphertext end on a 4-octet boundary
	// (RFC 4303 §2.4 asks it of the sender); like Linux, it lets the ICV judge.
	s.minLen = s.hdrLen + trailerLen + s.icvLen
	if !spec.aead {
		s.minLen = s.hdrLen + spec.align + s.icvLen
	}
	block, err := aes.NewCipher(c.Keys.Encryption[:spec.key])
	if err != nil {
		return err
	}
	if spec.aead {
		if s.aead, err = cipher.NewGCM(block); err != nil {
			return err
		}
		copy(s.salt[:], c.Keys.Encryption[spec.key:])
	} else {
		s.block = block
		s.newHash = integrityHash[t.Integrity]
		s.macKey = bytes.Clone(c.Keys.Integrity)
	}
	s.pool.New = func() any { return s.newScratch(encrypt) }
	return nil
}

func (s *suite) newScratch(encrypt bool) *scratch {
	sc := new(scratch)
	copy(sc.nonce[:], s.salt[:])
	binary.BigEndian.PutUint32(sc.aad[:], s.spi)
	if s.block != nil {
		sc.mac = hmac.New(s.newHash, s.macKey)
		sc.cbc = newCBC(s.block, encrypt)
	}
	return sc
}

func (s *suite) get() *scratch   { return s.pool.Get().(*scratch) }
func (s *suite) put(sc *scratch) { s.pool.Put(sc) }

// gcmAAD is the additional authenticated data of RFC 4106 §5: SPI and the 32-bit sequence
// number as they are on the wire, or SPI and the 64-bit extended sequence number.
func (s *suite) gcmAAD(sc *scratch, pkt []byte, seq uint64) []byte {
	if !s.t.ESN {
		return pkt[:spiLen+seqLen]
	}
	binary.BigEndian.PutUint64(sc.aad[spiLen:], seq)
	return sc.aad[:]
}

// sealGCM encrypts pkt, an ESP packet with its header and plaintext written and room for
// the ICV at the end, in place. cap(pkt) must be len(pkt), so the AEAD writes the tag in place.
func (s *suite) sealGCM(sc *scratch, pkt []byte, seq uint64) {
	copy(sc.nonce[gcmSaltLen:], pkt[spiLen+seqLen:s.hdrLen])
	pt := pkt[s.hdrLen : len(pkt)-s.icvLen]
	s.aead.Seal(pt[:0], sc.nonce[:], pt, s.gcmAAD(sc, pkt, seq))
}

// openGCM authenticates and decrypts pkt in place and reports whether the ICV verified.
func (s *suite) openGCM(sc *scratch, pkt []byte, seq uint64) bool {
	copy(sc.nonce[gcmSaltLen:], pkt[spiLen+seqLen:s.hdrLen])
	ct := pkt[s.hdrLen:]
	_, err := s.aead.Open(ct[:0], sc.nonce[:], ct, s.gcmAAD(sc, pkt, seq))
	return err == nil
}

// sealCBC encrypts pkt in place with the IV ivKey makes of seq, then writes the ICV.
func (s *suite) sealCBC(sc *scratch, ivKey cipher.Block, pkt []byte, seq uint64) {
	iv := pkt[spiLen+seqLen : s.hdrLen]
	binary.BigEndian.PutUint64(sc.ivIn[:], seq) // sc.ivIn[8:] stays zero
	ivKey.Encrypt(iv, sc.ivIn[:])
	end := len(pkt) - s.icvLen
	ct := pkt[s.hdrLen:end]
	sc.cbc.SetIV(iv)
	sc.cbc.CryptBlocks(ct, ct)
	copy(pkt[end:], s.icv(sc, pkt[:end], seq))
}

// openCBC verifies the ICV of pkt in constant time and, only if it verifies, decrypts pkt in
// place (encrypt-then-MAC: nothing of a forged packet is ever decrypted).
func (s *suite) openCBC(sc *scratch, pkt []byte, seq uint64) bool {
	end := len(pkt) - s.icvLen
	if !hmac.Equal(s.icv(sc, pkt[:end], seq), pkt[end:]) {
		return false
	}
	ct := pkt[s.hdrLen:end]
	sc.cbc.SetIV(pkt[spiLen+seqLen : s.hdrLen])
	sc.cbc.CryptBlocks(ct, ct)
	return true
}

// icv is the truncated HMAC over the ESP packet without its ICV, followed for ESN by the high
// 32 bits of the sequence number, which are not sent (RFC 4303 §3.3.2.1 step 4). The result
// is in sc and valid until the next call with sc.
func (s *suite) icv(sc *scratch, authed []byte, seq uint64) []byte {
	sc.mac.Reset()
	sc.mac.Write(authed)
	if s.t.ESN {
		binary.BigEndian.PutUint32(sc.seqHi[:], uint32(seq>>32))
		sc.mac.Write(sc.seqHi[:])
	}
	return sc.mac.Sum(sc.sum[:0])[:s.icvLen]
}

// cbcMode is a CBC encrypter or decrypter whose IV can be set again, so one serves every
// packet. crypto/cipher's AES-CBC modes have SetIV (crypto/tls relies on it) but do not
// promise it; portableCBC stands in if they ever lose it.
type cbcMode interface {
	CryptBlocks(dst, src []byte)
	SetIV(iv []byte)
}

func newCBC(b cipher.Block, encrypt bool) cbcMode {
	var zero [aes.BlockSize]byte
	var m cipher.BlockMode
	if encrypt {
		m = cipher.NewCBCEncrypter(b, zero[:])
	} else {
		m = cipher.NewCBCDecrypter(b, zero[:])
	}
	if c, ok := m.(cbcMode); ok {
		return c
	}
	return &portableCBC{b: b, encrypt: encrypt}
}

// portableCBC is CBC built on cipher.Block, one block at a time, in place.
type portableCBC struct {
	b       cipher.Block
	encrypt bool
	iv, ct  [aes.BlockSize]byte
}

func (c *portableCBC) SetIV(iv []byte) { copy(c.iv[:], iv) }

func (c *portableCBC) CryptBlocks(dst, src []byte) {
	for i := 0; i+aes.BlockSize <= len(src); i += aes.BlockSize {
		in, out := src[i:i+aes.BlockSize], dst[i:i+aes.BlockSize]
		if c.encrypt {
			subtle.XORBytes(out, in, c.iv[:])
			c.b.Encrypt(out, out)
			copy(c.iv[:], out)
			continue
		}
		copy(c.ct[:], in) // in may be out: keep the ciphertext for the next block
		c.b.Decrypt(out, in)
		subtle.XORBytes(out, out, c.iv[:])
		c.iv = c.ct
	}
}

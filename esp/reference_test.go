package esp

// A second ESP implementation, written from RFC 4303 §2 (Figures 1 and 2), RFC 4106 §§3-5,
// RFC 3602 §3, RFC 2404 and RFC 4868, byte by byte and with nothing from this package but
// the test's choice of algorithm, to check Seal and Open against. It is slow and simple on
// purpose.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"hash"
	"testing"
)

type refSA struct {
	spi    uint32
	gcm    bool
	key    []byte // AES key
	salt   []byte // GCM
	macKey []byte // CBC
	hash   func() hash.Hash
	icvLen int
	esn    bool
}

func newRefSA(t Transform, k Keys) refSA {
	sa := refSA{spi: testSPI, esn: t.ESN}
	switch t.Cipher {
	case AESGCM128, AESGCM256:
		sa.gcm, sa.key, sa.salt, sa.icvLen = true, k.Encryption[:len(k.Encryption)-4], k.Encryption[len(k.Encryption)-4:], 16
		return sa
	}
	sa.key, sa.macKey = k.Encryption, k.Integrity
	switch t.Integrity {
	case HMACSHA1:
		sa.hash, sa.icvLen = sha1.New, 12 // RFC 2404: HMAC-SHA-1-96
	case HMACSHA256:
		sa.hash, sa.icvLen = sha256.New, 16 // RFC 4868 §2.3: truncated to 128 bits
	case HMACSHA384:
		sa.hash, sa.icvLen = sha512.New384, 24 // 192 bits
	case HMACSHA512:
		sa.hash, sa.icvLen = sha512.New, 32 // 256 bits
	}
	return sa
}

// encode builds the ESP packet with the given full sequence number and IV.
func (sa refSA) encode(seq uint64, iv, payload []byte, next byte) []byte {
	return sa.encodeWith(seq, iv, payload, next, 0, nil)
}

// encodeWith is encode with extra blocks of padding (RFC 4303 §2.4 allows up to 255
// octets) and, if edit is not nil, a change to the plaintext before it is encrypted.
func (sa refSA) encodeWith(seq uint64, iv, payload []byte, next byte, extra int, edit func(plain []byte)) []byte {
	block, _ := aes.NewCipher(sa.key)
	align := 16
	if sa.gcm {
		align = 4
	}
	// Payload, Padding 1..k, Pad Length, Next Header: a whole number of align octets.
	plain := append([]byte(nil), payload...)
	k := byte(1)
	for ; (len(plain)+2)%align != 0; k++ {
		plain = append(plain, k)
	}
	for range extra * align {
		plain = append(plain, k)
		k++
	}
	plain = append(plain, byte(len(plain)-len(payload)), next)
	if edit != nil {
		edit(plain)
	}

	var hdr []byte
	hdr = binary.BigEndian.AppendUint32(hdr, sa.spi)
	hdr = binary.BigEndian.AppendUint32(hdr, uint32(seq))
	if sa.gcm {
		aead, _ := cipher.NewGCM(block)
		aad := binary.BigEndian.AppendUint32(nil, sa.spi)
		if sa.esn {
			aad = binary.BigEndian.AppendUint64(aad, seq) // RFC 4106 §5, Figure 4
		} else {
			aad = binary.BigEndian.AppendUint32(aad, uint32(seq))
		}
		nonce := append(append([]byte(nil), sa.salt...), iv...)
		pkt := append(append(hdr, iv...), aead.Seal(nil, nonce, plain, aad)...)
		return pkt
	}
	ct := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, plain)
	pkt := append(append(hdr, iv...), ct...)
	return append(pkt, sa.icv(pkt, seq)...)
}

func (sa refSA) icv(authed []byte, seq uint64) []byte {
	m := hmac.New(sa.hash, sa.macKey)
	m.Write(authed)
	if sa.esn {
		m.Write(binary.BigEndian.AppendUint32(nil, uint32(seq>>32))) // RFC 4303 §3.3.2.1
	}
	return m.Sum(nil)[:sa.icvLen]
}

// decode checks and decrypts pkt, given the full sequence number the receiver expects, and
// returns the IV, the payload and the Next Header.
func (sa refSA) decode(pkt []byte, seq uint64) (iv, payload []byte, next byte, ok bool) {
	block, _ := aes.NewCipher(sa.key)
	ivLen := 16
	if sa.gcm {
		ivLen = 8
	}
	if len(pkt) < 8+ivLen+sa.icvLen+2 || binary.BigEndian.Uint32(pkt) != sa.spi ||
		binary.BigEndian.Uint32(pkt[4:]) != uint32(seq) {
		return nil, nil, 0, false
	}
	iv = pkt[8 : 8+ivLen]
	var plain []byte
	if sa.gcm {
		aead, _ := cipher.NewGCM(block)
		aad := binary.BigEndian.AppendUint32(nil, sa.spi)
		if sa.esn {
			aad = binary.BigEndian.AppendUint64(aad, seq)
		} else {
			aad = binary.BigEndian.AppendUint32(aad, uint32(seq))
		}
		var err error
		if plain, err = aead.Open(nil, append(append([]byte(nil), sa.salt...), iv...), pkt[8+ivLen:], aad); err != nil {
			return nil, nil, 0, false
		}
	} else {
		end := len(pkt) - sa.icvLen
		if !hmac.Equal(sa.icv(pkt[:end], seq), pkt[end:]) || (end-8-ivLen)%16 != 0 {
			return nil, nil, 0, false
		}
		plain = make([]byte, end-8-ivLen)
		cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, pkt[8+ivLen:end])
	}
	padLen := int(plain[len(plain)-2])
	if padLen+2 > len(plain) {
		return nil, nil, 0, false
	}
	for i, b := range plain[len(plain)-2-padLen : len(plain)-2] {
		if int(b) != i+1 {
			return nil, nil, 0, false
		}
	}
	return iv, plain[:len(plain)-2-padLen], plain[len(plain)-1], true
}

// TestReferenceOpensSeal: every packet Seal makes is one the reference decodes, with the
// padding RFC 4303 §2.4 asks for and, for GCM, the sequence number as the IV.
func TestReferenceOpensSeal(t *testing.T) {
	r := newRand()
	for _, tr := range transforms {
		t.Run(tr.String(), func(t *testing.T) {
			o, _ := newPair(t, tr)
			ref := newRefSA(tr, testKeys(tr, 1))
			start := uint64(0)
			if tr.ESN {
				start = 1<<32 - 4 // cross into the second 2^32 subspace
				o.seq.Store(start)
			}
			for i, n := range []int{1, 15, 16, 17, 20, 31, 32, 33, 64, 1400, 9000} {
				seq := start + uint64(i) + 1
				inner := ipPacket(r, n, i%2 == 1)
				pkt := seal(t, o, inner)
				iv, payload, next, ok := ref.decode(pkt, seq)
				if !ok || !bytes.Equal(payload, inner) || next != nextHeader(i%2 == 1) {
					t.Fatalf("seq %#x, %d octets: the reference cannot decode Seal's packet", seq, n)
				}
				if tr.Cipher.AEAD() && binary.BigEndian.Uint64(iv) != seq {
					t.Fatalf("GCM IV %x is not the sequence number %#x", iv, seq)
				}
			}
		})
	}
}

// TestOpenDecodesReference: Open accepts what the reference builds, with IVs of the
// reference's choosing, including sequence numbers that cross 2^32 with ESN.
func TestOpenDecodesReference(t *testing.T) {
	r := newRand()
	for _, tr := range transforms {
		t.Run(tr.String(), func(t *testing.T) {
			_, in := newPair(t, tr)
			ref := newRefSA(tr, testKeys(tr, 1))
			start := uint64(0)
			if tr.ESN {
				start = 1<<32 - 4
				in.window.Accept(start)
			}
			ivLen := 16
			if tr.Cipher.AEAD() {
				ivLen = 8
			}
			for i, n := range []int{20, 21, 40, 63, 64, 65, 1400, 1500} {
				seq := start + uint64(i) + 1
				iv := make([]byte, ivLen)
				for j := range iv {
					iv[j] = byte(r.Uint32())
				}
				v6 := i%2 == 1 && n >= ipv6HeaderLen
				inner := ipPacket(r, n, v6)
				got, next, d := in.Open(ref.encode(seq, iv, inner, nextHeader(v6)))
				if d != DropNone || !bytes.Equal(got, inner) || next != nextHeader(v6) {
					t.Fatalf("seq %#x, %d octets: Open = %v", seq, n, d)
				}
			}
		})
	}
}

// TestOpenTrailer: the trailer cases a sender can get right or wrong after the ICV has
// verified (RFC 4303 §2.4, §2.6, §3.4.4.1 steps 3-4).
func TestOpenTrailer(t *testing.T) {
	r := newRand()
	for _, tr := range []Transform{{Cipher: AESGCM128}, {Cipher: AESCBC256, Integrity: HMACSHA256}} {
		iv := make([]byte, tr.HeaderLen()-8)
		inner := ipPacket(r, 40, false)
		extra := 255 / tr.Cipher.spec().align // as much padding as the Pad Length can say
		if tr.Cipher.AEAD() {
			extra--
		}
		tests := []struct {
			name  string
			pkt   func(ref refSA, seq uint64) []byte
			want  Drop
			inner []byte
		}{
			{"long padding", func(ref refSA, seq uint64) []byte {
				return ref.encodeWith(seq, iv, inner, protoIPv4, extra, nil)
			}, DropNone, inner},
			{"padding not 1, 2, 3", func(ref refSA, seq uint64) []byte {
				return ref.encodeWith(seq, iv, inner, protoIPv4, 1, func(p []byte) { p[len(p)-3] = 0 })
			}, DropPadding, nil},
			{"pad length beyond the payload", func(ref refSA, seq uint64) []byte {
				return ref.encodeWith(seq, iv, inner, protoIPv4, 0, func(p []byte) { p[len(p)-2] = byte(len(p) - 1) })
			}, DropPadding, nil},
			{"pad length is all of it", func(ref refSA, seq uint64) []byte {
				return ref.encodeWith(seq, iv, nil, protoIPv4, 0, nil)
			}, DropNextHeader, nil},
			{"dummy packet", func(ref refSA, seq uint64) []byte {
				return ref.encodeWith(seq, iv, inner, protoNone, 0, nil)
			}, DropDummy, nil},
			{"transport mode", func(ref refSA, seq uint64) []byte {
				return ref.encodeWith(seq, iv, inner[20:], 17, 0, nil)
			}, DropNextHeader, nil},
			{"IPv6 next header, IPv4 packet", func(ref refSA, seq uint64) []byte {
				return ref.encodeWith(seq, iv, inner, protoIPv6, 0, nil)
			}, DropNextHeader, nil},
		}
		for _, tt := range tests {
			t.Run(tr.String()+"/"+tt.name, func(t *testing.T) {
				_, in := newPair(t, tr)
				ref := newRefSA(tr, testKeys(tr, 1))
				got, _, d := in.Open(tt.pkt(ref, 1))
				if d != tt.want || !bytes.Equal(got, tt.inner) {
					t.Fatalf("Open = %d octets, %v; want %v", len(got), d, tt.want)
				}
				// An authenticated packet moves the window even when its payload is refused.
				if in.Top() != 1 {
					t.Errorf("window top %d, want 1", in.Top())
				}
			})
		}
	}
}

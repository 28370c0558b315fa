package transform

import (
	"crypto/rand"
	"testing"
)

// BenchmarkSealGCM256 seals a 1400-octet payload list with AES-GCM-16-256 into a reused buffer.
func BenchmarkSealGCM256(b *testing.B) {
	p := testProtector(b, Suite{Protocol: ProtocolIKE, Encr: EncrAESGCM16, KeyLen: 256, PRF: PRFHMACSHA256, DH: DHECP256})
	plain := make([]byte, 1400)
	buf := make([]byte, 0, len(testAAD)+p.SealedLen(len(plain)))
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	for b.Loop() {
		msg := append(buf[:0], testAAD...)
		if _, err := p.Seal(msg, plain, msg, rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenGCM256 opens what BenchmarkSealGCM256 seals.
func BenchmarkOpenGCM256(b *testing.B) {
	p := testProtector(b, Suite{Protocol: ProtocolIKE, Encr: EncrAESGCM16, KeyLen: 256, PRF: PRFHMACSHA256, DH: DHECP256})
	body, _ := p.Seal(nil, make([]byte, 1400), testAAD, rand.Reader)
	out := make([]byte, 0, 1500)
	b.SetBytes(1400)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Open(out, body, testAAD); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDH measures one side of a key exchange: a new ephemeral key and the shared secret
// with the peer's value.
func BenchmarkDH(b *testing.B) {
	for _, g := range []DHGroup{DHECP256, DHCurve25519, DHMODP2048, DHECP384, DHMODP3072, DHMODP4096} {
		b.Run(g.String(), func(b *testing.B) {
			peer, err := NewKeyExchange(g, rand.Reader)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				ke, err := NewKeyExchange(g, rand.Reader)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := ke.SharedSecret(peer.PublicKey()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDeriveIKEKeys derives the keys of an AES-GCM-16-256/PRF-HMAC-SHA2-384 IKE SA.
func BenchmarkDeriveIKEKeys(b *testing.B) {
	s := Suite{Protocol: ProtocolIKE, Encr: EncrAESGCM16, KeyLen: 256, PRF: PRFHMACSHA384, DH: DHECP256}
	ni, nr, gir := make([]byte, 32), make([]byte, 32), make([]byte, 32)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DeriveIKEKeys(s, ni, nr, gir, 1, 2); err != nil {
			b.Fatal(err)
		}
	}
}

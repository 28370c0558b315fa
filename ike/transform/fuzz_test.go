package transform

import (
	"bytes"
	"crypto/rand"
	"math/big"
	"sync"
	"testing"
)

// FuzzOpen: no body and aad, however made, makes Open panic or authenticate. The seeds are
// messages sealed under other keys, with bits flipped, cut short or padded out.
func FuzzOpen(f *testing.F) {
	for i, s := range protectSuites {
		other := testProtectorSeed(f, s, 99)
		body, err := other.Seal(nil, []byte("IDr AUTH SA TSi TSr"), testAAD, stream(uint64(i)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(byte(i), body, testAAD)
		flipped := append([]byte(nil), body...)
		flipped[len(flipped)/2] ^= 0x80
		f.Add(byte(i), flipped, testAAD)
		f.Add(byte(i), body[:len(body)-1], testAAD)
		f.Add(byte(i), append(append([]byte(nil), body...), make([]byte, 16)...), []byte(nil))
		f.Add(byte(i), []byte(nil), []byte(nil))
	}
	protectors := fuzzProtectors(f)
	f.Fuzz(func(t *testing.T, which byte, body, aad []byte) {
		p := protectors[int(which)%len(protectors)]
		got, err := p.Open(nil, body, aad)
		if err == nil {
			t.Fatalf("forged a %d-octet message: opened to %x", len(body), got)
		}
	})
}

// FuzzSealOpen: whatever the plaintext and aad, Open undoes Seal.
func FuzzSealOpen(f *testing.F) {
	for i := range protectSuites {
		f.Add(byte(i), []byte(nil), []byte(nil))
		f.Add(byte(i), bytes.Repeat([]byte{0xff}, 47), testAAD)
	}
	protectors := fuzzProtectors(f)
	f.Fuzz(func(t *testing.T, which byte, plain, aad []byte) {
		p := protectors[int(which)%len(protectors)]
		body, err := p.Seal(nil, plain, aad, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if len(body) != p.SealedLen(len(plain)) {
			t.Fatalf("sealed %d octets, SealedLen says %d", len(body), p.SealedLen(len(plain)))
		}
		got, err := p.Open(nil, body, aad)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("round trip: %x, %v", got, err)
		}
	})
}

var fuzzProtectorsOnce sync.Once
var fuzzProtectorsList []Protector

func fuzzProtectors(tb testing.TB) []Protector {
	fuzzProtectorsOnce.Do(func() {
		for _, s := range protectSuites {
			fuzzProtectorsList = append(fuzzProtectorsList, testProtector(tb, s))
		}
	})
	return fuzzProtectorsList
}

func testProtectorSeed(tb testing.TB, s Suite, seed uint64) Protector {
	enc, integ := make([]byte, s.EncrKeySize()), make([]byte, s.IntegKeySize())
	st := stream(seed)
	st.Read(enc)
	st.Read(integ)
	p, err := NewProtector(s, enc, integ)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// fuzzGroups are the groups FuzzSharedSecret exercises, with a fixed key in each.
var fuzzGroups = []DHGroup{DHMODP1024, DHMODP2048, DHECP256, DHECP384, DHECP521, DHCurve25519}

var fuzzKEs = sync.OnceValue(func() []KeyExchange {
	var kes []KeyExchange
	for i, g := range fuzzGroups {
		ke, err := NewKeyExchange(g, stream(uint64(i)))
		if err != nil {
			panic(err)
		}
		kes = append(kes, ke)
	}
	return kes
})

// FuzzSharedSecret: no peer value makes SharedSecret panic; one it accepts gives a secret of
// the right size, for MODP equal to what math/big computes, for Curve25519 not all zeroes.
func FuzzSharedSecret(f *testing.F) {
	for i, g := range fuzzGroups {
		peer, err := NewKeyExchange(g, stream(uint64(100+i)))
		if err != nil {
			f.Fatal(err)
		}
		pub := peer.PublicKey()
		f.Add(byte(i), pub)
		f.Add(byte(i), make([]byte, len(pub)))
		f.Add(byte(i), bytes.Repeat([]byte{0xff}, len(pub)))
		f.Add(byte(i), pub[1:])
		f.Add(byte(i), append([]byte{4}, pub...))
	}
	kes := fuzzKEs()
	f.Fuzz(func(t *testing.T, which byte, peer []byte) {
		ke := kes[int(which)%len(kes)]
		secret, err := ke.SharedSecret(peer)
		if err != nil {
			return
		}
		switch k := ke.(type) {
		case *modpKeyExchange:
			p := new(big.Int).SetBytes(k.mg.p.Nat().Bytes(k.mg.p))
			y := new(big.Int).SetBytes(peer)
			if y.Cmp(big.NewInt(1)) <= 0 || y.Cmp(new(big.Int).Sub(p, big.NewInt(1))) >= 0 {
				t.Fatalf("accepted y = %x", peer)
			}
			want := new(big.Int).Exp(y, new(big.Int).SetBytes(k.x), p).FillBytes(make([]byte, k.mg.size))
			if !bytes.Equal(secret, want) {
				t.Fatalf("g^xy %x, math/big says %x", secret, want)
			}
		case *ecdhKeyExchange:
			size := k.c.coordLen
			if size == 0 {
				size = 32
			}
			if len(secret) != size || allZero(secret) {
				t.Fatalf("%s secret %x", k.group, secret)
			}
		}
	})
}

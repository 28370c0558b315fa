package transform

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math/big"
	"testing"
	"testing/iotest"
)

// TestX25519Vector is RFC 7748 §6.1 through the KE payload encoding of RFC 8031.
func TestX25519Vector(t *testing.T) {
	alicePriv := unhex(t, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
	alicePub := unhex(t, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
	bobPriv := unhex(t, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
	bobPub := unhex(t, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
	shared := unhex(t, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
	checkVector(t, DHCurve25519, alicePriv, alicePub, bobPub, shared)
	checkVector(t, DHCurve25519, bobPriv, bobPub, alicePub, shared)
}

// TestECPVectors are RFC 5903 §8.1 and §8.2: public values are x | y without the 0x04 octet
// and the shared secret is the x coordinate.
func TestECPVectors(t *testing.T) {
	i := unhex(t, "C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433")
	gi := unhex(t, "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180"+
		"5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3")
	r := unhex(t, "C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53")
	gr := unhex(t, "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63"+
		"56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB")
	gir := unhex(t, "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE")
	checkVector(t, DHECP256, i, gi, gr, gir)
	checkVector(t, DHECP256, r, gr, gi, gir)

	r384 := unhex(t, "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655E35B538041E649EE3FAEF896783AB194")
	gi384 := unhex(t, "E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D0D1AC43A0336DEF96FDA41D0774A3571"+
		"DCFBEC7AACF3196472169E838430367F66EEBE3C6E70C416DD5F0C68759DD1FFF83FA40142209DFF5EAAD96DB9E6386C")
	gir384 := unhex(t, "11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4D603135569B9E9D09CF5D4A270F59746")
	checkVector(t, DHECP384, r384, nil, gi384, gir384)
}

func checkVector(t *testing.T, g DHGroup, priv, pub, peer, shared []byte) {
	t.Helper()
	ke, err := NewKeyExchange(g, fixed(priv))
	if err != nil {
		t.Fatal(err)
	}
	if pub != nil {
		equal(t, g.String()+" public", ke.PublicKey(), pub)
	}
	got, err := ke.SharedSecret(peer)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, g.String()+" shared", got, shared)
}

var allGroups = []DHGroup{DHMODP1024, DHMODP2048, DHMODP3072, DHMODP4096, DHMODP6144, DHMODP8192,
	DHECP256, DHECP384, DHECP521, DHCurve25519}

func TestKeyExchangeAgreement(t *testing.T) {
	sizes := map[DHGroup]int{DHMODP1024: 128, DHMODP2048: 256, DHMODP3072: 384, DHMODP4096: 512,
		DHMODP6144: 768, DHMODP8192: 1024, DHECP256: 64, DHECP384: 96, DHECP521: 132, DHCurve25519: 32}
	secretSizes := map[DHGroup]int{DHECP256: 32, DHECP384: 48, DHECP521: 66, DHCurve25519: 32}
	for _, g := range allGroups {
		t.Run(g.String(), func(t *testing.T) {
			if testing.Short() && (g == DHMODP6144 || g == DHMODP8192) {
				t.Skip("slow group")
			}
			a, err := NewKeyExchange(g, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			b, err := NewKeyExchange(g, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			if a.Group() != g || len(a.PublicKey()) != sizes[g] {
				t.Fatalf("group %s, %d-octet public value", a.Group(), len(a.PublicKey()))
			}
			sa, err := a.SharedSecret(b.PublicKey())
			if err != nil {
				t.Fatal(err)
			}
			sb, err := b.SharedSecret(a.PublicKey())
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "shared secrets", sa, sb)
			want := secretSizes[g]
			if want == 0 {
				want = sizes[g] // MODP: padded to the length of p
			}
			if len(sa) != want {
				t.Errorf("%d-octet shared secret, want %d", len(sa), want)
			}
		})
	}
}

// TestMODPAgainstMathBig checks the constant-time exponentiation against math/big's.
func TestMODPAgainstMathBig(t *testing.T) {
	for _, g := range []DHGroup{DHMODP1024, DHMODP2048, DHMODP3072, DHMODP4096} {
		t.Run(g.String(), func(t *testing.T) {
			mg := modpGroups[g]()
			p := new(big.Int).SetBytes(mg.p.Nat().Bytes(mg.p))
			x, y := make([]byte, mg.expLen), make([]byte, mg.expLen)
			stream(uint64(g)).Read(x)
			stream(uint64(g) + 100).Read(y)
			a, err := NewKeyExchange(g, fixed(x))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := NewKeyExchange(g, fixed(y))
			two := big.NewInt(2)
			gx := new(big.Int).Exp(two, new(big.Int).SetBytes(x), p)
			equal(t, "g^x", a.PublicKey(), gx.FillBytes(make([]byte, mg.size)))
			gxy := new(big.Int).Exp(gx, new(big.Int).SetBytes(y), p)
			got, err := b.SharedSecret(a.PublicKey())
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "g^xy", got, gxy.FillBytes(make([]byte, mg.size)))
		})
	}
}

// TestMODPPrimes recomputes every prime from the formula in its RFC, with pi computed here.
func TestMODPPrimes(t *testing.T) {
	const precision = 8192 + 64
	pi := new(big.Int).Sub(
		new(big.Int).Mul(big.NewInt(16), arctanInverse(5, precision)),
		new(big.Int).Mul(big.NewInt(4), arctanInverse(239, precision)),
	) // pi · 2^precision, Machin's formula
	for _, tc := range []struct {
		g    DHGroup
		bits uint
		k    int64
	}{
		{DHMODP1024, 1024, 129093}, {DHMODP2048, 2048, 124476}, {DHMODP3072, 3072, 1690314},
		{DHMODP4096, 4096, 240904}, {DHMODP6144, 6144, 929484}, {DHMODP8192, 8192, 4743158},
	} {
		// p = 2^N - 2^(N-64) - 1 + 2^64 * { [2^(N-130) pi] + k }
		p := new(big.Int).Lsh(big.NewInt(1), tc.bits)
		p.Sub(p, new(big.Int).Lsh(big.NewInt(1), tc.bits-64))
		p.Sub(p, big.NewInt(1))
		f := new(big.Int).Rsh(pi, precision-(tc.bits-130))
		f.Add(f, big.NewInt(tc.k))
		p.Add(p, f.Lsh(f, 64))
		mg := modpGroups[tc.g]()
		if got := mg.p.Nat().Bytes(mg.p); !bytes.Equal(got, p.Bytes()) {
			t.Errorf("%s: prime differs from the RFC formula", tc.g)
		}
	}
}

// arctanInverse returns arctan(1/x) · 2^bits.
func arctanInverse(x int64, bits uint) *big.Int {
	bx, x2 := big.NewInt(x), big.NewInt(x*x)
	term := new(big.Int).Quo(new(big.Int).Lsh(big.NewInt(1), bits), bx)
	sum := new(big.Int).Set(term)
	for n := int64(1); term.Sign() != 0; n++ {
		term.Quo(term, x2)
		t := new(big.Int).Quo(term, big.NewInt(2*n+1))
		if n%2 == 1 {
			sum.Sub(sum, t)
		} else {
			sum.Add(sum, t)
		}
	}
	return sum
}

func TestInvalidPeerValues(t *testing.T) {
	for _, g := range []DHGroup{DHMODP1024, DHMODP2048, DHECP256, DHECP384, DHCurve25519} {
		ke, err := NewKeyExchange(g, stream(1))
		if err != nil {
			t.Fatal(err)
		}
		valid := ke.PublicKey()
		for name, peer := range invalidPeers(t, g, valid) {
			if _, err := ke.SharedSecret(peer); !errors.Is(err, ErrInvalidPublicKey) {
				t.Errorf("%s, %s: got %v, want ErrInvalidPublicKey", g, name, err)
			}
		}
	}
}

func invalidPeers(t *testing.T, g DHGroup, valid []byte) map[string][]byte {
	n := len(valid)
	peers := map[string][]byte{
		"empty":      nil,
		"short":      valid[:n-1],
		"long":       append(append([]byte(nil), valid...), 0),
		"with 0x04":  append([]byte{4}, valid...),
		"all zeroes": make([]byte, n),
	}
	if mg, ok := modpGroups[g]; ok {
		p := new(big.Int).SetBytes(mg().p.Nat().Bytes(mg().p))
		for name, v := range map[string]*big.Int{
			"1": big.NewInt(1), "p-1": new(big.Int).Sub(p, big.NewInt(1)), "p": p,
			"p+1": new(big.Int).Add(p, big.NewInt(1)), "2^N-1": new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(8*n)), big.NewInt(1)),
		} {
			peers[name] = v.FillBytes(make([]byte, n))
		}
		return peers
	}
	if g == DHCurve25519 {
		// Points of small order: X25519 gives all zeroes (RFC 7748 §6.1, RFC 8031 §2.3).
		peers["u=1"] = append([]byte{1}, make([]byte, 31)...)
		peers["order 8"] = unhex(t, "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")
		return peers
	}
	offCurve := append([]byte(nil), valid...)
	offCurve[n-1] ^= 1
	peers["off the curve"] = offCurve
	return peers
}

func TestNewKeyExchangeErrors(t *testing.T) {
	for _, g := range []DHGroup{DHNone, DHMODP1536, 99} {
		if _, err := NewKeyExchange(g, rand.Reader); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: got %v, want ErrUnsupported", g, err)
		}
	}
	for _, g := range allGroups {
		if _, err := NewKeyExchange(g, iotest.ErrReader(errors.New("no entropy"))); err == nil {
			t.Errorf("%s: no error from a failing reader", g)
		}
	}
	if _, err := NewKeyExchange(DHMODP2048, fixed(make([]byte, 40))); err == nil {
		t.Error("MODP: all-zero exponent accepted")
	}
	// A NIST scalar source that only ever yields zero runs out of tries.
	if _, err := NewKeyExchange(DHECP256, fixed(make([]byte, 32*maxScalarTries))); err == nil {
		t.Error("ECP: zero scalar accepted")
	}
	// An out-of-range first draw is skipped.
	second, _ := hex.DecodeString("C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433")
	if _, err := NewKeyExchange(DHECP256, fixed(bytes.Repeat([]byte{0xff}, 32), second)); err != nil {
		t.Errorf("ECP: redraw: %v", err)
	}
}

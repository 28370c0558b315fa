package esp

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

const testSPI = 0x0a0b0c0d

// transforms is every transform the package supports, without and with ESN.
var transforms = func() []Transform {
	var ts []Transform
	for _, esn := range []bool{false, true} {
		ts = append(ts, Transform{Cipher: AESGCM128, ESN: esn}, Transform{Cipher: AESGCM256, ESN: esn})
		for _, c := range []Cipher{AESCBC128, AESCBC256} {
			for _, i := range []Integrity{HMACSHA1, HMACSHA256, HMACSHA384, HMACSHA512} {
				ts = append(ts, Transform{Cipher: c, Integrity: i, ESN: esn})
			}
		}
	}
	return ts
}()

// testKeys returns keys of the right lengths for t, different for each seed.
func testKeys(t Transform, seed byte) Keys {
	k := Keys{Encryption: make([]byte, t.Cipher.KeyLen()), Integrity: make([]byte, t.Integrity.KeyLen())}
	for i := range k.Encryption {
		k.Encryption[i] = seed + byte(i)
	}
	for i := range k.Integrity {
		k.Integrity[i] = seed ^ byte(3*i)
	}
	return k
}

func testConfig(t Transform) Config {
	return Config{SPI: testSPI, Transform: t, Keys: testKeys(t, 1)}
}

// newPair returns the two ends of one direction of an SA.
func newPair(tb testing.TB, t Transform) (*Outbound, *Inbound) {
	tb.Helper()
	o, err := NewOutbound(testConfig(t))
	if err != nil {
		tb.Fatal(err)
	}
	in, err := NewInbound(testConfig(t))
	if err != nil {
		tb.Fatal(err)
	}
	return o, in
}

// ipPacket returns an n-octet packet that starts like an IPv4 (or IPv6) packet and, when n
// is long enough for the header, has its total length in it; the rest is random.
func ipPacket(r *rand.Rand, n int, v6 bool) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(r.Uint32())
	}
	if n == 0 {
		return p
	}
	if !v6 {
		p[0] = 0x45
		if n >= ipv4HeaderLen {
			binary.BigEndian.PutUint16(p[2:], uint16(n))
		}
		return p
	}
	p[0] = 0x60
	if n >= ipv6HeaderLen {
		binary.BigEndian.PutUint16(p[4:], uint16(n-ipv6HeaderLen))
	}
	return p
}

// seal seals a copy of inner in a buffer with exactly the room o needs and returns a copy of
// the ESP packet.
func seal(tb testing.TB, o *Outbound, inner []byte) []byte {
	tb.Helper()
	t := o.Transform()
	h := t.HeaderLen()
	buf := make([]byte, h+len(inner)+t.TrailerLen(len(inner)))
	copy(buf[h:], inner)
	pkt, err := o.Seal(buf, h, len(inner))
	if err != nil {
		tb.Fatalf("Seal(%d octets): %v", len(inner), err)
	}
	return append([]byte(nil), pkt...)
}

// sizes of inner packets: tiny ones, each side of the block boundaries, typical MTUs, jumbo.
var sizes = []int{1, 2, 3, 4, 5, 13, 14, 15, 16, 17, 18, 20, 21, 29, 30, 31, 32, 33, 40, 45, 46, 47, 48, 49,
	62, 63, 64, 65, 100, 255, 256, 1280, 1400, 1420, 1500, 9000, 65535}

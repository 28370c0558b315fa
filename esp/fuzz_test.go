package esp

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// fuzzTransforms are the transforms the fuzz targets pick from with their first argument.
var fuzzTransforms = []Transform{
	{Cipher: AESGCM128},
	{Cipher: AESGCM256, ESN: true},
	{Cipher: AESCBC256, Integrity: HMACSHA256},
	{Cipher: AESCBC128, Integrity: HMACSHA1, ESN: true},
}

func fuzzConfig(t Transform) Config {
	c := testConfig(t)
	c.Rand = bytes.NewReader(make([]byte, 32)) // stable CBC IVs, so the seeds are the same every run
	return c
}

// FuzzOpen feeds arbitrary bytes to Open on a fresh Inbound. Open must never panic, and must
// never accept anything but the one genuine packet the Outbound of the same keys sealed.
func FuzzOpen(f *testing.F) {
	genuine := make([][]byte, len(fuzzTransforms))
	for i, tr := range fuzzTransforms {
		o, err := NewOutbound(fuzzConfig(tr))
		if err != nil {
			f.Fatal(err)
		}
		genuine[i] = seal(f, o, ipPacket(newRand(), 45+20*i, i%2 == 1))
		// Open works in place: each seed gets its own copy.
		f.Add(uint8(i), bytes.Clone(genuine[i]))
		f.Add(uint8(i), bytes.Clone(genuine[i][:len(genuine[i])-1]))
		f.Add(uint8(i), bytes.Clone(genuine[i][:tr.HeaderLen()]))
		flipped := bytes.Clone(genuine[i])
		flipped[len(flipped)/2] ^= 0x80
		f.Add(uint8(i), flipped)
	}
	f.Add(uint8(0), []byte{})
	f.Add(uint8(1), []byte{0x0a, 0x0b, 0x0c, 0x0d, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, sel uint8, pkt []byte) {
		i := int(sel) % len(fuzzTransforms)
		in, err := NewInbound(fuzzConfig(fuzzTransforms[i]))
		if err != nil {
			t.Fatal(err)
		}
		orig := bytes.Clone(pkt)
		inner, next, d := in.Open(pkt)
		if d == DropNone {
			if !bytes.Equal(orig, genuine[i]) {
				t.Fatalf("Open accepted a forgery: %x", orig)
			}
			if len(inner) == 0 || (next != protoIPv4 && next != protoIPv6) {
				t.Fatalf("accepted packet with inner %x, next header %d", inner, next)
			}
		} else if inner != nil || next != 0 {
			t.Fatalf("dropped (%v) but returned %x, %d", d, inner, next)
		}
	})
}

// FuzzSealOpen is the round trip: whatever inner packet goes in comes out.
func FuzzSealOpen(f *testing.F) {
	for i := range fuzzTransforms {
		f.Add(uint8(i), []byte{0x45, 0, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
		f.Add(uint8(i), ipPacket(newRand(), 1400, true))
	}
	f.Fuzz(func(t *testing.T, sel uint8, inner []byte) {
		tr := fuzzTransforms[int(sel)%len(fuzzTransforms)]
		if len(inner) < ipv6HeaderLen {
			return
		}
		// Make it a well-formed header of the version the first nibble picks.
		if inner[0]&0x10 == 0 {
			inner[0] = 0x45
			binary.BigEndian.PutUint16(inner[2:], uint16(len(inner)))
		} else {
			inner[0] = 0x60
			binary.BigEndian.PutUint16(inner[4:], uint16(len(inner)-ipv6HeaderLen))
		}
		if len(inner) > 0xffff {
			return
		}
		o, in := newPair(t, tr)
		got, _, d := in.Open(seal(t, o, inner))
		if d != DropNone || !bytes.Equal(got, inner) {
			t.Fatalf("%v: %d octets came back as %d, %v", tr, len(inner), len(got), d)
		}
	})
}

// FuzzClassify: the demultiplexing helpers never panic and agree with each other.
func FuzzClassify(f *testing.F) {
	f.Add([]byte{0xff})
	f.Add([]byte{0, 0, 0, 0, 1, 2})
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 1})
	f.Add([]byte{1, 2})
	f.Fuzz(func(t *testing.T, d []byte) {
		k := Classify(d)
		spi, isESP := SPI(d)
		msg, isIKE := IKEMessage(d)
		if isESP != (k == KindESP) || isIKE != (k == KindIKE) {
			t.Fatalf("Classify says %v, SPI %v, IKEMessage %v", k, isESP, isIKE)
		}
		if isESP && spi == 0 {
			t.Fatal("ESP with SPI 0")
		}
		if isIKE && !bytes.Equal(AppendMarker(nil), d[:NonESPMarkerLen]) {
			t.Fatal("IKE without the marker")
		}
		if framed := AppendMarker(nil); Classify(append(framed, d...)) != KindIKE {
			t.Fatal("a marked message is not IKE")
		} else if got, _ := IKEMessage(append(framed, d...)); !bytes.Equal(got, d) {
			t.Fatal("IKEMessage(AppendMarker(m)) != m")
		}
		_ = msg
	})
}

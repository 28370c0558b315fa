package esp

import (
	"bytes"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		d    []byte
		want Kind
		spi  uint32
		ike  []byte
	}{
		{"empty", nil, KindInvalid, 0, nil},
		{"keepalive", []byte{0xff}, KindKeepalive, 0, nil},
		{"one other octet", []byte{0x00}, KindInvalid, 0, nil},
		{"two octets", []byte{0xff, 0xff}, KindInvalid, 0, nil},
		{"three octets", []byte{1, 2, 3}, KindInvalid, 0, nil},
		{"bare marker", []byte{0, 0, 0, 0}, KindIKE, 0, []byte{}},
		{"IKE", []byte{0, 0, 0, 0, 0xaa, 0xbb}, KindIKE, 0, []byte{0xaa, 0xbb}},
		{"ESP", []byte{0xc0, 0xff, 0xee, 0x01, 0, 0, 0, 1}, KindESP, 0xc0ffee01, nil},
		{"ESP, SPI with a zero high octet", []byte{0, 0, 0, 1, 0, 0, 0, 1}, KindESP, 1, nil},
		{"short ESP is still ESP", []byte{0, 0, 1, 0}, KindESP, 256, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.d); got != tt.want {
				t.Errorf("Classify = %v, want %v", got, tt.want)
			}
			spi, ok := SPI(tt.d)
			if ok != (tt.want == KindESP) || spi != tt.spi {
				t.Errorf("SPI = %#x, %v", spi, ok)
			}
			msg, ok := IKEMessage(tt.d)
			if ok != (tt.want == KindIKE) || !bytes.Equal(msg, tt.ike) {
				t.Errorf("IKEMessage = %x, %v", msg, ok)
			}
		})
	}
}

func TestAppendFraming(t *testing.T) {
	d := append(AppendMarker([]byte("x")), "ike"...)
	if !bytes.Equal(d, []byte("x\x00\x00\x00\x00ike")) {
		t.Errorf("AppendMarker: %q", d)
	}
	if k := AppendKeepalive(nil); Classify(k) != KindKeepalive {
		t.Errorf("AppendKeepalive: %x", k)
	}
	for k := KindInvalid; k <= KindESP+1; k++ {
		if k.String() == "" {
			t.Errorf("Kind(%d) has no name", k)
		}
	}
}

// TestSealedIsESP: what Seal makes is classified as ESP and demultiplexed by its SPI.
func TestSealedIsESP(t *testing.T) {
	for _, tr := range transforms {
		o, _ := newPair(t, tr)
		pkt := seal(t, o, ipPacket(newRand(), 20, false))
		if spi, ok := SPI(pkt); !ok || spi != testSPI {
			t.Errorf("%v: SPI = %#x, %v", tr, spi, ok)
		}
	}
}

package esp

import (
	"bytes"
	"testing"
)

// TestTamper flips every bit of a genuine packet, one at a time: the SPI octets give
// DropSPI, the sequence number DropAuth (or DropTooOld when it becomes 0), every other
// octet — IV, ciphertext, padding, ICV — DropAuth. No forgery moves the window: the genuine
// packet opens afterwards.
func TestTamper(t *testing.T) {
	for _, tr := range transforms {
		t.Run(tr.String(), func(t *testing.T) {
			o, in := newPair(t, tr)
			pkt := seal(t, o, ipPacket(newRand(), 41, false))
			for i := range pkt {
				for bit := range 8 {
					bad := bytes.Clone(pkt)
					bad[i] ^= 1 << bit
					_, _, d := in.Open(bad)
					want := DropAuth
					switch {
					case i < spiLen:
						want = DropSPI
					case i < spiLen+seqLen && bad[7] == 0 && bad[4]|bad[5]|bad[6] == 0:
						want = DropTooOld
					}
					if d != want {
						t.Fatalf("bit %d of octet %d flipped: %v, want %v", bit, i, d, want)
					}
				}
			}
			if _, _, d := in.Open(pkt); d != DropNone {
				t.Fatalf("the genuine packet after the forgeries: %v", d)
			}
			if st := in.Stats(); st.Drops[DropAuth] == 0 || st.Packets != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestTruncateExtend: every prefix of a genuine packet, and the packet with octets
// appended, is dropped without a panic; what remains long enough fails authentication.
func TestTruncateExtend(t *testing.T) {
	for _, tr := range transforms {
		t.Run(tr.String(), func(t *testing.T) {
			o, in := newPair(t, tr)
			pkt := seal(t, o, ipPacket(newRand(), 100, false))
			for n := 0; n < len(pkt); n++ {
				if _, _, d := in.Open(bytes.Clone(pkt[:n])); d == DropNone {
					t.Fatalf("a %d-octet prefix opened", n)
				}
			}
			for extra := 1; extra <= 32; extra++ {
				long := append(bytes.Clone(pkt), make([]byte, extra)...)
				if _, _, d := in.Open(long); d != DropAuth && d != DropLength {
					t.Fatalf("%d octets appended: %v", extra, d)
				}
			}
			if _, _, d := in.Open(pkt); d != DropNone {
				t.Fatalf("the genuine packet: %v", d)
			}
		})
	}
}

func TestWrongSA(t *testing.T) {
	tr := Transform{Cipher: AESGCM256}
	o, _ := newPair(t, tr)
	pkt := seal(t, o, ipPacket(newRand(), 60, false))

	other := testConfig(tr)
	other.SPI++
	in, _ := NewInbound(other)
	if _, _, d := in.Open(bytes.Clone(pkt)); d != DropSPI {
		t.Errorf("wrong SPI: %v", d)
	}
	otherKey := testConfig(tr)
	otherKey.Keys = testKeys(tr, 2)
	in, _ = NewInbound(otherKey)
	if _, _, d := in.Open(bytes.Clone(pkt)); d != DropAuth {
		t.Errorf("wrong key: %v", d)
	}
	// The same keys with ESN on one side only: the ICVs differ.
	esn := testConfig(Transform{Cipher: AESGCM256, ESN: true})
	in, _ = NewInbound(esn)
	if _, _, d := in.Open(bytes.Clone(pkt)); d != DropAuth {
		t.Errorf("ESN mismatch: %v", d)
	}
}

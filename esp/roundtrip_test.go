package esp

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

func newRand() *rand.Rand { return rand.New(rand.NewPCG(7, 11)) }

// TestRoundTrip seals and opens packets of every size with every transform, and checks the
// layout of each ESP packet on the way.
func TestRoundTrip(t *testing.T) {
	r := newRand()
	for _, tr := range transforms {
		t.Run(tr.String(), func(t *testing.T) {
			o, in := newPair(t, tr)
			var bytesIn uint64
			for i, n := range sizes {
				for _, v6 := range []bool{false, true} {
					inner := ipPacket(r, n, v6)
					pkt := sealChecked(t, o, inner, uint64(2*i+1+b2i(v6)))
					if n < ipv4HeaderLen || (v6 && n < ipv6HeaderLen) {
						// Too short to be a real IP packet: the ESP layer must still round-trip it,
						// and Open must then refuse it as an inner packet.
						sc := in.s.get()
						payload, next, d := in.decap(sc, pkt)
						in.s.put(sc)
						if d != DropNone || !bytes.Equal(payload, inner) || next != nextHeader(v6) {
							t.Fatalf("decap(%d octets, v6=%v) = %x, %d, %v; want %x", n, v6, payload, next, d, inner)
						}
						continue
					}
					got, next, d := in.Open(pkt)
					if d != DropNone || !bytes.Equal(got, inner) || next != nextHeader(v6) {
						t.Fatalf("Open(%d octets, v6=%v) = %d octets, %d, %v", n, v6, len(got), next, d)
					}
					bytesIn += uint64(n)
				}
			}
			st := in.Stats()
			if st.Bytes != bytesIn || st.Dropped() != 0 {
				t.Errorf("inbound stats %+v, want %d bytes, no drops", st, bytesIn)
			}
			if st := o.Stats(); st.Packets != uint64(2*len(sizes)) {
				t.Errorf("outbound stats %+v, want %d packets", st, 2*len(sizes))
			}
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func nextHeader(v6 bool) byte {
	if v6 {
		return protoIPv6
	}
	return protoIPv4
}

// sealChecked seals inner with canaries around the exact room Seal needs, and checks the
// ESP packet against RFC 4303 §2: header fields, length, alignment, nothing written outside.
func sealChecked(t *testing.T, o *Outbound, inner []byte, wantSeq uint64) []byte {
	t.Helper()
	tr := o.Transform()
	h, n := tr.HeaderLen(), len(inner)
	const canary = 7
	buf := make([]byte, canary+h+n+tr.TrailerLen(n)+canary)
	for i := range buf {
		buf[i] = 0xA5
	}
	off := canary + h
	copy(buf[off:], inner)
	pkt, err := o.Seal(buf[:len(buf)-canary], off, n)
	if err != nil {
		t.Fatalf("Seal(%d octets): %v", n, err)
	}
	if len(pkt) != n+tr.Overhead(n) || cap(pkt) != len(pkt) || &pkt[0] != &buf[canary] {
		t.Fatalf("Seal(%d octets) returned %d octets (cap %d), want %d at offset %d", n, len(pkt), cap(pkt), n+tr.Overhead(n), canary)
	}
	for _, i := range []int{0, canary - 1, len(buf) - canary, len(buf) - 1} {
		if buf[i] != 0xA5 {
			t.Fatalf("Seal wrote outside the packet at %d", i)
		}
	}
	if spi := binary.BigEndian.Uint32(pkt); spi != testSPI {
		t.Fatalf("SPI %#x", spi)
	}
	if seq := binary.BigEndian.Uint32(pkt[4:]); seq != uint32(wantSeq) {
		t.Fatalf("sequence number %d, want %d", seq, wantSeq)
	}
	align := tr.Cipher.spec().align
	if ct := len(pkt) - h - tr.ICVLen(); ct%align != 0 || ct < n+trailerLen || ct >= n+trailerLen+align {
		t.Fatalf("ciphertext of %d octets for %d octets of payload", ct, n)
	}
	if tr.Cipher.AEAD() && binary.BigEndian.Uint64(pkt[8:]) != wantSeq {
		t.Fatalf("GCM IV %x, want the sequence number %d", pkt[8:16], wantSeq)
	}
	return append([]byte(nil), pkt...)
}

// TestCBCIVs: CBC IVs differ from packet to packet and between SAs with the same keys.
func TestCBCIVs(t *testing.T) {
	tr := Transform{Cipher: AESCBC128, Integrity: HMACSHA1}
	seen := map[string]bool{}
	for sa := 0; sa < 3; sa++ {
		o, _ := newPair(t, tr)
		for i := 0; i < 100; i++ {
			pkt := seal(t, o, ipPacket(newRand(), 40, false))
			iv := string(pkt[8:24])
			if seen[iv] {
				t.Fatalf("IV %x repeated", iv)
			}
			seen[iv] = true
		}
	}
}

// TestOpenTrimsTFCPadding: bytes after the inner packet's own length (RFC 4303 §2.4 TFC
// padding) are cut off; an inner packet longer than what arrived is dropped.
func TestOpenTrimsTFCPadding(t *testing.T) {
	o, in := newPair(t, Transform{Cipher: AESGCM128})
	inner := ipPacket(newRand(), 60, false)
	binary.BigEndian.PutUint16(inner[2:], 50) // 10 octets of TFC padding
	got, _, d := in.Open(seal(t, o, inner))
	if d != DropNone || !bytes.Equal(got, inner[:50]) {
		t.Errorf("Open = %d octets, %v; want the first 50", len(got), d)
	}
	binary.BigEndian.PutUint16(inner[2:], 61)
	if _, _, d := in.Open(seal(t, o, inner)); d != DropInner {
		t.Errorf("inner length beyond the payload: %v, want DropInner", d)
	}
	binary.BigEndian.PutUint16(inner[2:], 19)
	if _, _, d := in.Open(seal(t, o, inner)); d != DropInner {
		t.Errorf("inner length shorter than a header: %v, want DropInner", d)
	}
	v6 := ipPacket(newRand(), 100, true)
	binary.BigEndian.PutUint16(v6[4:], 30)
	if got, _, d := in.Open(seal(t, o, v6)); d != DropNone || len(got) != 70 {
		t.Errorf("IPv6 with TFC padding: %d octets, %v; want 70", len(got), d)
	}
}

func TestSealErrors(t *testing.T) {
	tr := Transform{Cipher: AESCBC256, Integrity: HMACSHA256}
	o, _ := newPair(t, tr)
	h := tr.HeaderLen()
	pkt := ipPacket(newRand(), 100, false)
	room := func(head, tail int) []byte {
		b := make([]byte, head+len(pkt)+tail)
		copy(b[head:], pkt)
		return b
	}
	tests := []struct {
		name   string
		buf    []byte
		off, n int
		want   error
	}{
		{"empty", room(h, 100), h, 0, ErrNotIP},
		{"negative length", room(h, 100), h, -1, ErrNotIP},
		{"not IP", append(room(h, 0)[:h], append([]byte{0x15}, make([]byte, 200)...)...), h, 100, ErrNotIP},
		{"headroom short by one", room(h-1, 100), h - 1, 100, ErrNoRoom},
		{"tailroom short by one", room(h, tr.TrailerLen(100)-1), h, 100, ErrNoRoom},
		{"negative offset", room(h, 100), -1, 100, ErrNoRoom},
		{"offset beyond buffer", room(h, 0), 500, 1, ErrNoRoom},
		{"length beyond buffer", room(h, 0), h, 101, ErrNoRoom},
		{"exact room", room(h, tr.TrailerLen(100)), h, 100, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := o.Seal(tt.buf, tt.off, tt.n); err != tt.want {
				t.Errorf("Seal = %v, want %v", err, tt.want)
			}
		})
	}
	st := o.Stats()
	if st.Packets != 1 || st.Drops[DropNotIP] != 3 || st.Drops[DropNoRoom] != 5 {
		t.Errorf("stats %+v", st)
	}
}

// TestSeqExhaustion: the counter stops at 2^32-1 (2^64-1 with ESN) and never wraps
// (RFC 4303 §3.3.3).
func TestSeqExhaustion(t *testing.T) {
	for _, esn := range []bool{false, true} {
		t.Run(fmt.Sprint("esn=", esn), func(t *testing.T) {
			tr := Transform{Cipher: AESGCM256, ESN: esn}
			o, in := newPair(t, tr)
			last := uint64(1<<32 - 1)
			if esn {
				last = 1<<64 - 1
			}
			o.seq.Store(last - 2)
			in.window.Accept(last - 3)
			p := ipPacket(newRand(), 40, false)
			for i := 0; i < 2; i++ {
				if _, _, d := in.Open(seal(t, o, p)); d != DropNone {
					t.Fatalf("packet %d before the end: %v", i, d)
				}
			}
			if o.Remaining() != 0 || o.Seq() != last {
				t.Fatalf("Remaining %d Seq %d", o.Remaining(), o.Seq())
			}
			buf := make([]byte, Headroom+40+Tailroom)
			copy(buf[Headroom:], p)
			for i := 0; i < 3; i++ {
				if _, err := o.Seal(buf, Headroom, 40); err != ErrExhausted {
					t.Fatalf("Seal after the last sequence number: %v", err)
				}
			}
			if o.Seq() != last || o.Stats().Drops[DropExhausted] != 3 {
				t.Errorf("Seq %d, stats %+v", o.Seq(), o.Stats())
			}
		})
	}
}

func TestSealBatch(t *testing.T) {
	tr := Transform{Cipher: AESGCM128}
	o, in := newPair(t, tr)
	r := newRand()
	const off = Headroom
	inners := [][]byte{ipPacket(r, 100, false), {0x00, 1, 2}, ipPacket(r, 1400, true), ipPacket(r, 20, false), ipPacket(r, 64, false)}
	bufs := make([][]byte, len(inners))
	sizes := make([]int, len(inners))
	for i, p := range inners {
		bufs[i] = make([]byte, off+len(p)+Tailroom)
		copy(bufs[i][off:], p)
		sizes[i] = len(p)
	}
	out := make([][]byte, len(bufs))
	if err := o.SealBatch(bufs, sizes, off, out); err != ErrNotIP {
		t.Fatalf("SealBatch = %v, want ErrNotIP for the second packet", err)
	}
	wantSeq := uint32(1)
	for i, pkt := range out {
		if i == 1 {
			if pkt != nil {
				t.Fatal("the refused packet has an output")
			}
			continue
		}
		if seq := binary.BigEndian.Uint32(pkt[4:]); seq != wantSeq {
			t.Errorf("packet %d has sequence number %d, want %d", i, seq, wantSeq)
		}
		wantSeq++
	}
	inner := make([][]byte, len(out))
	drops := make([]Drop, len(out))
	opened := in.OpenBatch(out, inner, drops)
	if opened != 4 || drops[1] != DropShort {
		t.Fatalf("OpenBatch opened %d, drops %v", opened, drops)
	}
	for i := range inner {
		if i != 1 && !bytes.Equal(inner[i], inners[i]) {
			t.Errorf("packet %d did not round-trip", i)
		}
	}

	// Running out in the middle of a batch: the first packets go, the rest are refused.
	o.seq.Store(1<<32 - 3)
	for i, p := range inners {
		copy(bufs[i][off:], p)
	}
	if err := o.SealBatch(bufs, sizes, off, out); err != ErrExhausted {
		t.Fatalf("SealBatch = %v, want ErrExhausted", err)
	}
	if out[0] == nil || out[1] != nil || out[2] == nil || out[3] != nil || out[4] != nil {
		t.Errorf("outputs after exhaustion: %v", out)
	}
	if st := o.Stats(); st.Packets != 6 || st.Drops[DropExhausted] != 2 || st.Drops[DropNotIP] != 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestConcurrent seals on one Outbound and opens on one Inbound from many goroutines at
// once: every packet gets its own sequence number and opens exactly once.
func TestConcurrent(t *testing.T) {
	for _, tr := range []Transform{{Cipher: AESGCM256}, {Cipher: AESCBC128, Integrity: HMACSHA256, ESN: true}} {
		t.Run(tr.String(), func(t *testing.T) {
			o, in := newPair(t, tr)
			const workers, each = 8, 200
			pkts := make([][]byte, workers*each)
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					r := rand.New(rand.NewPCG(uint64(w), 0))
					for i := range each {
						inner := ipPacket(r, 20+r.IntN(200), false)
						buf := make([]byte, Headroom+len(inner)+Tailroom)
						copy(buf[Headroom:], inner)
						pkt, err := o.Seal(buf, Headroom, len(inner))
						if err != nil {
							t.Error(err)
							return
						}
						pkts[w*each+i] = pkt
					}
				})
			}
			wg.Wait()
			seqs := map[uint32]bool{}
			for _, p := range pkts {
				seqs[binary.BigEndian.Uint32(p[4:])] = true
			}
			if len(seqs) != len(pkts) {
				t.Fatalf("%d packets but %d distinct sequence numbers", len(pkts), len(seqs))
			}
			// Open every packet twice, from several goroutines: each opens once.
			var opened sync.Map
			for w := range workers {
				wg.Go(func() {
					for i := w; i < 2*len(pkts); i += workers {
						p := append([]byte(nil), pkts[i%len(pkts)]...)
						if _, _, d := in.Open(p); d == DropNone {
							if _, dup := opened.LoadOrStore(i%len(pkts), true); dup {
								t.Errorf("packet %d opened twice", i%len(pkts))
							}
						} else if d != DropReplay {
							t.Errorf("packet %d: %v", i%len(pkts), d)
						}
					}
				})
			}
			wg.Wait()
			if st := in.Stats(); st.Packets != uint64(len(pkts)) || st.Drops[DropReplay] != uint64(len(pkts)) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

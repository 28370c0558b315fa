package esp

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"testing"
)

var benchTransforms = []struct {
	name string
	t    Transform
}{
	{"aes-gcm-128", Transform{Cipher: AESGCM128}},
	{"aes-gcm-256", Transform{Cipher: AESGCM256}},
	{"aes-cbc-256-sha256", Transform{Cipher: AESCBC256, Integrity: HMACSHA256}},
}

var benchSizes = []int{64, 1400}

// BenchmarkSeal: one packet per Seal. MB/s counts inner-packet octets.
func BenchmarkSeal(b *testing.B) {
	for _, bt := range benchTransforms {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/%d", bt.name, n), func(b *testing.B) {
				o, _ := newPair(b, bt.t)
				inner := ipPacket(newRand(), n, false)
				buf := make([]byte, Headroom+n+Tailroom)
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					copy(buf[Headroom:], inner)
					if _, err := o.Seal(buf, Headroom, n); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkOpen: one packet per Open. Packets are sealed in chunks outside the timer, since
// each may be opened once only.
func BenchmarkOpen(b *testing.B) {
	for _, bt := range benchTransforms {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/%d", bt.name, n), func(b *testing.B) {
				o, in := newPair(b, bt.t)
				inner := ipPacket(newRand(), n, false)
				const chunk = 1024
				bufs := make([][]byte, chunk)
				pkts := make([][]byte, chunk)
				for i := range bufs {
					bufs[i] = make([]byte, Headroom+n+Tailroom)
				}
				refill := func() {
					for i := range bufs {
						copy(bufs[i][Headroom:], inner)
						pkts[i], _ = o.Seal(bufs[i], Headroom, n)
					}
				}
				b.SetBytes(int64(n))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if i%chunk == 0 {
						b.StopTimer()
						refill()
						b.StartTimer()
					}
					if _, _, d := in.Open(pkts[i%chunk]); d != DropNone {
						b.Fatal(d)
					}
					i++
				}
			})
		}
	}
}

// BenchmarkSealBatch: batches of 64 packets of 1400 octets, as they come from a TUN read.
func BenchmarkSealBatch(b *testing.B) {
	for _, bt := range benchTransforms[1:2] {
		b.Run(bt.name+"/1400x64", func(b *testing.B) {
			const n, batch = 1400, 64
			o, _ := newPair(b, bt.t)
			inner := ipPacket(newRand(), n, false)
			bufs, sizes, out := make([][]byte, batch), make([]int, batch), make([][]byte, batch)
			for i := range bufs {
				bufs[i] = make([]byte, Headroom+n+Tailroom)
				sizes[i] = n
			}
			b.SetBytes(n * batch)
			b.ReportAllocs()
			for b.Loop() {
				for i := range bufs {
					copy(bufs[i][Headroom:], inner)
				}
				if err := o.SealBatch(bufs, sizes, Headroom, out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSealParallel: every CPU sealing on the same SA at once.
func BenchmarkSealParallel(b *testing.B) {
	const n = 1400
	o, _ := newPair(b, Transform{Cipher: AESGCM256})
	inner := ipPacket(newRand(), n, false)
	b.SetBytes(n)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, Headroom+n+Tailroom)
		for pb.Next() {
			copy(buf[Headroom:], inner)
			if _, err := o.Seal(buf, Headroom, n); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkBaselineGCM is crypto/cipher's AES-256-GCM alone on the same sizes, with the same
// copy of the input, to show what ESP adds around it.
func BenchmarkBaselineGCM(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			block, _ := aes.NewCipher(make([]byte, 32))
			aead, _ := cipher.NewGCM(block)
			nonce, aad := make([]byte, 12), make([]byte, 8)
			inner := ipPacket(newRand(), n, false)
			buf := make([]byte, n+16)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				copy(buf, inner)
				aead.Seal(buf[:0], nonce, buf[:n], aad)
			}
		})
	}
}

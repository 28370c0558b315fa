package esp

import "testing"

// TestZeroAlloc: sealing and opening a packet allocates nothing, for each family of
// transform, one packet at a time and in batches.
func TestZeroAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	const runs = 500
	for _, tr := range []Transform{
		{Cipher: AESGCM256},
		{Cipher: AESGCM128, ESN: true},
		{Cipher: AESCBC256, Integrity: HMACSHA256},
		{Cipher: AESCBC128, Integrity: HMACSHA1, ESN: true},
		{Cipher: AESCBC256, Integrity: HMACSHA512},
	} {
		t.Run(tr.String(), func(t *testing.T) {
			o, in := newPair(t, tr)
			inner := ipPacket(newRand(), 1400, false)
			buf := make([]byte, Headroom+len(inner)+Tailroom)

			// The sealed packets are kept, in buffers made beforehand, for the Open test.
			pkts := make([][]byte, runs+1)
			for j := range pkts {
				pkts[j] = make([]byte, 0, 2048)
			}
			i := 0
			if n := testing.AllocsPerRun(runs, func() {
				copy(buf[Headroom:], inner)
				pkt, _ := o.Seal(buf, Headroom, len(inner))
				pkts[i] = append(pkts[i], pkt...)
				i++
			}); n != 0 {
				t.Errorf("Seal: %v allocations per packet, want 0", n)
			}
			i = 0
			if n := testing.AllocsPerRun(runs, func() {
				if _, _, d := in.Open(pkts[i]); d != DropNone {
					t.Fatal(d)
				}
				i++
			}); n != 0 {
				t.Errorf("Open: %v allocations per packet, want 0", n)
			}
			if n := testing.AllocsPerRun(runs, func() {
				in.Open(pkts[0]) // a replay: dropped, counted, no allocation
			}); n != 0 {
				t.Errorf("Open of a replay: %v allocations, want 0", n)
			}

			const batch = 8
			bufs, sizes, out := make([][]byte, batch), make([]int, batch), make([][]byte, batch)
			inners := make([][]byte, batch)
			for j := range bufs {
				bufs[j] = make([]byte, Headroom+len(inner)+Tailroom)
				sizes[j] = len(inner)
			}
			if n := testing.AllocsPerRun(runs/batch, func() {
				for j := range bufs {
					copy(bufs[j][Headroom:], inner)
				}
				if err := o.SealBatch(bufs, sizes, Headroom, out); err != nil {
					t.Fatal(err)
				}
				if in.OpenBatch(out, inners, nil) != batch {
					t.Fatal("OpenBatch dropped packets")
				}
			}); n != 0 {
				t.Errorf("SealBatch+OpenBatch: %v allocations per batch, want 0", n)
			}
		})
	}
}

package esp

import (
	"bytes"
	"testing"

	"github.com/p2sgw/p2sgw/esp/replay"
)

// TestReplay runs the anti-replay cases of RFC 4303 §3.4.3 through Open.
func TestReplay(t *testing.T) {
	for _, tr := range []Transform{{Cipher: AESGCM128}, {Cipher: AESCBC128, Integrity: HMACSHA1, ESN: true}} {
		t.Run(tr.String(), func(t *testing.T) {
			o, in := newPair(t, tr)
			const total = replay.WindowSize + 10
			pkts := make([][]byte, total+1) // pkts[seq]
			inner := ipPacket(newRand(), 28, false)
			for seq := 1; seq <= total; seq++ {
				pkts[seq] = seal(t, o, inner)
			}
			open := func(seq int) Drop {
				_, _, d := in.Open(bytes.Clone(pkts[seq]))
				return d
			}
			steps := []struct {
				seq  int
				want Drop
			}{
				{1, DropNone},
				{1, DropReplay}, // duplicate
				{5, DropNone},   // ahead, leaving a gap
				{3, DropNone},   // out of order, inside the window
				{3, DropReplay}, // ... once only
				{2, DropNone},   //
				{4, DropNone},   //
				{5, DropReplay}, //
				{replay.WindowSize, DropNone},
				{1, DropReplay}, // top-1 = W-1: still inside, and seen
				{6, DropNone},   // inside, never seen
				{replay.WindowSize + 1, DropNone},
				{1, DropTooOld},       // now top-1 = W: just outside
				{7, DropNone},         //
				{total, DropNone},     // top = W+10
				{11, DropNone},        // top-11 = W-1: the oldest inside
				{10, DropTooOld},      // top-10 = W
				{total - 1, DropNone}, //
				{total, DropReplay},   //
			}
			for i, s := range steps {
				want := s.want
				if want == DropTooOld && tr.ESN {
					// With ESN a number below the window is taken to be in the next 2^32
					// subspace (RFC 4303 Appendix A2.2), where its ICV cannot verify.
					want = DropAuth
				}
				if d := open(s.seq); d != want {
					t.Fatalf("step %d: Open(seq %d) = %v, want %v (top %d)", i+1, s.seq, d, s.want, in.Top())
				}
			}
			st := in.Stats()
			if st.Drops[DropReplay] != 5 || st.Drops[DropTooOld]+st.Drops[DropAuth] != 2 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

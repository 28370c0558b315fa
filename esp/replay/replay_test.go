package replay

import (
	"math/rand/v2"
	"testing"
)

const w = WindowSize

// step is one packet fed to a filter: Check, then (for fresh ones) Accept.
type step struct {
	seq  uint64
	want Verdict
}

func run(t *testing.T, f *Filter, steps []step) {
	t.Helper()
	for i, s := range steps {
		if got := f.Check(s.seq); got != s.want {
			t.Fatalf("step %d: Check(%d) = %v, want %v (top %d)", i+1, s.seq, got, s.want, f.top)
		}
		if got := f.Accept(s.seq); got != s.want {
			t.Fatalf("step %d: Accept(%d) = %v, want %v (top %d)", i+1, s.seq, got, s.want, f.top)
		}
	}
}

func TestFilter(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"zero is never valid", []step{{0, TooOld}, {1, Fresh}, {0, TooOld}}},
		{"in order", []step{{1, Fresh}, {2, Fresh}, {3, Fresh}, {4, Fresh}}},
		{"duplicate", []step{{1, Fresh}, {1, Duplicate}, {2, Fresh}, {1, Duplicate}, {2, Duplicate}}},
		{"out of order within the window, each once", []step{
			{10, Fresh}, {7, Fresh}, {9, Fresh}, {8, Fresh}, {7, Duplicate}, {1, Fresh}, {1, Duplicate},
		}},
		{"window edges", []step{
			{w + 100, Fresh},
			{101, Fresh},            // top-seq = w-1: the oldest seq still inside
			{100, TooOld},           // top-seq = w: just outside
			{101, Duplicate},        //
			{w + 101, Fresh},        // slide by one: 101 is now the one outside
			{101, TooOld},           //
			{102, Fresh},            // and 102 the oldest inside
			{w + 99, Fresh},         // an unseen one below top
			{w + 101, Duplicate},    //
			{w + 102, Fresh},        //
			{2*w + 101, Fresh},      // jump by a window less one: w+102 is the oldest inside
			{w + 102, Duplicate},    //
			{2*w + 102, Fresh},      //
			{w + 102, TooOld},       //
			{w + 103, Fresh},        //
			{1 << 40, Fresh},        // a jump far beyond the ring
			{1<<40 - 1, Fresh},      //
			{1<<40 - w + 1, Fresh},  //
			{1<<40 - w, TooOld},     //
			{1<<40 - 1, Duplicate},  //
			{1<<64 - 1, Fresh},      // the last 64-bit number
			{1<<64 - 1, Duplicate},  //
			{1<<64 - w, Fresh},      //
			{1<<64 - w - 1, TooOld}, //
		}},
		{"bits of a slot reused by the ring are cleared", []step{
			{5, Fresh}, {5 + 64*ringWords, Fresh}, {5 + 64*ringWords - 64, Fresh}, {5 + 2*64*ringWords, Fresh},
			{5 + 2*64*ringWords - w + 1, Fresh},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f Filter
			run(t, &f, tt.steps)
		})
	}
}

// TestCheckDoesNotRecord: a forged packet is checked, fails authentication, and must leave
// the window as it was.
func TestCheckDoesNotRecord(t *testing.T) {
	var f Filter
	f.Accept(10)
	if f.Check(1<<30) != Fresh || f.Check(5) != Fresh {
		t.Fatal("Check refused a fresh number")
	}
	if f.Top() != 10 || f.Accept(5) != Fresh {
		t.Fatal("Check changed the window")
	}
}

// TestFilterRandom compares a Filter with an obviously correct model (a set of everything
// accepted) over random walks that mix small steps, reordering and large jumps.
func TestFilterRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for walk := 0; walk < 50; walk++ {
		var f Filter
		seen := map[uint64]bool{}
		var top uint64
		for i := 0; i < 20000; i++ {
			var seq uint64
			switch r.IntN(10) {
			case 0:
				seq = top + uint64(r.IntN(3*w)) // jumps, some past the ring
			case 1, 2:
				seq = top - uint64(r.IntN(w+100)) // near the bottom edge
			default:
				seq = top + uint64(r.IntN(8)) - 4 // reordering near the top
			}
			if seq > 1<<62 { // underflow below zero
				seq = uint64(r.IntN(3))
			}
			want := Fresh
			switch {
			case seq == 0 || (seq <= top && top-seq >= w):
				want = TooOld
			case seen[seq]:
				want = Duplicate
			}
			if got := f.Check(seq); got != want {
				t.Fatalf("walk %d step %d: Check(%d) = %v, want %v (top %d)", walk, i, seq, got, want, top)
			}
			if r.IntN(4) == 0 {
				continue // a forgery: checked, never accepted
			}
			if got := f.Accept(seq); got != want {
				t.Fatalf("walk %d step %d: Accept(%d) = %v, want %v (top %d)", walk, i, seq, got, want, top)
			}
			if want == Fresh {
				seen[seq] = true
				top = max(top, seq)
			}
		}
	}
}

func TestExtend(t *testing.T) {
	tests := []struct {
		name   string
		top    uint64
		lo     uint32
		want   uint64
		wantOK bool
	}{
		{"fresh SA", 0, 1, 1, true},
		{"fresh SA, zero", 0, 0, 0, false},
		{"fresh SA, far ahead", 0, 1 << 31, 1 << 31, true},
		{"fresh SA, just below the window", 0, 1<<32 - 1, 0, false}, // subspace -1
		{"case A, same subspace", 5<<32 | 100000, 99000, 5<<32 | 99000, true},
		{"case A, bottom edge", 5<<32 | 100000, 100000 - w + 1, 5<<32 | (100000 - w + 1), true},
		{"case A, below bottom is next subspace", 5<<32 | 100000, 100000 - w, 6<<32 | (100000 - w), true},
		{"case A, wrapped past 2^32", 5<<32 | (1<<32 - 10), 3, 6<<32 | 3, true},
		{"case A, last subspace cannot advance", 0xffffffff<<32 | 100000, 5, 0, false},
		{"case B, lower subspace", 5<<32 | 10, 1<<32 - 1, 4<<32 | (1<<32 - 1), true},
		{"case B, lower subspace bottom edge", 5<<32 | 10, 1<<32 + 10 - (w - 1), 4<<32 | (1<<32 + 10 - (w - 1)), true},
		{"case B, below the bottom edge is ahead", 5<<32 | 10, 1<<32 + 10 - w, 5<<32 | (1<<32 + 10 - w), true},
		{"case B, current subspace", 5<<32 | 10, 7, 5<<32 | 7, true},
		{"case B, ahead", 5<<32 | 10, 1 << 30, 5<<32 | 1<<30, true},
		{"case B, no subspace below 0", 10, 1<<32 - 1, 0, false},
		{"ESN vector: 2^64-1", 1<<64 - 2, 0xffffffff, 1<<64 - 1, true},
		{"ESN vector: new subspace", 0x87654320ffffffff, 0, 0x8765432100000000, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Filter{top: tt.top}
			got, ok := f.Extend(tt.lo)
			if ok != tt.wantOK || (ok && got != tt.want) {
				t.Errorf("Extend(%#x) at top %#x = %#x, %v; want %#x, %v", tt.lo, tt.top, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestFilterZeroAlloc(t *testing.T) {
	var f Filter
	seq := uint64(0)
	if n := testing.AllocsPerRun(1000, func() {
		seq += 3
		f.Check(seq)
		f.Accept(seq)
		f.Extend(uint32(seq))
	}); n != 0 {
		t.Errorf("allocs per packet = %v, want 0", n)
	}
}

func BenchmarkAccept(b *testing.B) {
	var f Filter
	for i := range b.N {
		seq := uint64(i + 1)
		if i%16 == 0 {
			seq += 40 // some reordering
		}
		f.Check(seq)
		f.Accept(seq)
	}
}

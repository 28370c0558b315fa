package bolt

import (
	"context"
	"net/netip"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/p2sgw/p2sgw/store"
)

// benchPool is big enough that a benchmark's leases rarely wrap round onto each other.
var benchPool = netip.MustParsePrefix("10.0.0.0/8")

// benchLease is the lease of the i-th address of benchPool, wrapping round.
func benchLease(i uint32) store.Lease {
	n := i%(1<<24-2) + 1 // skip the network address
	addr := netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)})
	return store.Lease{Pool: benchPool, Addr: addr, Identity: "bench", SessionID: "IKEv2_bench", Node: "gw1"}
}

// BenchmarkPutLease is one writer: the latency of a lone, uncontended PutLease.
func BenchmarkPutLease(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var i uint32
	for b.Loop() {
		if err := s.PutLease(ctx, benchLease(i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkPutLeaseParallel is many writers putting distinct leases at once, as concurrent
// handshakes do. writers=GOMAXPROCS is b.RunParallel's default; writers=256 is the
// handshake benchmark's 256 concurrent IKEv2 handshakes (on 2 cores: 128 per core).
func BenchmarkPutLeaseParallel(b *testing.B) {
	for _, perCPU := range []int{1, 128} {
		b.Run("writers="+strconv.Itoa(perCPU*runtime.GOMAXPROCS(0)), func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "state.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			var next atomic.Uint32
			b.SetParallelism(perCPU)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := s.PutLease(ctx, benchLease(next.Add(1))); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

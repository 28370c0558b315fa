package dataplane

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"sync/atomic"
	"testing"

	"golang.zx2c4.com/wireguard/tun/tuntest"
)

// The downlink benchmarks measure Run: TUN read → destination lookup → grouping per session →
// Sender.Send, with senders that only count. BenchmarkDeliver (dataplane_test.go) measures the
// uplink. bench/throughput/run.sh runs them all and puts them in bench/RESULTS.md.

// counter is a Sender that counts what it is handed.
type counter struct{ packets atomic.Int64 }

func (c *counter) Send(bufs [][]byte, offset int) { c.packets.Add(int64(len(bufs))) }

// sized returns an IPv4 packet from src to dst of size bytes with a valid total length.
func sized(src, dst netip.Addr, size int) []byte {
	p := packet(src, dst)
	p = append(p, make([]byte, size-len(p))...)
	p[2], p[3] = byte(size>>8), byte(size)
	return p
}

// BenchmarkRunDownlinkChannelTUN: one 1400-byte packet per op through tuntest's channel
// TUN, which reads one packet at a time; the cost of Run per packet plus a channel hand-off.
func BenchmarkRunDownlinkChannelTUN(b *testing.B) {
	ch := tuntest.NewChannelTUN()
	p := New(ch.TUN(), policy, quiet)
	var c counter
	if err := p.Attach(alice, &c); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	pkt := sized(web, alice, 1400)
	ch.Outbound <- pkt // Run has allocated its buffers once this is through
	for c.packets.Load() < 1 {
		runtime.Gosched()
	}
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		ch.Outbound <- pkt
	}
	for c.packets.Load() < int64(b.N)+1 {
		runtime.Gosched()
	}
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// batchTUN is a TUN whose every Read returns a full batch — as one GSO read of a 64 KiB
// super-packet split into MTU-sized packets does — cycling through pkts, until batches run
// out; then Read returns os.ErrClosed and Run ends.
type batchTUN struct {
	nullTUN
	pkts    [][]byte
	batches int
}

const benchBatch = 64

func (t *batchTUN) BatchSize() int { return benchBatch }

func (t *batchTUN) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	if t.batches == 0 {
		return 0, os.ErrClosed
	}
	t.batches--
	n := min(len(bufs), benchBatch)
	for i := range n {
		sizes[i] = copy(bufs[i][offset:], t.pkts[i%len(t.pkts)])
	}
	return n, nil
}

// BenchmarkRunDownlinkBatch: one op is one batch of 64 packets of 1400 bytes, to one session
// or spread over 16. B/op includes Run's buffers (64 × 65.6 KB, allocated once per call)
// spread over b.N batches; allocs/op shows whether anything is allocated per batch.
func BenchmarkRunDownlinkBatch(b *testing.B) {
	for _, sessions := range []int{1, 16} {
		b.Run(fmt.Sprintf("sessions=%d", sessions), func(b *testing.B) {
			dev := &batchTUN{batches: b.N}
			p := New(dev, policy, quiet)
			counters := make([]counter, sessions)
			for i := range sessions {
				addr := netip.AddrFrom4([4]byte{100, 64, 0, byte(10 + i)})
				if err := p.Attach(addr, &counters[i]); err != nil {
					b.Fatal(err)
				}
				dev.pkts = append(dev.pkts, sized(web, addr, 1400))
			}
			b.SetBytes(benchBatch * 1400)
			b.ReportAllocs()
			b.ResetTimer()
			if err := p.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			var got int64
			for i := range counters {
				got += counters[i].packets.Load()
			}
			if got != int64(b.N)*benchBatch {
				b.Fatalf("the senders got %d packets, want %d", got, b.N*benchBatch)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(got), "ns/pkt")
		})
	}
}

// BenchmarkDeliverShaped is BenchmarkDeliver with a rate limit too high to ever wait: the
// cost of the shaper's bookkeeping on the uplink.
func BenchmarkDeliverShaped(b *testing.B) {
	p := New(nullTUN{}, policy, quiet)
	p.SetRate(1 << 60)
	pkts := make([][]byte, benchBatch)
	for i := range pkts {
		pkts[i] = sized(alice, web, 1400)
	}
	bufs := withHeadroom(pkts...)
	scratch := make([][]byte, len(bufs))
	b.SetBytes(int64(len(bufs) * 1400))
	b.ReportAllocs()
	for b.Loop() {
		copy(scratch, bufs)
		p.Deliver(alice, scratch, Headroom)
	}
}

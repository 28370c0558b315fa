package dataplane

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"testing"
	"time"

	"golang.zx2c4.com/wireguard/tun/tuntest"
)

// offer is a sender in the simulation: it offers bytesPerSec in 1400-octet packets, which
// queue (up to 500, then they are lost, as in a socket buffer) until the data plane takes them
// in batches of up to 64, holding off as long as the limiter says.
type offer struct {
	bytesPerSec float64
	sh          share
	owed        float64 // bytes offered but not yet packetised
	backlog     int     // packets queued
	resume      int64   // when this sender may hand over its next batch
	got         uint64  // bytes admitted
	dropped     int     // packets the limiter dropped
}

// simulate runs the limiter for d of simulated time with the offers and returns each one's
// admitted rate in bytes per second. With shared, the offers share one reader (the TUN
// reader: a wait holds everyone up); otherwise each waits alone (SSTP connections).
func simulate(t *testing.T, bitsPerSecond int64, d time.Duration, shared bool, offers ...*offer) []float64 {
	t.Helper()
	const (
		size       = 1400
		maxBacklog = 500
		maxBatch   = 64
		step       = 100 * time.Microsecond
	)
	var clock int64 = 1
	l := newLimiter(bitsPerSecond, func() int64 { return clock })
	pkt := make([]byte, size)
	batch := make([][]byte, 0, maxBatch)
	var sharedResume int64
	for ; clock < int64(d); clock += int64(step) {
		for _, o := range offers {
			o.owed += o.bytesPerSec * step.Seconds()
			for o.owed >= size {
				o.owed -= size
				o.backlog = min(o.backlog+1, maxBacklog)
			}
		}
		for _, o := range offers {
			resume := &o.resume
			if shared {
				resume = &sharedResume
			}
			if clock < *resume || o.backlog == 0 {
				continue
			}
			batch = batch[:0]
			for range min(o.backlog, maxBatch) {
				batch = append(batch, pkt)
			}
			kept, n, dropped, wait := l.admit(&o.sh, batch, 0)
			if len(kept)+dropped != len(batch) || int(n) != len(kept)*size {
				t.Fatalf("admit kept %d packets (%d bytes) and dropped %d of %d", len(kept), n, dropped, len(batch))
			}
			o.backlog -= len(batch)
			o.got += n
			o.dropped += dropped
			if wait > 0 {
				*resume = clock + int64(wait)
			}
		}
	}
	out := make([]float64, len(offers))
	for i, o := range offers {
		out[i] = float64(o.got) / d.Seconds()
	}
	return out
}

func within(got, want, frac float64) bool { return math.Abs(got-want) <= want*frac }

func TestLimiterRate(t *testing.T) {
	// The simulation hands over at most 64 packets per 100 µs, 7 Gbit/s: rates stay well below.
	for _, mbps := range []int64{1, 20, 650, 2000} {
		for _, shared := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d Mbit/s shared reader %v", mbps, shared), func(t *testing.T) {
				rate := float64(mbps) * 1e6 / 8
				const d = 10 * time.Second
				o := &offer{bytesPerSec: 3 * rate}
				got := simulate(t, mbps*1e6, d, shared, o)
				// The bucket starts full and the last batch may overdraw it: the run gets the
				// rate plus at most one bucket and one batch.
				depth := max(rate*depthTime.Seconds(), minDepth)
				if lo, hi := 0.98*rate, rate+(depth+64*1400)/d.Seconds(); got[0] < lo || got[0] > hi {
					t.Errorf("one sender offering 3× the rate got %.0f B/s, want %.0f to %.0f", got[0], lo, hi)
				}
				// A lone sender is paced, never dropped: TCP sees a slower path, not loss.
				if o.dropped != 0 {
					t.Errorf("a lone sender lost %d packets to the limiter", o.dropped)
				}
			})
		}
	}
}

func TestLimiterUnderRatePassesAll(t *testing.T) {
	rate := 20e6 / 8
	o := &offer{bytesPerSec: 0.8 * rate}
	got := simulate(t, 20e6, 5*time.Second, false, o)
	if !within(got[0], 0.8*rate, 0.01) || o.dropped != 0 {
		t.Errorf("a sender at 80%% of the rate got %.0f B/s with %d drops, want all %.0f", got[0], o.dropped, 0.8*rate)
	}
}

func TestLimiterFair(t *testing.T) {
	rate := 100e6 / 8
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared reader %v", shared), func(t *testing.T) {
			t.Run("two heavy senders", func(t *testing.T) {
				got := simulate(t, 100e6, 10*time.Second, shared, &offer{bytesPerSec: 2 * rate}, &offer{bytesPerSec: 4 * rate})
				for i, g := range got {
					if !within(g, rate/2, 0.1) {
						t.Errorf("sender %d got %.0f B/s, want half the rate %.0f ±10%%", i, g, rate/2)
					}
				}
				if total := got[0] + got[1]; !within(total, rate, 0.05) {
					t.Errorf("together %.0f B/s, want %.0f ±5%%", total, rate)
				}
			})
			t.Run("a light sender beside a heavy one", func(t *testing.T) {
				light := &offer{bytesPerSec: 0.1 * rate}
				got := simulate(t, 100e6, 10*time.Second, shared, light, &offer{bytesPerSec: 3 * rate})
				if !within(got[0], 0.1*rate, 0.02) || light.dropped != 0 {
					t.Errorf("the light sender got %.0f B/s with %d drops, want all it offered, %.0f", got[0], light.dropped, 0.1*rate)
				}
				if !within(got[1], 0.9*rate, 0.07) {
					t.Errorf("the heavy sender got %.0f B/s, want the rest, %.0f", got[1], 0.9*rate)
				}
			})
			t.Run("four heavy senders", func(t *testing.T) {
				offers := []*offer{{bytesPerSec: rate}, {bytesPerSec: 2 * rate}, {bytesPerSec: 3 * rate}, {bytesPerSec: 5 * rate}}
				got := simulate(t, 100e6, 10*time.Second, shared, offers...)
				for i, g := range got {
					if !within(g, rate/4, 0.15) {
						t.Errorf("sender %d got %.0f B/s, want a quarter of the rate %.0f ±15%%", i, g, rate/4)
					}
				}
			})
		})
	}
}

// TestPlaneRateLimit: with a rate set, Deliver lets a batch overdraw the bucket by at most a
// bucket, drops the rest, and holds its caller until the debt is paid; lifting the rate lets
// everything through at once. Run paces its reads instead: a lone client loses nothing.
func TestPlaneRateLimit(t *testing.T) {
	dev := tuntest.NewChannelTUN()
	p := New(dev.TUN(), policy, quiet)
	r := newRecorder(t)
	if err := p.Attach(alice, r); err != nil {
		t.Fatal(err)
	}
	p.SetRate(10e6) // 1.25 MB/s; the bucket holds minDepth, 256 KiB
	if p.Rate() != 10e6 {
		t.Fatalf("Rate() = %d", p.Rate())
	}
	go func() {
		for range dev.Inbound {
		}
	}()

	// Uplink: 400 packets of 1400 octets, 560 kB, in one batch: a full bucket and a bucket of
	// debt pass (about 374 packets), the rest is dropped, and the caller waits the debt off
	// (256 KiB at 1.25 MB/s, 0.2 s).
	const n, size = 400, 1400
	pad := make([]byte, size)
	pkt := func(src, dst netip.Addr) []byte {
		b := append([]byte(nil), tuntest.Ping(dst, src)...)
		return fixLen(append(b, pad[:size-len(b)]...))
	}
	batch := func(src, dst netip.Addr) [][]byte {
		bufs := make([][]byte, n)
		for i := range bufs {
			bufs[i] = withHeadroom(pkt(src, dst))[0]
		}
		return bufs
	}
	began := time.Now()
	wrote := p.Deliver(alice, batch(alice, web), Headroom)
	took := time.Since(began)
	if want := 2*minDepth/size + 1; wrote < want-1 || wrote > want+1 {
		t.Errorf("Deliver wrote %d of %d packets; want about %d (a bucket and a bucket of debt)", wrote, n, want)
	}
	if d := p.Drops(DropRateLimit); d != uint64(n-wrote) {
		t.Errorf("rate_limit drops = %d, want %d", d, n-wrote)
	}
	if took < 150*time.Millisecond {
		t.Errorf("Deliver returned after %v; it should have held its caller about 0.2 s", took)
	}

	p.SetRate(0)
	if wrote := p.Deliver(alice, batch(alice, web), Headroom); wrote != n {
		t.Errorf("without a rate Deliver wrote %d of %d", wrote, n)
	}

	// Downlink through Run: paced, a lone client gets every packet.
	p.SetRate(10e6)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	before := p.Drops(DropRateLimit)
	go func() {
		for range n {
			dev.Outbound <- pkt(web, alice)
		}
	}()
	deadline := time.After(10 * time.Second)
	for received(r) < n {
		select {
		case <-r.sent:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("after 10 s: %d of %d received, %d dropped", received(r), n, p.Drops(DropRateLimit)-before)
		}
	}
	if d := p.Drops(DropRateLimit) - before; d != 0 {
		t.Errorf("Run dropped %d packets of a lone client; it should pace instead", d)
	}
	cancel()
	<-done
}

// fixLen sets an IPv4 packet's total length to its size (the padding made it longer) and
// recomputes nothing else: the data plane checks only lengths and addresses.
func fixLen(b []byte) []byte {
	b[2], b[3] = byte(len(b)>>8), byte(len(b))
	return b
}

func received(r *recorder) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

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

// offer is a sender in the simulation: it offers bytesPerSec in 1400-octet packets, in batches
// every millisecond.
type offer struct {
	bytesPerSec float64
	sh          share
	owed        float64 // bytes offered but not yet packetised
	got         uint64
}

// simulate runs the limiter for d of simulated time with the offers and returns each one's
// admitted rate in bytes per second.
func simulate(t *testing.T, bitsPerSecond int64, d time.Duration, offers ...*offer) []float64 {
	t.Helper()
	var clock int64 = 1
	l := newLimiter(bitsPerSecond, func() int64 { return clock })
	const size = 1400
	pkt := make([]byte, size)
	batch := make([][]byte, 0, 64)
	for ; clock < int64(d); clock += int64(time.Millisecond) {
		for _, o := range offers {
			o.owed += o.bytesPerSec / 1000
			batch = batch[:0]
			for o.owed >= size {
				batch = append(batch, pkt)
				o.owed -= size
			}
			if len(batch) == 0 {
				continue
			}
			_, n, dropped := l.admit(&o.sh, batch, 0)
			if int(n)/size+dropped != len(batch) {
				t.Fatalf("admit kept %d bytes and dropped %d of %d packets", n, dropped, len(batch))
			}
			o.got += n
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
	for _, mbps := range []int64{1, 20, 650, 10000} {
		t.Run(fmt.Sprintf("%d Mbit/s", mbps), func(t *testing.T) {
			rate := float64(mbps) * 1e6 / 8
			const d = 10 * time.Second
			got := simulate(t, mbps*1e6, d, &offer{bytesPerSec: 3 * rate})
			// The bucket starts full: the run gets the rate plus at most one bucket.
			depth := max(rate*depthTime.Seconds(), minDepth)
			if lo, hi := 0.98*rate, rate+depth/d.Seconds(); got[0] < lo || got[0] > hi {
				t.Errorf("one sender offering 3× the rate got %.0f B/s, want %.0f to %.0f", got[0], lo, hi)
			}
		})
	}
}

func TestLimiterUnderRatePassesAll(t *testing.T) {
	rate := 20e6 / 8
	got := simulate(t, 20e6, 5*time.Second, &offer{bytesPerSec: 0.8 * rate})
	if !within(got[0], 0.8*rate, 0.01) {
		t.Errorf("a sender at 80%% of the rate got %.0f B/s, want all %.0f", got[0], 0.8*rate)
	}
}

func TestLimiterFair(t *testing.T) {
	rate := 100e6 / 8
	t.Run("two heavy senders", func(t *testing.T) {
		got := simulate(t, 100e6, 10*time.Second, &offer{bytesPerSec: 2 * rate}, &offer{bytesPerSec: 4 * rate})
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
		got := simulate(t, 100e6, 10*time.Second, &offer{bytesPerSec: 0.1 * rate}, &offer{bytesPerSec: 3 * rate})
		if !within(got[0], 0.1*rate, 0.02) {
			t.Errorf("the light sender got %.0f B/s, want all it offered, %.0f", got[0], 0.1*rate)
		}
		if !within(got[1], 0.9*rate, 0.07) {
			t.Errorf("the heavy sender got %.0f B/s, want the rest, %.0f", got[1], 0.9*rate)
		}
	})
	t.Run("four heavy senders", func(t *testing.T) {
		offers := []*offer{{bytesPerSec: rate}, {bytesPerSec: 2 * rate}, {bytesPerSec: 3 * rate}, {bytesPerSec: 5 * rate}}
		got := simulate(t, 100e6, 10*time.Second, offers...)
		for i, g := range got {
			if !within(g, rate/4, 0.15) {
				t.Errorf("sender %d got %.0f B/s, want a quarter of the rate %.0f ±15%%", i, g, rate/4)
			}
		}
	})
}

// TestPlaneRateLimit: with a rate set, the plane drops what exceeds it in both directions and
// counts the drops; lifting the rate lets everything through again.
func TestPlaneRateLimit(t *testing.T) {
	dev := tuntest.NewChannelTUN()
	p := New(dev.TUN(), policy, quiet)
	r := newRecorder(t)
	if err := p.Attach(alice, r); err != nil {
		t.Fatal(err)
	}
	p.SetRate(1e6) // 125,000 B/s: the bucket holds minDepth, 256 KiB

	// Uplink: far more than one bucket in one go.
	const n = 400 // × ~1.4 kB ≈ 560 kB
	big := make([]byte, 1400)
	pkt := func(src, dst netip.Addr) []byte {
		b := append([]byte(nil), tuntest.Ping(dst, src)...)
		return append(b, big[:1400-len(b)]...)
	}
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = withHeadroom(fixLen(pkt(alice, web)))[0]
	}
	go func() {
		for range dev.Inbound {
		}
	}()
	wrote := p.Deliver(alice, bufs, Headroom)
	if wrote == 0 || wrote >= n {
		t.Fatalf("Deliver wrote %d of %d packets over a 256 KiB bucket", wrote, n)
	}
	if got, max := wrote*1400, minDepth+1400; got > max {
		t.Errorf("Deliver wrote %d bytes, more than the bucket's %d", got, max)
	}
	if d := p.Drops(DropRateLimit); d != uint64(n-wrote) {
		t.Errorf("rate_limit drops = %d, want %d", d, n-wrote)
	}

	p.SetRate(0)
	for i := range bufs {
		bufs[i] = withHeadroom(fixLen(pkt(alice, web)))[0]
	}
	if wrote := p.Deliver(alice, bufs, Headroom); wrote != n {
		t.Errorf("without a rate Deliver wrote %d of %d", wrote, n)
	}

	// Downlink through Run: the client gets at most a bucket's worth.
	p.SetRate(1e6)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	before := p.Drops(DropRateLimit)
	go func() {
		for range n {
			dev.Outbound <- fixLen(pkt(web, alice))
		}
	}()
	deadline := time.After(5 * time.Second)
	for p.Drops(DropRateLimit)-before+uint64(received(r)) < n {
		select {
		case <-r.sent:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("after 5 s: %d received, %d dropped of %d", received(r), p.Drops(DropRateLimit)-before, n)
		}
	}
	// A bucket's worth, plus what 1 Mbit/s refills in the test's few seconds at most.
	if got := received(r); got == 0 || got*1400 > minDepth+5*125_000 {
		t.Errorf("client got %d packets of 1400 octets through a 1 Mbit/s limit with a 256 KiB bucket", got)
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

package dataplane

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"golang.zx2c4.com/wireguard/tun"
	"golang.zx2c4.com/wireguard/tun/tuntest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var (
	alice = netip.MustParseAddr("100.64.0.2")
	bob   = netip.MustParseAddr("100.64.0.3")
	web   = netip.MustParseAddr("198.19.0.10")
	far   = netip.MustParseAddr("203.0.113.9")
)

var policy = Policy{
	Allowed: []netip.Prefix{netip.MustParsePrefix("198.19.0.0/16")},
	Pools:   []netip.Prefix{netip.MustParsePrefix("100.64.0.0/16")},
}

// recorder is a Sender that keeps copies of what it was sent and checks the buffer contract.
type recorder struct {
	t    *testing.T
	mu   sync.Mutex
	got  [][]byte
	sent chan struct{}
}

func newRecorder(t *testing.T) *recorder { return &recorder{t: t, sent: make(chan struct{}, 16)} }

func (r *recorder) Send(bufs [][]byte, offset int) {
	r.mu.Lock()
	for _, b := range bufs {
		if offset < Headroom || cap(b)-len(b) < Tailroom {
			r.t.Errorf("sender got offset %d and tailroom %d; want ≥ %d and ≥ %d", offset, cap(b)-len(b), Headroom, Tailroom)
		}
		r.got = append(r.got, append([]byte(nil), b[offset:]...))
	}
	r.mu.Unlock()
	// Not under r.mu: a test that reads r.got while the channel is full must not block Send.
	r.sent <- struct{}{}
}

func packet(src, dst netip.Addr) []byte { return tuntest.Ping(dst, src) }

func withHeadroom(pkts ...[]byte) [][]byte {
	out := make([][]byte, len(pkts))
	for i, p := range pkts {
		out[i] = append(make([]byte, Headroom), p...)
	}
	return out
}

func TestDownlinkReachesTheSessionOfTheDestination(t *testing.T) {
	ch := tuntest.NewChannelTUN()
	p := New(ch.TUN(), policy, quiet)
	ra, rb := newRecorder(t), newRecorder(t)
	if err := p.Attach(alice, ra); err != nil {
		t.Fatal(err)
	}
	p.Attach(bob, rb)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()

	want := packet(web, alice)
	ch.Outbound <- want
	ch.Outbound <- packet(web, netip.MustParseAddr("100.64.0.99")) // nobody holds it
	ch.Outbound <- []byte{0x45, 0, 0}                              // malformed
	select {
	case <-ra.sent:
	case <-time.After(5 * time.Second):
		t.Fatal("alice's sender got nothing")
	}
	ch.Outbound <- packet(web, bob)
	<-rb.sent
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(ra.got) != 1 || string(ra.got[0]) != string(want) {
		t.Fatalf("alice got %d packets", len(ra.got))
	}
	if len(rb.got) != 1 {
		t.Fatalf("bob got %d packets, want 1", len(rb.got))
	}
	if p.Drops(DropNoSession) != 1 || p.Drops(DropMalformed) != 1 {
		t.Errorf("drops: no_session %d malformed %d; want 1 and 1", p.Drops(DropNoSession), p.Drops(DropMalformed))
	}
}

func TestUplinkPolicyAndAntiSpoofing(t *testing.T) {
	tests := []struct {
		name      string
		pkt       []byte
		c2c       bool
		wantDrop  DropReason
		delivered bool
	}{
		{"to the VNet", packet(alice, web), false, 0, true},
		{"spoofed source", packet(bob, web), false, DropSpoofed, false},
		{"outside the VNet", packet(alice, far), false, DropPolicy, false},
		{"to another client, switch off", packet(alice, bob), false, DropPolicy, false},
		{"to another client, switch on", packet(alice, bob), true, 0, true},
		{"not IPv4", append([]byte{0x60}, make([]byte, 39)...), false, DropNotIPv4, false},
		{"truncated", packet(alice, web)[:19], false, DropMalformed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := tuntest.NewChannelTUN()
			pol := policy
			pol.ClientToClient = tt.c2c
			p := New(ch.TUN(), pol, quiet)
			// ChannelTUN's Write blocks until the packet is taken, so once Deliver has
			// returned, whatever it wrote is in got.
			got := make(chan []byte, 1)
			stop := make(chan struct{})
			go func() {
				select {
				case b := <-ch.Inbound:
					got <- b
				case <-stop:
				}
			}()
			n := p.Deliver(alice, withHeadroom(tt.pkt), Headroom)
			close(stop)
			var b []byte
			select {
			case b = <-got:
			case <-time.After(100 * time.Millisecond):
			}
			if tt.delivered {
				if n != 1 || string(b) != string(tt.pkt) {
					t.Fatalf("Deliver = %d, TUN got %x; want the packet", n, b)
				}
				if p.Counters().FromClientPackets.Load() != 1 {
					t.Errorf("FromClientPackets not counted")
				}
				return
			}
			if n != 0 || b != nil {
				t.Fatalf("Deliver = %d, TUN got %x; want a drop", n, b)
			}
			if p.Drops(tt.wantDrop) != 1 {
				t.Fatalf("drop %s not counted", tt.wantDrop)
			}
		})
	}
}

func TestAttachDetach(t *testing.T) {
	p := New(tuntest.NewChannelTUN().TUN(), policy, quiet)
	a, b := newRecorder(t), newRecorder(t)
	if err := p.Attach(alice, a); err != nil {
		t.Fatal(err)
	}
	if err := p.Attach(alice, b); !errors.Is(err, ErrAddrInUse) {
		t.Fatalf("second Attach = %v, want ErrAddrInUse", err)
	}
	p.Detach(alice, b) // not the holder: no effect
	if err := p.Attach(alice, b); !errors.Is(err, ErrAddrInUse) {
		t.Fatal("Detach by a non-holder removed the holder")
	}
	p.Detach(alice, a)
	if err := p.Attach(alice, b); err != nil {
		t.Fatalf("Attach after Detach: %v", err)
	}
}

// nullTUN accepts every write without copying, to measure Deliver alone.
type nullTUN struct{ tun.Device }

func (nullTUN) Write(bufs [][]byte, offset int) (int, error) { return len(bufs), nil }
func (nullTUN) BatchSize() int                               { return 128 }
func (nullTUN) Close() error                                 { return nil }
func (nullTUN) Read([][]byte, []int, int) (int, error)       { return 0, os.ErrClosed }

func TestDeliverAllocatesNothing(t *testing.T) {
	p := New(nullTUN{}, policy, quiet)
	bufs := withHeadroom(packet(alice, web), packet(alice, web), packet(bob, web))
	scratch := make([][]byte, len(bufs))
	allocs := testing.AllocsPerRun(100, func() {
		copy(scratch, bufs)
		p.Deliver(alice, scratch, Headroom)
	})
	if allocs != 0 {
		t.Fatalf("Deliver allocates %.1f times per batch, want 0", allocs)
	}
}

func BenchmarkDeliver(b *testing.B) {
	p := New(nullTUN{}, policy, quiet)
	const batch = 64
	pkts := make([][]byte, batch)
	for i := range pkts {
		pkts[i] = append(packet(alice, web), make([]byte, 1300)...)
		pkts[i][2], pkts[i][3] = byte(len(pkts[i])>>8), byte(len(pkts[i]))
	}
	bufs := withHeadroom(pkts...)
	scratch := make([][]byte, batch)
	b.SetBytes(int64(batch * len(pkts[0])))
	b.ReportAllocs()
	for b.Loop() {
		copy(scratch, bufs)
		p.Deliver(alice, scratch, Headroom)
	}
}

// TestDownlinkKeepsFlowing: a session gets every batch, not only its first (regression: the
// per-batch grouping once forgot senders it had seen before).
func TestDownlinkKeepsFlowing(t *testing.T) {
	ch := tuntest.NewChannelTUN()
	p := New(ch.TUN(), policy, quiet)
	ra := newRecorder(t)
	p.Attach(alice, ra)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	for i := 0; i < 5; i++ {
		ch.Outbound <- packet(web, alice)
		select {
		case <-ra.sent:
		case <-time.After(5 * time.Second):
			t.Fatalf("batch %d never reached the session", i+1)
		}
	}
	cancel()
	<-done
}

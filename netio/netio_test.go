package netio

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"
	"time"
)

func listenLoopback(t *testing.T, addr string) Conn {
	t.Helper()
	c, err := Listen(addr, 16)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestBatchRoundTripOnLoopback(t *testing.T) {
	a := listenLoopback(t, "127.0.0.1:0")
	b := listenLoopback(t, "0.0.0.0:0") // wildcard: replies need IP_PKTINFO
	bAddr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), b.LocalAddr().Port())

	out := make([]Packet, 8)
	for i := range out {
		out[i] = Packet{Buf: []byte(fmt.Sprintf("datagram %d", i)), Remote: bAddr}
	}
	if n, err := a.WriteBatch(out); n != len(out) || err != nil {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	in := make([]Packet, 16)
	for i := range in {
		in[i].Buf = make([]byte, 0, MaxDatagram)
	}
	got := 0
	deadline := time.Now().Add(5 * time.Second)
	var first Packet
	for got < len(out) && time.Now().Before(deadline) {
		n, err := b.ReadBatch(in)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			if want := fmt.Sprintf("datagram %d", got); string(in[i].Buf) != want {
				t.Fatalf("datagram %d = %q, want %q", got, in[i].Buf, want)
			}
			if in[i].Remote != a.LocalAddr() {
				t.Errorf("remote = %s, want %s", in[i].Remote, a.LocalAddr())
			}
			if in[i].Local != bAddr {
				t.Errorf("local = %s, want %s (from IP_PKTINFO)", in[i].Local, bAddr)
			}
			if got == 0 {
				first = in[i]
				first.Buf = bytes.Clone(in[i].Buf)
			}
			got++
			in[i].Buf = in[i].Buf[:0]
		}
	}
	if got != len(out) {
		t.Fatalf("read %d datagrams, want %d", got, len(out))
	}

	// The reply from the wildcard socket leaves from the address a sent to.
	reply := []Packet{{Buf: []byte("reply"), Remote: first.Remote, Local: first.Local}}
	if n, err := b.WriteBatch(reply); n != 1 || err != nil {
		t.Fatalf("reply WriteBatch = %d, %v", n, err)
	}
	rin := []Packet{{Buf: make([]byte, 0, MaxDatagram)}}
	if n, err := a.ReadBatch(rin); n != 1 || err != nil || string(rin[0].Buf) != "reply" || rin[0].Remote != bAddr {
		t.Fatalf("reply: n=%d err=%v %q from %s", n, err, rin[0].Buf, rin[0].Remote)
	}
}

// TestWriteBatchAllocatesNothingPerPacket: x/net allocates its mmsghdr array once per call,
// so a batch costs a fixed number of allocations whatever its size.
func TestWriteBatchAllocatesNothingPerPacket(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	a := listenLoopback(t, "0.0.0.0:0")
	b := listenLoopback(t, "127.0.0.1:0")
	batch := func(n int) []Packet {
		pkts := make([]Packet, n)
		for i := range pkts {
			pkts[i] = Packet{Buf: make([]byte, 1400), Remote: b.LocalAddr(), Local: netip.MustParseAddrPort("127.0.0.1:0")}
		}
		return pkts
	}
	one, many := batch(1), batch(32)
	a.WriteBatch(many) // warm the scratch pool and the pktinfo cache
	allocsOne := testing.AllocsPerRun(20, func() { a.WriteBatch(one) })
	allocsMany := testing.AllocsPerRun(20, func() { a.WriteBatch(many) })
	if allocsMany > allocsOne {
		t.Fatalf("WriteBatch allocates %.1f for 1 packet and %.1f for 32: it allocates per packet", allocsOne, allocsMany)
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	c, err := Listen("127.0.0.1:0", 4)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, err := c.ReadBatch([]Packet{{Buf: make([]byte, 0, 100)}})
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	c.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("ReadBatch returned no error after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadBatch still blocked after Close")
	}
}

// TestWriteBatchGSO: runs of equal datagrams to one peer (the last may be shorter) leave as
// one UDP GSO message and arrive as the datagrams they were, in order, also from a wildcard
// socket that picks its source (IP_PKTINFO beside UDP_SEGMENT); a run breaks at another peer,
// a longer datagram, and 64 segments.
func TestWriteBatchGSO(t *testing.T) {
	a := listenLoopback(t, "0.0.0.0:0")
	if !a.(*udpConn).gso.Load() {
		t.Skip("this kernel has no UDP GSO")
	}
	b := listenLoopback(t, "127.0.0.1:0")
	c := listenLoopback(t, "127.0.0.1:0")
	src := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), a.LocalAddr().Port())
	var out []Packet
	var wantB, wantC [][]byte
	add := func(to Conn, size int, tag byte) {
		buf := bytes.Repeat([]byte{tag}, size)
		buf[0] = byte(len(out))
		out = append(out, Packet{Buf: buf, Remote: to.LocalAddr(), Local: src})
		if to == b {
			wantB = append(wantB, buf)
		} else {
			wantC = append(wantC, buf)
		}
	}
	for range 70 { // 64 in one message, 6 in the next
		add(b, 1200, 'x')
	}
	add(b, 300, 'y')  // shorter: ends the run
	add(b, 1200, 'z') // longer than the last: a new run
	add(c, 1200, 'c') // another peer
	add(c, 1200, 'c')
	add(b, 1200, 'z')
	if n, err := a.WriteBatch(out); n != len(out) || err != nil {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	if ms := a.(*udpConn).messages(new(writeScratch), out, true); len(ms) != 5 { // 64 x; 6 x + y; z; c c; z
		t.Errorf("%d packets went in %d messages, want 5", len(out), len(ms))
	}
	for _, rx := range []struct {
		conn Conn
		want [][]byte
	}{{b, wantB}, {c, wantC}} {
		in := make([]Packet, 16)
		for i := range in {
			in[i].Buf = make([]byte, 0, MaxDatagram)
		}
		var got [][]byte
		deadline := time.Now().Add(5 * time.Second)
		for len(got) < len(rx.want) && time.Now().Before(deadline) {
			n, err := rx.conn.ReadBatch(in)
			if err != nil {
				t.Fatal(err)
			}
			for i := range n {
				got = append(got, bytes.Clone(in[i].Buf))
				if in[i].Remote != src {
					t.Errorf("from %s, want %s", in[i].Remote, src)
				}
				in[i].Buf = in[i].Buf[:0]
			}
		}
		if len(got) != len(rx.want) {
			t.Fatalf("%s got %d datagrams, want %d", rx.conn.LocalAddr(), len(got), len(rx.want))
		}
		for i := range got {
			if !bytes.Equal(got[i], rx.want[i]) {
				t.Fatalf("%s: datagram %d differs (%d bytes, want %d)", rx.conn.LocalAddr(), i, len(got[i]), len(rx.want[i]))
			}
		}
	}
}

// TestReadBatchGRO: with UDP GRO on, a run of datagrams the kernel hands up as one message is
// cut back into its datagrams, in order, across calls whose batch is smaller than the run.
func TestReadBatchGRO(t *testing.T) {
	a := listenLoopback(t, "127.0.0.1:0")
	b := listenLoopback(t, "0.0.0.0:0")
	if !EnableGRO(b) {
		t.Skip("this kernel has no UDP GRO")
	}
	to := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), b.LocalAddr().Port())
	var out []Packet
	for i := range 40 {
		size := 1000
		if i == 39 {
			size = 333
		}
		buf := bytes.Repeat([]byte{byte(i)}, size)
		out = append(out, Packet{Buf: buf, Remote: to})
	}
	if n, err := a.WriteBatch(out); n != len(out) || err != nil {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	in := make([]Packet, 7) // smaller than the run: the rest waits for the next call
	for i := range in {
		in[i].Buf = make([]byte, 0, MaxDatagram)
	}
	var got []Packet
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < len(out) && time.Now().Before(deadline) {
		n, err := b.ReadBatch(in)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			p := in[i]
			p.Buf = bytes.Clone(p.Buf)
			got = append(got, p)
		}
	}
	if len(got) != len(out) {
		t.Fatalf("got %d datagrams, want %d", len(got), len(out))
	}
	for i, p := range got {
		if !bytes.Equal(p.Buf, out[i].Buf) {
			t.Fatalf("datagram %d: %d bytes of %d, want %d bytes of %d", i, len(p.Buf), p.Buf[0], len(out[i].Buf), i)
		}
		if p.Remote != a.LocalAddr() || p.Local != to {
			t.Fatalf("datagram %d: from %s to %s, want %s to %s", i, p.Remote, p.Local, a.LocalAddr(), to)
		}
	}
}

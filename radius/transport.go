package radius

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"layeh.com/radius"
)

// maxLoggedDrops bounds the Warn lines one request logs for dropped datagrams: whoever can
// spoof the server's address could otherwise fill the log. Every drop is still counted.
const maxLoggedDrops = 4

// aLongTimeAgo is a read deadline in the past, to wake a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

// The kinds of request, for Config.Observe.
const (
	kindAccess     = "access"
	kindAccounting = "accounting"
)

// exchange describes one request to one server.
type exchange struct {
	addr   string        // the server's auth or accounting address
	kind   string        // kindAccess or kindAccounting
	codes  []radius.Code // acceptable answer Codes
	needMA bool          // answers must carry a Message-Authenticator
	// fresh says every try is a new packet with the next Identifier (accounting, where
	// Acct-Delay-Time changes); otherwise tries retransmit the first packet unchanged.
	fresh bool
	// build returns the packet to send with Identifier id and the request it makes.
	build func(id byte) ([]byte, sent, error)
}

// reply is an authentic answer.
type reply struct {
	b   []byte // the packet, without padding
	req sent   // the request it answers
}

// roundTrip sends x to s over one connection: 1+Retries tries of Timeout each (st's), and
// returns the first authentic answer to any of its tries. Datagrams that are not authentic
// answers are dropped, counted and logged, and the wait goes on. It records the outcome in s's
// health, except an authentic answer's content, which the caller judges, and reports the
// answer's latency to Config.Observe.
func (c *Client) roundTrip(ctx context.Context, st *settings, s *server, x exchange) (reply, error) {
	id := randomByte()
	wire, req, err := x.build(id)
	if err != nil {
		return reply{}, err
	}
	conn, err := c.dial(ctx, "udp", x.addr)
	if err != nil {
		if ctx.Err() != nil {
			return reply{}, fmt.Errorf("radius: %s: %w", x.addr, ctx.Err())
		}
		s.failed(err.Error(), false, false)
		c.log.Warn("RADIUS server unreachable", "server", x.addr, "err", err)
		return reply{}, fmt.Errorf("%w: %s: %v", ErrNoAnswer, x.addr, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(aLongTimeAgo) })
	defer stop()

	w := waiter{c: c, s: s, x: x, timeout: st.timeout, conn: conn, buf: make([]byte, maxPacketLen), out: []sent{req}}
	s.sentRequest()
	start := time.Now()
	tries := 1 + st.retries
	for try := range tries {
		if try > 0 && x.fresh {
			id++
			if wire, req, err = x.build(id); err != nil {
				return reply{}, err
			}
			w.out = append(w.out, req)
		}
		r, done, err := w.try(ctx, wire)
		if done {
			if err == nil && c.observe != nil {
				c.observe(x.addr, x.kind, time.Since(start))
			}
			return r, err
		}
	}
	why := fmt.Sprintf("no authentic answer to %d tries of %v", tries, st.timeout)
	if w.drops > 0 {
		why += fmt.Sprintf("; %d datagrams dropped, the last: %s", w.drops, w.lastDrop)
	}
	s.failed(why, true, false)
	c.log.Warn("RADIUS server did not answer", "server", x.addr, "tries", tries, "timeout", st.timeout, "dropped", w.drops)
	return reply{}, fmt.Errorf("%w: %s: %s", ErrNoAnswer, x.addr, why)
}

// waiter is the receiving half of one roundTrip.
type waiter struct {
	c        *Client
	s        *server
	x        exchange
	timeout  time.Duration // per try
	conn     net.Conn
	buf      []byte
	out      []sent // every request sent so far; an answer to any of them will do
	drops    int
	lastDrop dropReason
}

// try sends wire and waits up to Timeout for an authentic answer. done says the round trip is
// over: with an answer, or with an error that another try would not cure.
func (w *waiter) try(ctx context.Context, wire []byte) (r reply, done bool, err error) {
	w.conn.SetReadDeadline(time.Now().Add(w.timeout))
	if ctx.Err() != nil { // the AfterFunc may have run before the line above
		return reply{}, true, fmt.Errorf("radius: %s: %w", w.x.addr, ctx.Err())
	}
	if _, err := w.conn.Write(wire); err != nil {
		return reply{}, true, w.unreachable(ctx, err)
	}
	for {
		n, from, err := w.read()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil {
				return reply{}, false, nil
			}
			return reply{}, true, w.unreachable(ctx, err)
		}
		why := dropForeignSource
		var b []byte
		var req *sent
		if from == nil || sameAddr(from, w.conn.RemoteAddr()) {
			b, req, why = verify(w.buf[:n], w.out, w.x.codes, w.x.needMA, w.s.Secret)
		}
		if why != dropNone {
			w.drop(why)
			continue
		}
		w.s.answered(time.Now())
		return reply{b: append([]byte(nil), b...), req: *req}, true, nil
	}
}

// read reads one datagram, with its source if the connection can tell it.
func (w *waiter) read() (int, net.Addr, error) {
	if rf, ok := w.conn.(interface {
		ReadFrom([]byte) (int, net.Addr, error)
	}); ok {
		return rf.ReadFrom(w.buf)
	}
	n, err := w.conn.Read(w.buf)
	return n, nil, err
}

func (w *waiter) drop(why dropReason) {
	w.drops++
	w.lastDrop = why
	w.s.dropped(why.String())
	if w.drops <= maxLoggedDrops {
		w.c.log.Warn("RADIUS answer dropped", "server", w.x.addr, "reason", why.String())
	}
}

// unreachable turns a read or write error into the round trip's error.
func (w *waiter) unreachable(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("radius: %s: %w", w.x.addr, ctx.Err())
	}
	w.s.failed(err.Error(), false, false)
	w.c.log.Warn("RADIUS server unreachable", "server", w.x.addr, "err", err)
	return fmt.Errorf("%w: %s: %v", ErrNoAnswer, w.x.addr, err)
}

// sameAddr reports whether a and b are the same address; a UDP address compares by IP (an
// IPv4-mapped IPv6 address equals its IPv4 address) and port.
func sameAddr(a, b net.Addr) bool {
	if b == nil {
		return false
	}
	ua, okA := a.(*net.UDPAddr)
	ub, okB := b.(*net.UDPAddr)
	if okA && okB {
		pa, pb := ua.AddrPort(), ub.AddrPort()
		return pa.Addr().Unmap() == pb.Addr().Unmap() && pa.Port() == pb.Port()
	}
	return a.Network() == b.Network() && a.String() == b.String()
}

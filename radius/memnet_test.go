package radius

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2869"
)

// memNet is an in-memory UDP network for the client: Dial returns a memConn to a fakeServer
// registered under the address. No datagram touches a real socket.
type memNet struct {
	mu       sync.Mutex
	servers  map[string]*fakeServer
	nextPort int
}

func newMemNet(servers ...*fakeServer) *memNet {
	n := &memNet{servers: make(map[string]*fakeServer), nextPort: 40000}
	for _, s := range servers {
		n.servers[s.addr] = s
	}
	return n
}

// set puts s on the network under its address, in place of any server there.
func (n *memNet) set(s *fakeServer) {
	n.mu.Lock()
	n.servers[s.addr] = s
	n.mu.Unlock()
}

func (n *memNet) dial(ctx context.Context, network, address string) (net.Conn, error) {
	if network != "udp" {
		return nil, fmt.Errorf("memnet: network %q", network)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	srv := n.servers[address]
	if srv == nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
	}
	n.nextPort++
	return &memConn{
		local:  net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr("10.0.0.4"), uint16(n.nextPort))),
		remote: udpAddr(address),
		srv:    srv,
		in:     make(chan datagram, 64),
		closed: make(chan struct{}),
		wake:   make(chan struct{}),
	}, nil
}

func udpAddr(s string) *net.UDPAddr {
	return net.UDPAddrFromAddrPort(netip.MustParseAddrPort(s))
}

// datagram is one answer; from nil means the server's own address.
type datagram struct {
	b    []byte
	from net.Addr
}

// memConn is a connected UDP socket to a fakeServer: Write hands the datagram to the server,
// whose answers queue up for ReadFrom. Deadlines behave like a real socket's.
type memConn struct {
	local, remote *net.UDPAddr
	srv           *fakeServer
	in            chan datagram
	closed        chan struct{}
	closeOnce     sync.Once

	mu       sync.Mutex // guards the fields below
	deadline time.Time
	wake     chan struct{} // closed and replaced when the deadline changes
}

func (c *memConn) Write(b []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	for _, d := range c.srv.handle(bytes.Clone(b)) {
		select {
		case c.in <- d:
		default: // a full socket buffer drops, as UDP does
		}
	}
	return len(b), nil
}

func (c *memConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		c.mu.Lock()
		deadline, wake := c.deadline, c.wake
		c.mu.Unlock()
		var expired <-chan time.Time
		if !deadline.IsZero() {
			d := time.Until(deadline)
			if d <= 0 {
				return 0, nil, os.ErrDeadlineExceeded
			}
			t := time.NewTimer(d)
			defer t.Stop()
			expired = t.C
		}
		select {
		case d := <-c.in:
			from := d.from
			if from == nil {
				from = c.remote
			}
			return copy(b, d.b), from, nil
		case <-expired:
			return 0, nil, os.ErrDeadlineExceeded
		case <-wake:
		case <-c.closed:
			return 0, nil, net.ErrClosed
		}
	}
}

func (c *memConn) Read(b []byte) (int, error) {
	n, _, err := c.ReadFrom(b)
	return n, err
}

func (c *memConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	close(c.wake)
	c.wake = make(chan struct{})
	c.mu.Unlock()
	return nil
}

func (c *memConn) SetDeadline(t time.Time) error         { return c.SetReadDeadline(t) }
func (c *memConn) SetWriteDeadline(time.Time) error      { return nil }
func (c *memConn) LocalAddr() net.Addr                   { return c.local }
func (c *memConn) RemoteAddr() net.Addr                  { return c.remote }
func (c *memConn) Close() error                          { c.closeOnce.Do(func() { close(c.closed) }); return nil }
func (c *memConn) WriteTo([]byte, net.Addr) (int, error) { return 0, errors.New("memnet: connected") }

var _ net.Conn = (*memConn)(nil)

// fakeServer is a crafted RADIUS server: answer decides, per request, which datagrams go back.
type fakeServer struct {
	addr   string
	secret []byte
	answer func(req *radius.Packet) []datagram // nil or returning nil: silence

	mu       sync.Mutex // guards requests
	requests [][]byte
}

func newFakeServer(addr, secret string, answer func(req *radius.Packet) []datagram) *fakeServer {
	return &fakeServer{addr: addr, secret: []byte(secret), answer: answer}
}

func (s *fakeServer) handle(b []byte) []datagram {
	s.mu.Lock()
	s.requests = append(s.requests, b)
	s.mu.Unlock()
	p, err := radius.Parse(b, s.secret)
	if err != nil || s.answer == nil {
		return nil
	}
	return s.answer(p)
}

// received returns the datagrams the server received, in order.
func (s *fakeServer) received() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.requests...)
}

func (s *fakeServer) parsed(t testing.TB) []*radius.Packet {
	t.Helper()
	var out []*radius.Packet
	for _, b := range s.received() {
		p, err := radius.Parse(b, s.secret)
		if err != nil {
			t.Fatalf("server %s: request does not parse: %v", s.addr, err)
		}
		out = append(out, p)
	}
	return out
}

// answerOpts say how to spoil an answer.
type answerOpts struct {
	noMA        bool // leave the Message-Authenticator out
	badMA       bool // a Message-Authenticator that does not verify (the rest is right)
	badRespAuth bool // a Response Authenticator that does not verify (the MA is right)
	wrongID     bool
	secret      []byte // sign with this secret instead of the server's
}

// signAnswer encodes an answer to req with attrs, a Message-Authenticator first (unless
// o.noMA) and the Response Authenticator, computed here independently of the package.
func signAnswer(req *radius.Packet, code radius.Code, attrs radius.Attributes, o answerOpts) []byte {
	secret := req.Secret
	if o.secret != nil {
		secret = o.secret
	}
	p := req.Response(code)
	if !o.noMA {
		p.Add(rfc2869.MessageAuthenticator_Type, make(radius.Attribute, 16))
	}
	p.Attributes = append(p.Attributes, attrs...)
	if o.wrongID {
		p.Identifier++
	}
	b, err := p.MarshalBinary() // Authenticator field = the Request Authenticator
	if err != nil {
		panic(err)
	}
	if !o.noMA {
		m := hmac.New(md5.New, secret)
		m.Write(b)
		copy(b[22:38], m.Sum(nil))
		if o.badMA {
			b[22] ^= 1
		}
	}
	h := md5.New()
	h.Write(b)
	h.Write(secret)
	copy(b[4:20], h.Sum(nil))
	if o.badRespAuth {
		b[4] ^= 1
	}
	return b
}

// answerAll answers every request with one datagram.
func answerAll(code radius.Code, attrs radius.Attributes, o answerOpts) func(*radius.Packet) []datagram {
	return func(req *radius.Packet) []datagram {
		return []datagram{{b: signAnswer(req, code, attrs, o)}}
	}
}

// logRecorder is a slog.Handler that keeps every record, for asserting on logs.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.records = append(l.records, r.Clone())
	l.mu.Unlock()
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

// has reports whether a record at level has msg and, if want is not empty, an attribute whose
// value contains want.
func (l *logRecorder) has(level slog.Level, msg, want string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.records {
		if r.Level != level || r.Message != msg {
			continue
		}
		found := want == ""
		r.Attrs(func(a slog.Attr) bool {
			if strings.Contains(a.Value.String(), want) {
				found = true
			}
			return !found
		})
		if found {
			return true
		}
	}
	return false
}

// testClient returns a client on net with the given servers (addresses and secrets taken from
// the fakeServers, priority in order, each also the accounting server), a 50 ms timeout, and
// its log recorder.
func testClient(t *testing.T, n *memNet, retries int, queueLen int, servers ...*fakeServer) (*Client, *logRecorder) {
	t.Helper()
	return testClientWith(t, n, queueLen, func(cfg *Config) { cfg.Retries = retries }, servers...)
}

// testClientWith is testClient with mod applied to the Config.
func testClientWith(t *testing.T, n *memNet, queueLen int, mod func(*Config), servers ...*fakeServer) (*Client, *logRecorder) {
	t.Helper()
	cfg := Config{Servers: serverList(servers...)}
	rec := &logRecorder{}
	cfg.Timeout = 50 * time.Millisecond
	cfg.NASIdentifier = "gw-test"
	cfg.Log = slog.New(rec)
	cfg.Dial = n.dial
	mod(&cfg)
	c, err := newClient(cfg, queueLen)
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

// serverList configures servers as testClient does: addresses and secrets taken from the
// fakeServers, priority in order, each also the accounting server.
func serverList(servers ...*fakeServer) []Server {
	var out []Server
	for i, s := range servers {
		out = append(out, Server{Address: s.addr, AcctAddress: s.addr, Secret: s.secret, Priority: i})
	}
	return out
}

// closeClient closes c, flushing at most for a (bubble) second.
func closeClient(t *testing.T, c *Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c.Close(ctx)
}

package sstp

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"
)

// ClientConn is the client's side of one SSTP call, for tests and `p2sgw connect`. It does
// not keep PPP data frames back before CALL_CONNECTED: that is the PPP layer's business on
// the client. ReadFrame must be called by one goroutine at a time, and in a loop; every
// other method may be called concurrently with it.
type ClientConn struct {
	l      *link
	req    CryptoBindingRequest
	chosen HashProtocol
}

var _ role = (*ClientConn)(nil)

// ClientOption changes how Dial sets up a call.
type ClientOption func(*clientOptions)

type clientOptions struct {
	log   *slog.Logger
	hello time.Duration
}

// WithLogger sends the client's log records to log.
func WithLogger(log *slog.Logger) ClientOption { return func(o *clientOptions) { o.log = log } }

// WithHelloInterval sets the hello timer; negative disables it. The default is
// DefaultHelloInterval.
func WithHelloInterval(d time.Duration) ClientOption { return func(o *clientOptions) { o.hello = d } }

// Dial runs the client's half of the call setup on conn, a TLS connection to host: it sends
// the HTTP request, checks for the 200 answer, sends CALL_CONNECT_REQUEST and reads
// CALL_CONNECT_ACK, keeping its nonce and hash bitmask for Connected. It gives up when ctx
// ends, and after DefaultNegotiationTimeout at the latest. On error the caller still owns
// conn; on success the ClientConn owns it.
func Dial(ctx context.Context, conn net.Conn, host string, opts ...ClientOption) (*ClientConn, error) {
	o := clientOptions{log: slog.New(slog.DiscardHandler), hello: DefaultHelloInterval}
	for _, f := range opts {
		f(&o)
	}
	c := &ClientConn{}
	br, err := setup(ctx, conn, DefaultNegotiationTimeout, func(br *bufio.Reader) error { return c.handshake(conn, br, host) })
	if err != nil {
		return nil, err
	}
	c.l = newLink(conn, br, o.log, c, o.hello)
	return c, nil
}

// setup runs a call's set-up (handshake) on conn under a deadline: timeout, or ctx's if
// sooner; cancelling ctx wakes it. It returns the reader the call goes on with.
func setup(ctx context.Context, conn net.Conn, timeout time.Duration, handshake func(*bufio.Reader) error) (*bufio.Reader, error) {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(wakeTime) })
	br := bufio.NewReaderSize(conn, readBufferSize)
	err := handshake(br)
	if !stop() {
		err = cmpOr(context.Cause(ctx), err)
	}
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			err = fmt.Errorf("sstp: call setup: %w", ErrTimeout)
		}
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return br, nil
}

func (c *ClientConn) handshake(conn net.Conn, br *bufio.Reader, host string) error {
	if _, err := conn.Write(appendRequest(nil, host, newCorrelationID())); err != nil {
		return fmt.Errorf("sstp: write HTTP request: %w", err)
	}
	if err := readResponse(br); err != nil {
		return fmt.Errorf("sstp: read HTTP response: %w", err)
	}
	w := &writer{w: conn}
	for naks := 0; ; naks++ {
		req := ControlMessage{Type: MsgCallConnectRequest, Attributes: []Attribute{encapsulatedProtocol()}}
		if err := w.writeControl(req); err != nil {
			return err
		}
		p, err := ReadPacket(br)
		if err != nil {
			return fmt.Errorf("sstp: read CALL_CONNECT_ACK: %w", err)
		}
		m, err := ParseControl(p.Data)
		switch {
		case !p.Control:
			return fmt.Errorf("sstp: data packet before CALL_CONNECT_ACK: %w", ErrProtocol)
		case err != nil:
			return fmt.Errorf("sstp: %w: %w", ErrProtocol, err)
		case m.Type == MsgCallConnectNak && naks < maxNaks:
			continue
		case m.Type == MsgCallAbort:
			return fmt.Errorf("sstp: %w (%v)", ErrAborted, statusOf(m))
		case m.Type != MsgCallConnectAck:
			return fmt.Errorf("sstp: %v instead of CALL_CONNECT_ACK (%v): %w", m.Type, statusOf(m), ErrProtocol)
		}
		a, ok := m.Attribute(AttrCryptoBindingReq)
		if !ok {
			return fmt.Errorf("sstp: CALL_CONNECT_ACK without CRYPTO_BINDING_REQ: %w", ErrProtocol)
		}
		if c.req, err = ParseCryptoBindingRequest(a.Value); err != nil {
			return fmt.Errorf("sstp: %w: %w", ErrProtocol, err)
		}
		switch {
		case c.req.Hashes&uint8(HashSHA256) != 0:
			c.chosen = HashSHA256
		case c.req.Hashes&uint8(HashSHA1) != 0:
			c.chosen = HashSHA1
		default:
			return fmt.Errorf("sstp: server offers no known hash (bitmask %#x): %w", c.req.Hashes, ErrProtocol)
		}
		return nil
	}
}

// newCorrelationID returns a random GUID in braces, as Windows sends.
func newCorrelationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("{%X-%X-%X-%X-%X}", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Hash returns the hash protocol Connected will use: SHA256 if the server offered it, else
// SHA1.
func (c *ClientConn) Hash() HashProtocol { return c.chosen }

// ReadFrame returns the next PPP frame, appended to buf[:0], answering ECHO_REQUEST and ending
// the call on CALL_ABORT (ErrAborted) and CALL_DISCONNECT (ErrDisconnected and io.EOF), as
// ServerConn.ReadFrame does.
func (c *ClientConn) ReadFrame(buf []byte) ([]byte, error) { return c.l.readFrame(buf) }

// WriteFrame sends one PPP frame of at most MaxFrameLen bytes.
func (c *ClientConn) WriteFrame(frame []byte) error { return c.l.writeFrames(frame) }

// WriteFrames sends frames, each of at most MaxFrameLen bytes, in as few TLS records as they
// fit.
func (c *ClientConn) WriteFrames(frames [][]byte) error { return c.l.writeFrames(frames...) }

// Connected sends CALL_CONNECTED once PPP authentication has succeeded: the crypto binding
// with the chosen hash (see Hash), the server's nonce, the hash of certDER (the server's leaf
// certificate as seen in the TLS handshake) and the Compound MAC keyed from hlak, which is
// passed through HLAK. It may be called once.
func (c *ClientConn) Connected(hlak, certDER []byte) error {
	sha1Hash, sha256Hash := CertHashes(certDER)
	cert := sha256Hash
	if c.chosen == HashSHA1 {
		cert = sha1Hash
	}
	return c.sendConnected(CryptoBinding{Hash: c.chosen, Nonce: c.req.Nonce, CertHash: cert}, HLAK(hlak), nil)
}

// sendConnected sends a CALL_CONNECTED with the given binding, its MAC computed from hlak
// unless mac is given, and moves the call to connected. Tests send bad ones with it.
func (c *ClientConn) sendConnected(cb CryptoBinding, hlak, mac []byte) error {
	c.l.mu.Lock()
	ok := c.l.connectLocked()
	c.l.mu.Unlock()
	if !ok {
		return fmt.Errorf("sstp: Connected: call not negotiating: %w", net.ErrClosed)
	}
	return c.l.w.write(true, appendCallConnected(nil, cb, hlak, mac)[HeaderLen:])
}

// Disconnect ends the call normally, as ServerConn.Disconnect does.
func (c *ClientConn) Disconnect() error { return c.l.disconnect() }

// Close closes the connection at once, without a message to the server.
func (c *ClientConn) Close() error { return c.l.close() }

func (c *ClientConn) admit([]byte) bool { return true }

func (c *ClientConn) negotiationDeadline() time.Time { return time.Time{} }

func (c *ClientConn) control(m ControlMessage, _ []byte) {
	c.l.abort(StatusInfo{Status: StatusUnacceptedFrameReceived}, fmt.Errorf("sstp: %w: %v from the server", ErrProtocol, m.Type))
}

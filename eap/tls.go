package eap

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// fragmentSize is the most TLS data one EAP-TLS request carries: IKE messages stay small and
// fragment-free with it.
const fragmentSize = 1000

// maxTLSMessage bounds what a peer may send us in one (reassembled) EAP-TLS message.
const maxTLSMessage = 64 << 10

// mskLabel is the EAP-TLS key label (RFC 5216 §2.3).
const mskLabel = "client EAP encryption"

// TLSServer runs one EAP-TLS authentication (RFC 5216) as the server. Create it with
// NewTLSServer, send Start, then pass every response to Next until it returns Success or
// Failure. It is not safe for concurrent use; it runs crypto/tls in a goroutine of its own,
// which Close ends.
type TLSServer struct {
	conn    *engineConn
	tls     *tls.Conn
	done    chan error
	doneErr error
	ended   bool

	id      uint8
	in      []byte // a fragmented message being reassembled
	pending []byte // our TLS data not sent yet (fragments)

	// MSK is the master session key once the method succeeded: 64 octets (RFC 5216 §2.3).
	MSK []byte
	// PeerCertificates is the client's chain once the handshake is done.
	PeerCertificates []*x509.Certificate
}

// NewTLSServer prepares an EAP-TLS server with cfg, which must ask for and verify the client's
// certificate (ClientAuth, VerifyPeerCertificate). TLS 1.2 is the most it negotiates: EAP-TLS
// with TLS 1.3 (RFC 9190) is a different protocol.
func NewTLSServer(cfg *tls.Config) *TLSServer {
	c := cfg.Clone()
	c.MaxVersion = tls.VersionTLS12
	conn := newEngineConn()
	s := &TLSServer{conn: conn, tls: tls.Server(conn, c), done: make(chan error, 1)}
	go func() { s.done <- s.tls.Handshake() }()
	return s
}

// Close ends the TLS goroutine.
func (s *TLSServer) Close() { s.conn.Close() }

// Start returns the EAP-TLS Start request.
func (s *TLSServer) Start(id uint8) Packet {
	s.id = id
	return Packet{Code: CodeRequest, Identifier: id, Type: TypeTLS, Data: []byte{flagStart}}
}

// Next takes the peer's response and returns what to send: the next request, Success with MSK
// set, or Failure with the reason as the error.
func (s *TLSServer) Next(resp Packet) (Packet, error) {
	fail := func(err error) (Packet, error) {
		s.Close()
		return Packet{Code: CodeFailure, Identifier: s.id + 1}, err
	}
	if resp.Code != CodeResponse || resp.Identifier != s.id {
		return fail(fmt.Errorf("%w: code %d, identifier %d (want a response to %d)", ErrMalformed, resp.Code, resp.Identifier, s.id))
	}
	if resp.Type != TypeTLS {
		return fail(fmt.Errorf("eap: the client wants method %d, not EAP-TLS", resp.Type))
	}
	if len(resp.Data) < 1 {
		return fail(fmt.Errorf("%w: EAP-TLS without flags", ErrMalformed))
	}
	flags, data := resp.Data[0], resp.Data[1:]
	if flags&flagLength != 0 {
		if len(data) < 4 {
			return fail(fmt.Errorf("%w: EAP-TLS length missing", ErrMalformed))
		}
		data = data[4:]
	}
	if len(s.pending) > 0 {
		if len(data) != 0 {
			return fail(fmt.Errorf("%w: data while we were sending fragments", ErrMalformed))
		}
		return s.request(), nil // an ACK: the next fragment
	}
	if len(s.in)+len(data) > maxTLSMessage {
		return fail(fmt.Errorf("%w: EAP-TLS message over %d octets", ErrMalformed, maxTLSMessage))
	}
	s.in = append(s.in, data...)
	if flags&flagMore != 0 {
		s.id++
		return Packet{Code: CodeRequest, Identifier: s.id, Type: TypeTLS, Data: []byte{0}}, nil // ACK
	}
	msg := s.in
	s.in = nil
	if len(msg) == 0 {
		// The ACK of our last flight: the handshake must be over.
		if !s.ended {
			return fail(errors.New("eap: the client acknowledged before the TLS handshake ended"))
		}
		return s.success()
	}
	out, err := s.feed(msg)
	if err != nil {
		return fail(err)
	}
	if len(out) == 0 {
		if s.ended {
			return s.success()
		}
		return fail(errors.New("eap: TLS produced nothing to send"))
	}
	s.pending = out
	return s.request(), nil
}

// request sends the next fragment of s.pending.
func (s *TLSServer) request() Packet {
	s.id++
	n := min(len(s.pending), fragmentSize)
	var flags byte
	var data []byte
	if len(s.pending) > fragmentSize {
		flags |= flagMore
	}
	first := n < len(s.pending) || flags != 0
	if first {
		flags |= flagLength
		data = binary.BigEndian.AppendUint32(data, uint32(len(s.pending)))
	}
	data = append([]byte{flags}, append(data, s.pending[:n]...)...)
	s.pending = s.pending[n:]
	return Packet{Code: CodeRequest, Identifier: s.id, Type: TypeTLS, Data: data}
}

func (s *TLSServer) success() (Packet, error) {
	if s.doneErr != nil {
		return Packet{Code: CodeFailure, Identifier: s.id + 1}, s.doneErr
	}
	st := s.tls.ConnectionState()
	msk, err := st.ExportKeyingMaterial(mskLabel, nil, 128)
	if err != nil {
		return Packet{Code: CodeFailure, Identifier: s.id + 1}, fmt.Errorf("eap: EAP-TLS keys: %w", err)
	}
	s.MSK, s.PeerCertificates = msk[:64], st.PeerCertificates
	s.Close()
	return Packet{Code: CodeSuccess, Identifier: s.id}, nil
}

// feed gives the TLS engine the peer's data and returns what it wrote in answer, once it waits
// for more or has finished the handshake.
func (s *TLSServer) feed(data []byte) ([]byte, error) {
	if s.ended {
		return nil, errors.New("eap: TLS data after the handshake")
	}
	answered := make(chan struct{})
	select {
	case s.conn.feed <- feedReq{data, answered}:
	case err := <-s.done:
		s.ended, s.doneErr = true, err
		return nil, fmt.Errorf("eap: TLS handshake: %w", err)
	}
	select {
	case <-answered:
	case err := <-s.done:
		s.ended, s.doneErr = true, err
		if err != nil {
			return nil, fmt.Errorf("eap: TLS handshake: %w", err)
		}
	case <-time.After(10 * time.Second):
		return nil, errors.New("eap: TLS engine stuck")
	}
	return s.conn.takeOutput(), nil
}

// engineConn is the net.Conn crypto/tls talks to: reads block until the driver feeds data (and
// tell the driver they are waiting), writes are collected for the driver to send.
type engineConn struct {
	feed   chan feedReq
	closed chan struct{}
	once   sync.Once
	in     []byte        // the reader's: what is left of the current feed
	reply  chan struct{} // the reader's: closed once the current feed is used up

	mu  sync.Mutex // guards out
	out bytes.Buffer
}

// feedReq is data for the engine; answered is closed when the engine has used it all and
// waits for more, so what it wrote meanwhile is its whole answer.
type feedReq struct {
	data     []byte
	answered chan struct{}
}

func newEngineConn() *engineConn {
	return &engineConn{feed: make(chan feedReq), closed: make(chan struct{})}
}

func (c *engineConn) Read(p []byte) (int, error) {
	for len(c.in) == 0 {
		if c.reply != nil {
			close(c.reply)
			c.reply = nil
		}
		select {
		case req := <-c.feed:
			c.in, c.reply = req.data, req.answered
		case <-c.closed:
			return 0, io.EOF
		}
	}
	n := copy(p, c.in)
	c.in = c.in[n:]
	return n, nil
}

func (c *engineConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(p)
}

func (c *engineConn) takeOutput() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := bytes.Clone(c.out.Bytes())
	c.out.Reset()
	return b
}

func (c *engineConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *engineConn) LocalAddr() net.Addr              { return eapAddr{} }
func (c *engineConn) RemoteAddr() net.Addr             { return eapAddr{} }
func (c *engineConn) SetDeadline(time.Time) error      { return nil }
func (c *engineConn) SetReadDeadline(time.Time) error  { return nil }
func (c *engineConn) SetWriteDeadline(time.Time) error { return nil }

type eapAddr struct{}

func (eapAddr) Network() string { return "eap" }
func (eapAddr) String() string  { return "eap-tls" }

// PeerCertificates parses the chain a TLS peer sent (VerifyPeerCertificate's raw certificates),
// its own certificate first; an empty chain is an error.
func PeerCertificates(raw [][]byte) ([]*x509.Certificate, error) {
	if len(raw) == 0 {
		return nil, errors.New("no client certificate")
	}
	certs := make([]*x509.Certificate, 0, len(raw))
	for _, der := range raw {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	return certs, nil
}

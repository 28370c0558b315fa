package sstp

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

const (
	// readBufferSize is the size of the reader under the SSTP stream: at least a packet, and
	// room for a whole TLS record so one Read takes one record.
	readBufferSize = 32 << 10
	// maxNaks is how many CALL_CONNECT_NAKs the server sends before it aborts; Windows
	// retries three times (MS-SSTP note <16>).
	maxNaks = 3
	// maxNakStatus bounds the Status Info attributes of one NAK, so a request with a thousand
	// bad attributes does not make one too long for a packet.
	maxNakStatus = 8
)

// ServerConfig configures Accept. Its zero value is not usable: a certificate hash is needed.
type ServerConfig struct {
	// CertHashSHA1 and CertHashSHA256 are the hashes of the DER encoding of the gateway's
	// TLS leaf certificate (see CertHashes), which a CALL_CONNECTED must echo. If TLS ends
	// in front of the gateway, they are those of the certificate the front end presents.
	CertHashSHA1, CertHashSHA256 []byte
	// Hashes is the bitmask of HashProtocols offered in CRYPTO_BINDING_REQ. Zero offers each
	// hash whose certificate hash is set; Windows 7 and later pick SHA256 when both are.
	Hashes uint8
	// Log receives a record for every refusal and every end of a call; nil discards them.
	Log *slog.Logger
	// Rand is the source of the nonce; nil means crypto/rand.
	Rand io.Reader
	// NegotiationTimeout bounds the HTTP request and CALL_CONNECT_REQUEST together, and then
	// the time from CALL_CONNECT_REQUEST to a verified CALL_CONNECTED; zero means
	// DefaultNegotiationTimeout.
	NegotiationTimeout time.Duration
	// HelloInterval is the idle time after which an ECHO_REQUEST is sent, and then the time
	// the peer has to send anything back; zero means DefaultHelloInterval, negative none.
	HelloInterval time.Duration
}

func (cfg ServerConfig) withDefaults() (ServerConfig, error) {
	have := uint8(0)
	if cfg.CertHashSHA1 != nil {
		if len(cfg.CertHashSHA1) != HashSHA1.size() {
			return cfg, fmt.Errorf("sstp: CertHashSHA1 is %d bytes, want %d", len(cfg.CertHashSHA1), HashSHA1.size())
		}
		have |= uint8(HashSHA1)
	}
	if cfg.CertHashSHA256 != nil {
		if len(cfg.CertHashSHA256) != HashSHA256.size() {
			return cfg, fmt.Errorf("sstp: CertHashSHA256 is %d bytes, want %d", len(cfg.CertHashSHA256), HashSHA256.size())
		}
		have |= uint8(HashSHA256)
	}
	if cfg.Hashes == 0 {
		cfg.Hashes = have
	}
	switch {
	case cfg.Hashes == 0:
		return cfg, errors.New("sstp: ServerConfig has no certificate hash")
	case cfg.Hashes&^have != 0:
		return cfg, fmt.Errorf("sstp: ServerConfig offers hashes %#x but has certificate hashes only for %#x", cfg.Hashes, have)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.NegotiationTimeout <= 0 {
		cfg.NegotiationTimeout = DefaultNegotiationTimeout
	}
	if cfg.HelloInterval == 0 {
		cfg.HelloInterval = DefaultHelloInterval
	}
	return cfg, nil
}

// ServerConn is the server's side of one SSTP call. ReadFrame must be called by one
// goroutine at a time, and in a loop, since it also runs the call's timers; every other
// method may be called concurrently with it and with each other.
type ServerConn struct {
	l             *link
	cfg           ServerConfig
	log           *slog.Logger
	correlationID string
	nonce         [NonceLen]byte
	negotiateBy   time.Time
	connected     chan struct{}
	outDrops      atomic.Uint64

	// Guarded by l.mu.
	hlak []byte // nil until SetHLAK
	held []byte // a CALL_CONNECTED packet waiting for SetHLAK
}

var _ role = (*ServerConn)(nil)

// Accept runs the server's half of the call setup on conn, a connection whose TLS handshake
// is done: it reads the HTTP request and answers it, reads CALL_CONNECT_REQUEST (answering a
// bad one with CALL_CONNECT_NAK, up to three times) and answers CALL_CONNECT_ACK with a fresh
// nonce. The whole setup must finish within cfg.NegotiationTimeout and before ctx ends; ctx
// does not matter after Accept returns.
//
// A refused HTTP request is answered with an HTTP error status and returned as an *HTTPError;
// a bad CALL_CONNECT_REQUEST sequence is answered with CALL_ABORT and returned wrapping
// ErrProtocol. On error the caller still owns conn and closes it; on success the ServerConn
// owns it.
func Accept(ctx context.Context, conn net.Conn, cfg ServerConfig) (*ServerConn, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &ServerConn{cfg: cfg, log: cfg.Log.With("remote", conn.RemoteAddr().String()), connected: make(chan struct{})}
	if _, err := io.ReadFull(cfg.Rand, c.nonce[:]); err != nil {
		return nil, fmt.Errorf("sstp: nonce: %w", err)
	}
	br, err := setup(ctx, conn, cfg.NegotiationTimeout, func(br *bufio.Reader) error { return c.handshake(conn, br) })
	if err != nil {
		return nil, err
	}
	c.l = newLink(conn, br, c.log, c, cfg.HelloInterval)
	return c, nil
}

// handshake reads the HTTP request and CALL_CONNECT_REQUEST and answers them.
func (c *ServerConn) handshake(conn net.Conn, br *bufio.Reader) error {
	req, err := ReadRequest(br)
	if err != nil {
		var he *HTTPError
		if errors.As(err, &he) {
			c.log.Warn("SSTP HTTP request refused", "status", he.Status, "reason", he.Reason)
			_, _ = conn.Write(appendResponse(nil, he.Status, time.Now()))
			return err
		}
		c.log.Info("SSTP HTTP request not read", "err", err)
		return fmt.Errorf("sstp: read HTTP request: %w", err)
	}
	if _, err := conn.Write(appendResponse(nil, http.StatusOK, time.Now())); err != nil {
		return fmt.Errorf("sstp: write HTTP response: %w", err)
	}
	c.correlationID = req.CorrelationID
	c.log = c.log.With("correlation_id", req.CorrelationID)
	w := &writer{w: conn}
	for naks := 0; ; naks++ {
		m, err := c.readConnectRequest(br, w)
		if err != nil {
			return err
		}
		bad := checkConnectRequest(m)
		if len(bad) == 0 {
			break
		}
		if naks == maxNaks {
			return c.abortSetup(w, StatusInfo{Attr: AttrStatusInfo, Status: StatusRetryCountExceeded},
				fmt.Sprintf("CALL_CONNECT_REQUEST refused %d times", naks+1))
		}
		c.log.Warn("SSTP CALL_CONNECT_REQUEST refused", "status", bad[0], "attributes", m.String())
		nak := ControlMessage{Type: MsgCallConnectNak}
		for _, s := range bad {
			nak.Attributes = append(nak.Attributes, s.Attribute())
		}
		if err := w.writeControl(nak); err != nil {
			return err
		}
	}
	c.negotiateBy = time.Now().Add(c.cfg.NegotiationTimeout)
	ack := ControlMessage{Type: MsgCallConnectAck, Attributes: []Attribute{
		CryptoBindingRequest{Hashes: c.cfg.Hashes, Nonce: c.nonce}.Attribute(),
	}}
	return w.writeControl(ack)
}

// readConnectRequest reads the next packet, which must be a CALL_CONNECT_REQUEST.
func (c *ServerConn) readConnectRequest(br *bufio.Reader, w *writer) (ControlMessage, error) {
	p, err := ReadPacket(br)
	if err != nil {
		c.log.Info("SSTP CALL_CONNECT_REQUEST not read", "err", err)
		return ControlMessage{}, fmt.Errorf("sstp: read CALL_CONNECT_REQUEST: %w", err)
	}
	if !p.Control {
		return ControlMessage{}, c.abortSetup(w, StatusInfo{Status: StatusUnacceptedFrameReceived}, "data packet before CALL_CONNECT_REQUEST")
	}
	m, err := ParseControl(p.Data)
	if err != nil {
		return ControlMessage{}, c.abortSetup(w, StatusInfo{Status: StatusInvalidFrameReceived}, err.Error())
	}
	if m.Type != MsgCallConnectRequest {
		return ControlMessage{}, c.abortSetup(w, StatusInfo{Status: StatusUnacceptedFrameReceived}, m.Type.String()+" before CALL_CONNECT_REQUEST")
	}
	return m, nil
}

// abortSetup sends CALL_ABORT during Accept and returns the error for it. Accept does not
// wait for the peer's answer: the caller closes the connection right away.
func (c *ServerConn) abortSetup(w *writer, s StatusInfo, reason string) error {
	c.log.Warn("SSTP call setup aborted", "status", s, "reason", reason)
	_ = w.writeControl(ControlMessage{Type: MsgCallAbort, Attributes: []Attribute{s.Attribute()}})
	return fmt.Errorf("sstp: call setup: %w: %s", ErrProtocol, reason)
}

// checkConnectRequest returns the Status Info attributes of the NAK a CALL_CONNECT_REQUEST
// deserves (§3.3.5.2.2), none if it is acceptable.
func checkConnectRequest(m ControlMessage) []StatusInfo {
	var bad []StatusInfo
	seen := false
	for _, a := range m.Attributes {
		switch a.ID {
		case AttrEncapsulatedProtocolID:
			switch {
			case seen:
				bad = append(bad, StatusInfo{Attr: a.ID, Status: StatusDuplicateAttribute})
			case len(a.Value) != encapsulatedProtocolLen:
				bad = append(bad, StatusInfo{Attr: a.ID, Status: StatusInvalidAttribValueLength, Value: a.Value})
			case binary.BigEndian.Uint16(a.Value) != ProtocolPPP:
				bad = append(bad, StatusInfo{Attr: a.ID, Status: StatusValueNotSupported, Value: a.Value})
			}
			seen = true
		case AttrStatusInfo:
			if s, err := ParseStatusInfo(a.Value); err != nil || s.Status != StatusNoError {
				bad = append(bad, StatusInfo{Attr: AttrStatusInfo, Status: StatusStatusInfoNotSupportedInMsg})
			}
		default:
			bad = append(bad, StatusInfo{Attr: a.ID, Status: StatusUnrecognizedAttribute})
		}
	}
	if !seen {
		bad = append(bad, StatusInfo{Attr: AttrEncapsulatedProtocolID, Status: StatusRequiredAttributeMissing})
	}
	return bad[:min(len(bad), maxNakStatus)]
}

// CorrelationID returns the SSTPCORRELATIONID of the HTTP request, "" if there was none. It
// contains only letters, digits, braces and hyphens.
func (c *ServerConn) CorrelationID() string { return c.correlationID }

// ReadFrame returns the next PPP frame, appended to buf[:0] (which may be nil); the caller
// owns it. It handles control messages itself: it answers ECHO_REQUEST, verifies
// CALL_CONNECTED, and ends the call on CALL_ABORT (error wrapping ErrAborted) and
// CALL_DISCONNECT (ErrDisconnected and io.EOF). Until CALL_CONNECTED has been verified it
// returns only PPP control frames (IsControlFrame) and drops data frames, logging them. It
// runs the negotiation timer (no verified CALL_CONNECTED in time: CALL_ABORT, ErrTimeout) and
// the hello timer.
//
// When the call has ended, ReadFrame returns why (a failed binding wraps ErrBinding, a
// protocol violation ErrProtocol), every time it is called, and the connection is closed.
func (c *ServerConn) ReadFrame(buf []byte) ([]byte, error) { return c.l.readFrame(buf) }

// WriteFrame sends one PPP frame, of at most MaxFrameLen bytes. Until CALL_CONNECTED has been
// verified only PPP control frames go out; data frames are dropped without an error (§3.3.7.1).
// Frames written by several goroutines at once are packed into one write.
func (c *ServerConn) WriteFrame(frame []byte) error {
	if !c.l.connected.Load() && !IsControlFrame(frame) {
		c.outDrops.Add(1)
		return nil
	}
	return c.l.writeFrames(frame)
}

// WriteFrames sends frames in one write, with the rules of WriteFrame. It sends nothing if
// any frame is longer than MaxFrameLen.
func (c *ServerConn) WriteFrames(frames [][]byte) error {
	if !c.l.connected.Load() {
		var pass [][]byte
		for _, f := range frames {
			if IsControlFrame(f) {
				pass = append(pass, f)
			} else {
				c.outDrops.Add(1)
			}
		}
		frames = pass
	}
	return c.l.writeFrames(frames...)
}

// Connected returns a channel closed when CALL_CONNECTED has been verified.
func (c *ServerConn) Connected() <-chan struct{} { return c.connected }

// SetHLAK hands over the Higher-Layer Authentication Key once PPP authentication has
// succeeded. It is passed through HLAK, so a shorter key is padded and nil (PAP) is 32
// zeros; the caller keeps hlak. A
// CALL_CONNECTED that came first, which Windows does when the authenticator answers slower
// than the peer (RADIUS), is verified now. Only the first call counts.
func (c *ServerConn) SetHLAK(hlak []byte) {
	h := HLAK(hlak)
	c.l.mu.Lock()
	if c.hlak != nil || c.l.state != stateNegotiating {
		st := c.l.state
		c.l.mu.Unlock()
		c.log.Warn("SSTP SetHLAK ignored", "state", st, "again", c.hlak != nil)
		return
	}
	c.hlak = h
	if c.held == nil {
		c.l.mu.Unlock()
		return
	}
	s, err := c.verifyLocked()
	c.l.mu.Unlock()
	if err != nil {
		c.bindingFailed(s, err)
	}
}

// Disconnect ends the call normally: it sends CALL_DISCONNECT, waits up to five seconds for
// the acknowledgement (reading the connection itself if no ReadFrame is running) and closes
// the connection. It returns an error wrapping ErrTimeout if no acknowledgement came. reason
// is logged; the protocol has no field for it.
func (c *ServerConn) Disconnect(reason string) error {
	c.log.Info("SSTP disconnecting call", "reason", reason)
	return c.l.disconnect()
}

// Close closes the connection at once, without a message to the peer. A ReadFrame running
// returns an error wrapping net.ErrClosed, unless the call had already ended for another
// reason.
func (c *ServerConn) Close() error { return c.l.close() }

// DroppedFrames returns how many PPP data frames were dropped, in and out, because they came
// before the crypto binding was verified.
func (c *ServerConn) DroppedFrames() (in, out uint64) {
	return c.l.drops.Load(), c.outDrops.Load()
}

func (c *ServerConn) admit(frame []byte) bool { return IsControlFrame(frame) }

func (c *ServerConn) negotiationDeadline() time.Time { return c.negotiateBy }

func (c *ServerConn) control(m ControlMessage, pkt []byte) {
	if m.Type != MsgCallConnected {
		c.l.abort(StatusInfo{Status: StatusUnacceptedFrameReceived}, fmt.Errorf("sstp: %w: %v from the client", ErrProtocol, m.Type))
		return
	}
	c.l.mu.Lock()
	if c.l.state != stateNegotiating || c.held != nil {
		c.l.mu.Unlock()
		c.l.abort(StatusInfo{Status: StatusUnacceptedFrameReceived}, fmt.Errorf("sstp: %w: second CALL_CONNECTED", ErrProtocol))
		return
	}
	c.held = append([]byte{}, pkt...)
	if c.hlak == nil {
		c.l.mu.Unlock()
		c.log.Info("SSTP CALL_CONNECTED held until PPP authentication gives the HLAK")
		return
	}
	s, err := c.verifyLocked()
	c.l.mu.Unlock()
	if err != nil {
		c.bindingFailed(s, err)
	}
}

// verifyLocked checks the held CALL_CONNECTED against the HLAK and, if it verifies, connects
// the call. Otherwise it returns the Status Info to abort with. Called with l.mu held.
func (c *ServerConn) verifyLocked() (StatusInfo, error) {
	h, s, reason := c.verify(c.held, c.hlak)
	if reason != "" {
		return s, fmt.Errorf("sstp: %w: %s", ErrBinding, reason)
	}
	if c.l.connectLocked() {
		close(c.connected)
		c.log.Info("SSTP crypto binding verified", "hash", h)
	}
	return StatusInfo{}, nil
}

func (c *ServerConn) bindingFailed(s StatusInfo, err error) {
	c.log.Warn("SSTP crypto binding failed", "reason", err)
	c.l.abort(s, err)
}

// verify checks a CALL_CONNECTED packet (§3.3.5.2.3) and returns the hash it used, or the
// Status Info to abort with and why.
func (c *ServerConn) verify(pkt, hlak []byte) (HashProtocol, StatusInfo, string) {
	m, err := ParseControl(pkt[HeaderLen:])
	if err != nil || len(pkt) != CallConnectedLen || len(m.Attributes) != 1 || m.Attributes[0].ID != AttrCryptoBinding {
		return 0, StatusInfo{Attr: AttrStatusInfo, Status: StatusAttribNotSupportedInMsg},
			"CALL_CONNECTED is not exactly one CRYPTO_BINDING attribute: " + m.String()
	}
	bad := StatusInfo{Attr: AttrCryptoBinding, Status: StatusValueNotSupported}
	v := m.Attributes[0].Value
	if h := HashProtocol(v[3]); h.size() == 0 || c.cfg.Hashes&uint8(h) == 0 {
		return 0, bad, fmt.Sprintf("hash protocol %v was not offered (offered %#x)", h, c.cfg.Hashes)
	} else if h == HashSHA1 && c.cfg.Hashes&uint8(HashSHA256) != 0 {
		// §3.2.5.2: a client that has SHA-256 must use it when it is offered.
		return 0, bad, "SHA1 chosen while SHA256 was offered"
	}
	cb, err := ParseCryptoBinding(v)
	if err != nil {
		return 0, bad, err.Error()
	}
	if !hmac.Equal(cb.Nonce[:], c.nonce[:]) {
		return cb.Hash, bad, "nonce differs from the one sent"
	}
	want := c.cfg.CertHashSHA256
	if cb.Hash == HashSHA1 {
		want = c.cfg.CertHashSHA1
	}
	if !hmac.Equal(cb.CertHash, want) {
		return cb.Hash, bad, fmt.Sprintf("%v certificate hash differs from the gateway's: the client saw another certificate (a TLS-intercepting proxy, or a man in the middle)", cb.Hash)
	}
	if !hmac.Equal(cb.MAC, CompoundMAC(cb.Hash, CMK(cb.Hash, hlak), pkt)) {
		return cb.Hash, bad, fmt.Sprintf("%v Compound MAC differs: the client's HLAK is not ours (a relayed PPP authentication, or mismatched key derivation)", cb.Hash)
	}
	return cb.Hash, StatusInfo{}, ""
}

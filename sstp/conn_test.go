package sstp

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/p2sgw/p2sgw/pki"
)

// The tests below run both ends in one process, TLS over net.Pipe, inside a synctest bubble
// so the timers (seconds to a minute) take no real time. Each step is annotated in the spec's
// terms.

var (
	lcpFrame  = []byte{0xff, 0x03, 0xc0, 0x21, 0x01, 0x01, 0x00, 0x04}
	papFrame  = []byte{0xc0, 0x23, 0x02, 0x01, 0x00, 0x05, 0x00}
	ipFrame   = []byte{0xff, 0x03, 0x00, 0x21, 0x45, 0x00, 0x00, 0x14}
	ipFrame2  = []byte{0x00, 0x21, 0x45, 0x00, 0x00, 0x15}
	testHLAK  = bytes.Repeat([]byte{0x5a}, 32)
	otherHLAK = bytes.Repeat([]byte{0xa5}, 32)
)

var testCert = sync.OnceValues(func() (tls.Certificate, error) {
	ca, err := pki.NewRoot("sstp test root", pki.Options{})
	if err != nil {
		return tls.Certificate{}, err
	}
	c, err := ca.IssueServer([]string{"vpn.example.com"}, nil, pki.Options{})
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{c.Cert.Raw, ca.Cert.Raw}, PrivateKey: c.Key, Leaf: c.Cert}, nil
})

// syncBuffer is a bytes.Buffer safe for concurrent use, for log records.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// pump reads frames from one end into a channel until the call ends.
type pump struct {
	frames chan []byte
	done   chan error
}

func startPump(read func([]byte) ([]byte, error)) *pump {
	p := &pump{frames: make(chan []byte, 64), done: make(chan error, 1)}
	go func() {
		for {
			f, err := read(nil)
			if err != nil {
				p.done <- err
				close(p.frames)
				return
			}
			p.frames <- f
		}
	}()
	return p
}

// next returns the next frame, failing if there is none once everything has settled.
func (p *pump) next(t *testing.T) []byte {
	t.Helper()
	synctest.Wait()
	select {
	case f, ok := <-p.frames:
		if !ok {
			t.Fatal("call ended")
		}
		return f
	default:
		t.Fatal("no frame")
		return nil
	}
}

func (p *pump) empty(t *testing.T) {
	t.Helper()
	synctest.Wait()
	select {
	case f := <-p.frames:
		t.Fatalf("unexpected frame % x", f)
	default:
	}
}

func (p *pump) err(t *testing.T) error {
	t.Helper()
	select {
	case err := <-p.done:
		return err
	case <-time.After(time.Minute):
		t.Fatal("call did not end")
		return nil
	}
}

type call struct {
	srv      *ServerConn
	cli      *ClientConn
	cert     []byte // the server certificate the client saw
	logs     *syncBuffer
	clientTC *tls.Conn
	srvPump  *pump
	cliPump  *pump
}

// dial sets up a call with the server's Accept and the client's Dial, and starts reading on
// both ends.
func dial(t *testing.T, cfg ServerConfig, opts ...ClientOption) *call {
	t.Helper()
	cert, err := testCert()
	if err != nil {
		t.Fatal(err)
	}
	logs := new(syncBuffer)
	cfg.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.CertHashSHA1 == nil && cfg.CertHashSHA256 == nil {
		cfg.CertHashSHA1, cfg.CertHashSHA256 = CertHashes(cert.Leaf.Raw)
	}
	roots := x509.NewCertPool()
	roots.AddCert(mustParse(t, cert.Certificate[1]))
	a, b := net.Pipe()
	stc := tls.Server(a, &tls.Config{Certificates: []tls.Certificate{cert}})
	ctc := tls.Client(b, &tls.Config{RootCAs: roots, ServerName: "vpn.example.com"})

	c := &call{logs: logs, clientTC: ctc}
	errc := make(chan error, 1)
	go func() {
		var err error
		c.srv, err = Accept(context.Background(), stc, cfg)
		errc <- err
	}()
	// SSTP_DUPLEX_POST, 200, CALL_CONNECT_REQUEST { ENCAPSULATED_PROTOCOL_ID } -->
	//                       <-- CALL_CONNECT_ACK { CRYPTO_BINDING_REQ }
	c.cli, err = Dial(context.Background(), ctc, "vpn.example.com", opts...)
	if err != nil {
		t.Fatal("Dial:", err)
	}
	if err := <-errc; err != nil {
		t.Fatal("Accept:", err)
	}
	c.cert = ctc.ConnectionState().PeerCertificates[0].Raw
	c.srvPump = startPump(c.srv.ReadFrame)
	c.cliPump = startPump(c.cli.ReadFrame)
	t.Cleanup(func() {
		c.srv.Close()
		c.cli.Close()
		settle()
	})
	return c
}

// settle lets the connections finish closing before the bubble ends: over net.Pipe, a
// tls.Conn's close_notify blocks until the peer reads it or five (synthetic) seconds pass.
func settle() { time.Sleep(10 * time.Second) }

func mustParse(t *testing.T, der []byte) *x509.Certificate {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func connected(s *ServerConn) bool {
	select {
	case <-s.Connected():
		return true
	default:
		return false
	}
}

// negotiate exchanges PPP control frames both ways and checks that data frames before the
// crypto binding stay out in both directions.
func (c *call) negotiate(t *testing.T) {
	t.Helper()
	if id := c.srv.CorrelationID(); !strings.HasPrefix(id, "{") || len(id) != 38 {
		t.Errorf("correlation ID %q", id)
	}
	// LCP Configure-Request -->, <-- LCP
	must(t, c.cli.WriteFrame(lcpFrame))
	if f := c.srvPump.next(t); !bytes.Equal(f, lcpFrame) {
		t.Fatalf("server got % x", f)
	}
	must(t, c.srv.WriteFrame(lcpFrame))
	if f := c.cliPump.next(t); !bytes.Equal(f, lcpFrame) {
		t.Fatalf("client got % x", f)
	}
	// IPv4 --> (dropped), PAP -->
	must(t, c.cli.WriteFrame(ipFrame))
	must(t, c.cli.WriteFrame(papFrame))
	if f := c.srvPump.next(t); !bytes.Equal(f, papFrame) {
		t.Fatalf("server got % x, want the PAP frame after the dropped IP frame", f)
	}
	c.srvPump.empty(t)
	if !strings.Contains(c.logs.String(), "dropped a PPP data frame") || !strings.Contains(c.logs.String(), "protocol=0x0021") {
		t.Errorf("drop not logged:\n%s", c.logs)
	}
	// <-- IPv4 (dropped by the server before it is sent)
	must(t, c.srv.WriteFrames([][]byte{ipFrame, lcpFrame}))
	if f := c.cliPump.next(t); !bytes.Equal(f, lcpFrame) {
		t.Fatalf("client got % x", f)
	}
	c.cliPump.empty(t)
	if in, out := c.srv.DroppedFrames(); in != 1 || out != 1 {
		t.Errorf("dropped %d in, %d out", in, out)
	}
	if connected(c.srv) {
		t.Fatal("connected before CALL_CONNECTED")
	}
}

// dataFlows checks that data frames pass both ways, several packed in one write.
func (c *call) dataFlows(t *testing.T) {
	t.Helper()
	must(t, c.cli.WriteFrame(ipFrame))
	if f := c.srvPump.next(t); !bytes.Equal(f, ipFrame) {
		t.Fatalf("server got % x", f)
	}
	must(t, c.srv.WriteFrames([][]byte{ipFrame, ipFrame2, lcpFrame}))
	for _, want := range [][]byte{ipFrame, ipFrame2, lcpFrame} {
		if f := c.cliPump.next(t); !bytes.Equal(f, want) {
			t.Fatalf("client got % x, want % x", f, want)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestCallConnected(t *testing.T) {
	for _, tc := range []struct {
		name       string
		hashes     uint8
		want       HashProtocol
		hlakFirst  bool // SetHLAK before CALL_CONNECTED arrives
		hlak       []byte
		serverKeys []byte
	}{
		{name: "SHA256 offered with SHA1", want: HashSHA256, hlakFirst: true, hlak: testHLAK, serverKeys: testHLAK},
		{name: "SHA1 only", hashes: uint8(HashSHA1), want: HashSHA1, hlakFirst: true, hlak: testHLAK, serverKeys: testHLAK},
		{name: "SHA256 only", hashes: uint8(HashSHA256), want: HashSHA256, hlak: testHLAK, serverKeys: testHLAK},
		{name: "held until SetHLAK", want: HashSHA256, hlak: testHLAK, serverKeys: testHLAK},
		{name: "held until SetHLAK, SHA1", hashes: uint8(HashSHA1), want: HashSHA1, hlak: testHLAK, serverKeys: testHLAK},
		{name: "PAP zero HLAK", want: HashSHA256, hlak: nil, serverKeys: make([]byte, 32)},
		{name: "short keys padded", want: HashSHA256, hlakFirst: true, hlak: testHLAK[:16], serverKeys: append(bytes.Clone(testHLAK[:16]), make([]byte, 16)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := dial(t, ServerConfig{Hashes: tc.hashes})
				c.negotiate(t)
				if c.cli.Hash() != tc.want {
					t.Fatalf("client chose %v, want %v", c.cli.Hash(), tc.want)
				}
				if tc.hlakFirst {
					c.srv.SetHLAK(tc.serverKeys)
				}
				// CALL_CONNECTED { CRYPTO_BINDING } -->
				must(t, c.cli.Connected(tc.hlak, c.cert))
				synctest.Wait()
				if !tc.hlakFirst {
					if connected(c.srv) {
						t.Fatal("connected without an HLAK")
					}
					if !strings.Contains(c.logs.String(), "held until PPP authentication") {
						t.Errorf("hold not logged:\n%s", c.logs)
					}
					c.srv.SetHLAK(tc.serverKeys)
					synctest.Wait()
				}
				if !connected(c.srv) {
					t.Fatalf("binding not verified:\n%s", c.logs)
				}
				if !strings.Contains(c.logs.String(), "hash="+tc.want.String()) {
					t.Errorf("log does not name the hash:\n%s", c.logs)
				}
				c.dataFlows(t)

				// CALL_DISCONNECT -->, <-- CALL_DISCONNECT_ACK
				must(t, c.cli.Disconnect())
				if err := c.srvPump.err(t); !errors.Is(err, ErrDisconnected) || !errors.Is(err, io.EOF) {
					t.Fatalf("server: %v", err)
				}
				if err := c.cliPump.err(t); !errors.Is(err, ErrDisconnected) {
					t.Fatalf("client: %v", err)
				}
				if err := c.srv.WriteFrame(ipFrame); err == nil {
					t.Fatal("write after the end")
				}
			})
		})
	}
}

func TestCallConnectedRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hashes uint8
		send   func(c *call) error
		status StatusInfo
		reason string
	}{
		{
			name:   "wrong HLAK",
			send:   func(c *call) error { return c.cli.Connected(otherHLAK, c.cert) },
			status: StatusInfo{Attr: AttrCryptoBinding, Status: StatusValueNotSupported},
			reason: "Compound MAC differs",
		},
		{
			name:   "wrong certificate",
			send:   func(c *call) error { return c.cli.Connected(testHLAK, []byte("a proxy's certificate")) },
			status: StatusInfo{Attr: AttrCryptoBinding, Status: StatusValueNotSupported},
			reason: "certificate hash differs",
		},
		{
			name: "wrong nonce",
			send: func(c *call) error {
				cb := c.binding()
				cb.Nonce[0] ^= 1
				return c.cli.sendConnected(cb, testHLAK, nil)
			},
			status: StatusInfo{Attr: AttrCryptoBinding, Status: StatusValueNotSupported},
			reason: "nonce differs",
		},
		{
			name:   "hash not offered",
			hashes: uint8(HashSHA1),
			send: func(c *call) error {
				cb := c.binding()
				cb.Hash = HashSHA256
				_, cb.CertHash = CertHashes(c.cert)
				return c.cli.sendConnected(cb, testHLAK, nil)
			},
			status: StatusInfo{Attr: AttrCryptoBinding, Status: StatusValueNotSupported},
			reason: "SHA256 was not offered",
		},
		{
			name:   "SHA1 while SHA256 was offered",
			hashes: uint8(HashSHA1 | HashSHA256),
			send: func(c *call) error {
				cb := c.binding()
				cb.Hash = HashSHA1
				cb.CertHash, _ = CertHashes(c.cert)
				return c.cli.sendConnected(cb, testHLAK, nil)
			},
			status: StatusInfo{Attr: AttrCryptoBinding, Status: StatusValueNotSupported},
			reason: "SHA1 chosen while SHA256 was offered",
		},
		{
			name: "unknown hash",
			send: func(c *call) error {
				cb := c.binding()
				cb.Hash = 3
				return c.cli.sendConnected(cb, testHLAK, make([]byte, 32))
			},
			status: StatusInfo{Attr: AttrCryptoBinding, Status: StatusValueNotSupported},
			reason: "was not offered",
		},
		{
			name:   "MAC zeroed",
			send:   func(c *call) error { return c.cli.sendConnected(c.binding(), testHLAK, make([]byte, 32)) },
			status: StatusInfo{Attr: AttrCryptoBinding, Status: StatusValueNotSupported},
			reason: "Compound MAC differs",
		},
		{
			name: "no CRYPTO_BINDING",
			send: func(c *call) error {
				c.cli.l.mu.Lock()
				c.cli.l.connectLocked()
				c.cli.l.mu.Unlock()
				return c.cli.l.w.writeControl(ControlMessage{Type: MsgCallConnected})
			},
			status: StatusInfo{Attr: AttrStatusInfo, Status: StatusAttribNotSupportedInMsg},
			reason: "not exactly one CRYPTO_BINDING",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := dial(t, ServerConfig{Hashes: tc.hashes})
				c.negotiate(t)
				c.srv.SetHLAK(testHLAK)
				must(t, tc.send(c))
				// <-- CALL_ABORT { STATUS_INFO }, CALL_ABORT -->
				err := c.srvPump.err(t)
				if !errors.Is(err, ErrBinding) || !strings.Contains(err.Error(), tc.reason) {
					t.Fatalf("server: %v, want ErrBinding with %q", err, tc.reason)
				}
				cerr := c.cliPump.err(t)
				if !errors.Is(cerr, ErrAborted) || !strings.Contains(cerr.Error(), tc.status.String()) {
					t.Fatalf("client: %v, want ErrAborted with %v", cerr, tc.status)
				}
				logs := c.logs.String()
				if !strings.Contains(logs, "SSTP crypto binding failed") || !strings.Contains(logs, tc.reason) {
					t.Fatalf("log does not say why:\n%s", logs)
				}
				if connected(c.srv) {
					t.Fatal("connected")
				}
			})
		})
	}
}

// A bad CALL_CONNECTED held for the HLAK fails when the HLAK comes.
func TestHeldCallConnectedFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := dial(t, ServerConfig{})
		c.negotiate(t)
		must(t, c.cli.Connected(otherHLAK, c.cert))
		synctest.Wait()
		c.srv.SetHLAK(testHLAK)
		if err := c.srvPump.err(t); !errors.Is(err, ErrBinding) {
			t.Fatalf("server: %v", err)
		}
		if err := c.cliPump.err(t); !errors.Is(err, ErrAborted) {
			t.Fatalf("client: %v", err)
		}
	})
}

func (c *call) binding() CryptoBinding {
	_, h := CertHashes(c.cert)
	if c.cli.Hash() == HashSHA1 {
		h, _ = CertHashes(c.cert)
	}
	return CryptoBinding{Hash: c.cli.Hash(), Nonce: c.cli.req.Nonce, CertHash: h}
}

func TestNegotiationTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		step func(c *call)
	}{
		{"no CALL_CONNECTED", func(c *call) {}},
		{"CALL_CONNECTED but no HLAK", func(c *call) { _ = c.cli.Connected(testHLAK, c.cert) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := dial(t, ServerConfig{NegotiationTimeout: 30 * time.Second})
				c.negotiate(t)
				tc.step(c)
				start := time.Now()
				err := c.srvPump.err(t)
				if !errors.Is(err, ErrTimeout) {
					t.Fatalf("server: %v", err)
				}
				if d := time.Since(start); d < 29*time.Second || d > 35*time.Second {
					t.Errorf("ended after %v", d)
				}
				if err := c.cliPump.err(t); !errors.Is(err, ErrAborted) || !strings.Contains(err.Error(), "NEGOTIATION_TIMEOUT") {
					t.Fatalf("client: %v", err)
				}
			})
		})
	}
}

func TestHello(t *testing.T) {
	const interval = 10 * time.Second
	for _, tc := range []struct {
		name string
		cfg  ServerConfig
		opts []ClientOption
	}{
		{"server sends echo", ServerConfig{HelloInterval: interval}, []ClientOption{WithHelloInterval(-1)}},
		{"client sends echo", ServerConfig{HelloInterval: -1}, []ClientOption{WithHelloInterval(interval)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := dial(t, tc.cfg, tc.opts...)
				c.srv.SetHLAK(testHLAK)
				must(t, c.cli.Connected(testHLAK, c.cert))
				synctest.Wait()
				// Idle for many intervals: ECHO_REQUEST <->, ECHO_RESPONSE keep the call up.
				time.Sleep(10 * interval)
				synctest.Wait()
				select {
				case err := <-c.srvPump.done:
					t.Fatalf("server ended: %v", err)
				case err := <-c.cliPump.done:
					t.Fatalf("client ended: %v", err)
				default:
				}
				c.dataFlows(t)
			})
		})
	}
}

// deadPeer sets up a call whose client then stops: from then on, whatever the server sends
// falls into a black hole and nothing comes back.
func deadPeer(t *testing.T, cfg ServerConfig) (*ServerConn, *pump) {
	cert, err := testCert()
	must(t, err)
	a, b := net.Pipe()
	stc := tls.Server(a, &tls.Config{Certificates: []tls.Certificate{cert}})
	ctc := tls.Client(b, &tls.Config{InsecureSkipVerify: true})
	cfg.CertHashSHA1, cfg.CertHashSHA256 = CertHashes(cert.Leaf.Raw)
	errc := make(chan error, 1)
	var srv *ServerConn
	go func() {
		var err error
		srv, err = Accept(context.Background(), stc, cfg)
		errc <- err
	}()
	cli, err := Dial(context.Background(), ctc, "vpn.example.com")
	must(t, err)
	must(t, <-errc)
	srv.SetHLAK(nil)
	p := startPump(srv.ReadFrame)
	must(t, cli.Connected(nil, ctc.ConnectionState().PeerCertificates[0].Raw))
	synctest.Wait()
	if !connected(srv) {
		t.Fatal("not connected")
	}
	_ = b.SetReadDeadline(time.Time{}) // the client link had armed its timers on it
	go io.Copy(io.Discard, b)
	t.Cleanup(func() {
		b.Close()
		settle()
	})
	return srv, p
}

// A peer that stops answering is dropped after two intervals at most, without CALL_ABORT.
func TestHelloDeadPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, p := deadPeer(t, ServerConfig{HelloInterval: 10 * time.Second})
		start := time.Now()
		if err := p.err(t); !errors.Is(err, ErrTimeout) {
			t.Fatalf("server: %v", err)
		}
		if d := time.Since(start); d < 20*time.Second || d > 30*time.Second {
			t.Errorf("dropped after %v", d)
		}
		srv.Close()
	})
}

// Without an acknowledgement Disconnect gives up after five seconds.
func TestDisconnectTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, p := deadPeer(t, ServerConfig{HelloInterval: -1})
		start := time.Now()
		if err := srv.Disconnect("test"); !errors.Is(err, ErrTimeout) {
			t.Fatalf("Disconnect: %v", err)
		}
		if d := time.Since(start); d != disconnectTimeout {
			t.Errorf("took %v", d)
		}
		if err := p.err(t); !errors.Is(err, ErrDisconnected) {
			t.Fatalf("ReadFrame: %v", err)
		}
	})
}

func TestServerDisconnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := dial(t, ServerConfig{})
		c.negotiate(t)
		// <-- CALL_DISCONNECT, CALL_DISCONNECT_ACK -->
		must(t, c.srv.Disconnect("administrator"))
		if err := c.cliPump.err(t); !errors.Is(err, ErrDisconnected) || !errors.Is(err, io.EOF) {
			t.Fatalf("client: %v", err)
		}
		if err := c.srvPump.err(t); !errors.Is(err, ErrDisconnected) || errors.Is(err, io.EOF) {
			t.Fatalf("server: %v", err)
		}
		if !strings.Contains(c.logs.String(), "reason=administrator") {
			t.Errorf("reason not logged:\n%s", c.logs)
		}
	})
}

// Disconnect works with no ReadFrame running: it reads the acknowledgement itself.
func TestDisconnectWithoutReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cert, err := testCert()
		must(t, err)
		a, b := net.Pipe()
		stc := tls.Server(a, &tls.Config{Certificates: []tls.Certificate{cert}})
		ctc := tls.Client(b, &tls.Config{InsecureSkipVerify: true})
		s1, s256 := CertHashes(cert.Leaf.Raw)
		errc := make(chan error, 1)
		var srv *ServerConn
		go func() {
			var err error
			srv, err = Accept(context.Background(), stc, ServerConfig{CertHashSHA1: s1, CertHashSHA256: s256})
			errc <- err
		}()
		cli, err := Dial(context.Background(), ctc, "vpn.example.com")
		must(t, err)
		must(t, <-errc)
		p := startPump(cli.ReadFrame)
		must(t, srv.Disconnect("test"))
		if err := p.err(t); !errors.Is(err, ErrDisconnected) {
			t.Fatalf("client: %v", err)
		}
		settle()
	})
}

func TestPeerAbort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := dial(t, ServerConfig{})
		c.negotiate(t)
		// CALL_ABORT -->, <-- CALL_ABORT
		c.cli.l.abort(StatusInfo{Status: StatusInvalidFrameReceived}, errors.New("test abort"))
		if err := c.srvPump.err(t); !errors.Is(err, ErrAborted) || !strings.Contains(err.Error(), "INVALID_FRAME_RECEIVED") {
			t.Fatalf("server: %v", err)
		}
		if err := c.cliPump.err(t); err == nil || err.Error() != "test abort" {
			t.Fatalf("client: %v", err)
		}
	})
}

// Messages the server must not get in the call abort it.
func TestServerAbortsOnBadMessage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   []byte
		status Status
	}{
		{"second CALL_CONNECT_REQUEST", ControlMessage{Type: MsgCallConnectRequest, Attributes: []Attribute{encapsulatedProtocol()}}.Append(nil), StatusUnacceptedFrameReceived},
		{"CALL_CONNECT_ACK from a client", ControlMessage{Type: MsgCallConnectAck}.Append(nil), StatusUnacceptedFrameReceived},
		{"unknown type", ControlMessage{Type: 77}.Append(nil), StatusInvalidFrameReceived},
		{"malformed", []byte{0, 8, 0, 1}, StatusInvalidFrameReceived},
		{"DISCONNECT_ACK unasked", ControlMessage{Type: MsgCallDisconnectAck}.Append(nil), StatusUnacceptedFrameReceived},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := dial(t, ServerConfig{})
				must(t, c.cli.l.w.write(true, tc.body))
				if err := c.srvPump.err(t); !errors.Is(err, ErrProtocol) {
					t.Fatalf("server: %v", err)
				}
				if err := c.cliPump.err(t); !errors.Is(err, ErrAborted) || !strings.Contains(err.Error(), tc.status.String()) {
					t.Fatalf("client: %v", err)
				}
			})
		})
	}
}

// A stream that cannot be delineated ends the call at once, without a message.
func TestServerClosesOnBadStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := dial(t, ServerConfig{})
		_, err := c.clientTC.Write([]byte{0x20, 0, 0, 4})
		must(t, err)
		if err := c.srvPump.err(t); !errors.Is(err, ErrMalformed) {
			t.Fatalf("server: %v", err)
		}
		if err := c.cliPump.err(t); errors.Is(err, ErrAborted) {
			t.Fatalf("client got an abort: %v", err)
		}
	})
}

func TestWriteFrameLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := dial(t, ServerConfig{})
		c.srv.SetHLAK(testHLAK)
		must(t, c.cli.Connected(testHLAK, c.cert))
		synctest.Wait()
		big := append([]byte{0x00, 0x21}, make([]byte, MaxFrameLen-2)...)
		must(t, c.srv.WriteFrame(big))
		if f := c.cliPump.next(t); !bytes.Equal(f, big) {
			t.Fatalf("got %d bytes", len(f))
		}
		if err := c.srv.WriteFrame(append(big, 0)); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("oversized frame: %v", err)
		}
		// Many goroutines writing at once: every frame arrives, whole.
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() { _ = c.cli.WriteFrame(append(bytes.Clone(ipFrame), byte(i))) })
		}
		wg.Wait()
		for range 50 {
			if f := c.srvPump.next(t); len(f) != len(ipFrame)+1 {
				t.Fatalf("got % x", f)
			}
		}
	})
}

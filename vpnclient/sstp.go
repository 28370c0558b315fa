// Package vpnclient is p2sgw's own VPN client: SSTP with PPP over it, signing in with a
// password (MS-CHAPv2, PAP) or a client certificate (EAP-TLS). The end-to-end tests use it
// where no native client can run, and `p2sgw connect` will.
package vpnclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/p2sgw/p2sgw/eap"
	"github.com/p2sgw/p2sgw/ppp"
	"github.com/p2sgw/p2sgw/sstp"
)

// SSTPConfig is how to reach a gateway and sign in.
type SSTPConfig struct {
	// Server is the gateway's SSTP listener, host:port.
	Server string
	// ServerName is the name the gateway's certificate must carry; Roots verify it.
	ServerName string
	Roots      *x509.CertPool
	// User and Password sign in with MS-CHAPv2 (or PAP if the gateway offers only that).
	User, Password string
	// Certificate, if set, signs in with EAP-TLS instead; User is then the EAP identity
	// (the certificate's name if empty).
	Certificate *tls.Certificate
	// EAPServerName and EAPRoots verify the EAP-TLS server when it is not the gateway but the
	// RADIUS server behind it; empty means ServerName and Roots.
	EAPServerName string
	EAPRoots      *x509.CertPool
	// Dial opens the TCP connection; nil means a net.Dialer.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	Log  *slog.Logger
}

// SSTP is an established SSTP tunnel: IPv4 packets in and out.
type SSTP struct {
	// Addr is the address the gateway gave us; DNS its DNS servers.
	Addr netip.Addr
	DNS  []netip.Addr

	conn   *sstp.ClientConn
	tls    *tls.Conn
	mu     sync.Mutex // guards ppp
	ppp    *ppp.Client
	in     chan []byte
	done   chan struct{}
	once   sync.Once
	errMu  sync.Mutex
	err    error
	log    *slog.Logger
	eapTLS *eap.TLSClient

	wbuf   []byte   // WritePackets' frames, back to back
	ends   []int    // where each ends in wbuf
	frames [][]byte // and their slices
}

// DialSSTP connects to the gateway, signs in and returns once the tunnel carries IPv4: PPP's
// IPCP is up and the crypto binding (CALL_CONNECTED) is sent. A refused sign-in is an error
// that says why, as far as the gateway told.
func DialSSTP(ctx context.Context, cfg SSTPConfig) (*SSTP, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	dial := cfg.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	raw, err := dial(ctx, "tcp", cfg.Server)
	if err != nil {
		return nil, err
	}
	tc := tls.Client(raw, &tls.Config{ServerName: cfg.ServerName, RootCAs: cfg.Roots, MinVersion: tls.VersionTLS12})
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("vpnclient: TLS: %w", err)
	}
	sc, err := sstp.Dial(ctx, tc, cfg.ServerName, sstp.WithLogger(cfg.Log))
	if err != nil {
		tc.Close()
		return nil, fmt.Errorf("vpnclient: SSTP: %w", err)
	}
	s := &SSTP{conn: sc, tls: tc, in: make(chan []byte, 256), done: make(chan struct{}), log: cfg.Log}
	pc := ppp.ClientConfig{User: cfg.User, Password: cfg.Password, Methods: []ppp.Method{ppp.MethodMSCHAPv2, ppp.MethodPAP}, PeerDNS: true, Log: cfg.Log}
	if cfg.Certificate != nil {
		if pc.User == "" && cfg.Certificate.Leaf != nil {
			pc.User = cfg.Certificate.Leaf.Subject.CommonName
		}
		name, roots := cfg.ServerName, cfg.Roots
		if cfg.EAPServerName != "" {
			name = cfg.EAPServerName
		}
		if cfg.EAPRoots != nil {
			roots = cfg.EAPRoots
		}
		s.eapTLS = eap.NewTLSClient(&tls.Config{Certificates: []tls.Certificate{*cfg.Certificate}, RootCAs: roots, ServerName: name})
		pc.Methods = []ppp.Method{ppp.MethodEAP}
		pc.EAP = s.eap
	}
	s.ppp = ppp.NewClient(pc, sc.WriteFrame)
	up := make(chan error, 1)
	go s.run(up)
	s.mu.Lock()
	err = s.ppp.Start()
	s.mu.Unlock()
	if err == nil {
		select {
		case err = <-up:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// eap answers the gateway's EAP-TLS requests.
func (s *SSTP) eap(request []byte) ([]byte, error) {
	pkt, err := eap.Parse(request)
	if err != nil {
		return nil, err
	}
	if pkt.Code == eap.CodeRequest && pkt.Type != eap.TypeTLS {
		// Another method first (a RADIUS server's default): ask for EAP-TLS (RFC 3748 §5.3.1).
		return eap.Packet{Code: eap.CodeResponse, Identifier: pkt.Identifier, Type: eap.TypeNak, Data: []byte{eap.TypeTLS}}.Bytes(), nil
	}
	resp, err := s.eapTLS.Next(pkt)
	if err != nil {
		return nil, err
	}
	return resp.Bytes(), nil
}

// run reads the tunnel: PPP control frames to the PPP client, IPv4 packets to ReadPacket. up
// gets the outcome of the sign-in.
func (s *SSTP) run(up chan<- error) {
	defer close(s.in)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	frames := make(chan []byte, 64)
	readErr := make(chan error, 1)
	go func() {
		for {
			f, err := s.conn.ReadFrame(nil)
			if err != nil {
				readErr <- err
				return
			}
			select {
			case frames <- f:
			case <-s.done:
				return
			}
		}
	}()
	signedIn, connected := false, false
	for {
		var ip []byte
		select {
		case <-s.done:
			return
		case err := <-readErr:
			s.fail(fmt.Errorf("vpnclient: SSTP: %w", err), up, connected)
			return
		case now := <-tick.C:
			s.mu.Lock()
			err := s.ppp.Tick(now)
			s.mu.Unlock()
			if err != nil {
				s.fail(fmt.Errorf("vpnclient: PPP: %w", err), up, connected)
				return
			}
			continue
		case f := <-frames:
			s.mu.Lock()
			var err error
			ip, err = s.ppp.Input(f)
			done, ok, msg := s.ppp.Auth()
			reason, down := s.ppp.Down()
			local, _, dns, isUp := s.ppp.Up()
			s.mu.Unlock()
			if err != nil {
				s.log.Debug("vpnclient: PPP frame", "err", err)
			}
			if done && !ok {
				s.fail(fmt.Errorf("vpnclient: sign-in refused: %s", msg), up, connected)
				return
			}
			if down {
				s.fail(fmt.Errorf("vpnclient: PPP ended: %s", reason), up, connected)
				return
			}
			if done && ok && !signedIn {
				signedIn = true
				if err := s.bind(); err != nil {
					s.fail(err, up, connected)
					return
				}
			}
			if isUp && !connected {
				connected = true
				s.Addr, s.DNS = local, dns
				up <- nil
			}
		}
		if ip != nil {
			select {
			case s.in <- ip:
			default: // the reader is behind: drop, as a link would
			}
		}
	}
}

// bind sends CALL_CONNECTED: the crypto binding of the PPP authentication to this TLS
// connection (MS-SSTP §3.2.5.2).
func (s *SSTP) bind() error {
	var hlak []byte
	if s.eapTLS != nil {
		if _, err := s.eapTLS.Next(eap.Packet{Code: eap.CodeSuccess}); err != nil {
			return fmt.Errorf("vpnclient: EAP-TLS: %w", err)
		}
		hlak = sstp.HLAK(s.eapTLS.MSK)
	} else {
		s.mu.Lock()
		hlak = s.ppp.HLAK()
		s.mu.Unlock()
	}
	certs := s.tls.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return errors.New("vpnclient: no server certificate")
	}
	if err := s.conn.Connected(hlak, certs[0].Raw); err != nil {
		return fmt.Errorf("vpnclient: CALL_CONNECTED: %w", err)
	}
	return nil
}

func (s *SSTP) fail(err error, up chan<- error, connected bool) {
	s.errMu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.errMu.Unlock()
	if !connected {
		up <- err
	}
}

// ReadPacket returns the next IPv4 packet from the gateway; after the tunnel ends, the error
// that ended it.
func (s *SSTP) ReadPacket() ([]byte, error) {
	p, ok := <-s.in
	if !ok {
		s.errMu.Lock()
		defer s.errMu.Unlock()
		if s.err == nil {
			return nil, net.ErrClosed
		}
		return nil, s.err
	}
	return p, nil
}

// WritePacket sends an IPv4 packet through the tunnel.
func (s *SSTP) WritePacket(pkt []byte) error {
	return s.conn.WriteFrame(ppp.AppendFrame(nil, ppp.ProtoIPv4, pkt))
}

// WritePackets sends IPv4 packets through the tunnel, packed into as few TLS records as they
// fit (a TUN read's batch in one write, not one record each). It is for one goroutine at a
// time.
func (s *SSTP) WritePackets(pkts [][]byte) error {
	s.wbuf, s.ends = s.wbuf[:0], s.ends[:0]
	for _, p := range pkts {
		s.wbuf = ppp.AppendFrame(s.wbuf, ppp.ProtoIPv4, p)
		s.ends = append(s.ends, len(s.wbuf))
	}
	s.frames = s.frames[:0]
	at := 0
	for _, end := range s.ends { // slices of wbuf, taken once it stopped growing
		s.frames = append(s.frames, s.wbuf[at:end])
		at = end
	}
	return s.conn.WriteFrames(s.frames)
}

// Close ends the tunnel: PPP Terminate, SSTP disconnect.
func (s *SSTP) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.ppp.Terminate("closed")
		s.mu.Unlock()
		close(s.done)
		s.conn.Disconnect()
		s.conn.Close()
		if s.eapTLS != nil {
			s.eapTLS.Close()
		}
	})
	return nil
}

package eap

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"testing"

	"github.com/p2sgw/p2sgw/pki"
)

// peer is an EAP-TLS client for tests: crypto/tls driven through the same engine.
type peer struct {
	conn *engineConn
	tls  *tls.Conn
	done chan error
	in   []byte
}

func newPeer(cfg *tls.Config) *peer {
	c := newEngineConn()
	p := &peer{conn: c, tls: tls.Client(c, cfg), done: make(chan error, 1)}
	go func() { p.done <- p.tls.Handshake() }()
	return p
}

// step gives the client the server's TLS data and returns its answer.
func (p *peer) step(t *testing.T, data []byte) []byte {
	t.Helper()
	answered := make(chan struct{})
	select {
	case p.conn.feed <- feedReq{data, answered}:
		select {
		case <-answered:
		case err := <-p.done:
			p.done <- err
		}
	case err := <-p.done:
		p.done <- err
	}
	return p.conn.takeOutput()
}

func certs(t *testing.T) (srv tls.Certificate, client tls.Certificate, clientRoot *x509.Certificate, serverRoot *x509.Certificate) {
	t.Helper()
	sroot, _ := pki.NewRoot("server root", pki.Options{})
	s, _ := sroot.IssueServer([]string{"vpn.example.test"}, nil, pki.Options{})
	croot, _ := pki.NewRoot("client root", pki.Options{})
	c, _ := croot.IssueClient("alice@example.com", pki.Options{})
	return tls.Certificate{Certificate: [][]byte{s.Cert.Raw}, PrivateKey: s.Key, Leaf: s.Cert},
		tls.Certificate{Certificate: [][]byte{c.Cert.Raw}, PrivateKey: c.Key, Leaf: c.Cert}, croot.Cert, sroot.Cert
}

// run drives a whole EAP-TLS exchange and returns the server's final packet and error.
func run(t *testing.T, srv *TLSServer, p *peer) (Packet, error) {
	t.Helper()
	req := srv.Start(7)
	if req.Type != TypeTLS || req.Data[0]&flagStart == 0 {
		t.Fatalf("start = %+v", req)
	}
	out := p.step(t, nil) // ClientHello
	for i := 0; i < 50; i++ {
		resp := Packet{Code: CodeResponse, Identifier: req.Identifier, Type: TypeTLS, Data: append([]byte{0}, out...)}
		var err error
		req, err = srv.Next(resp)
		if err != nil || req.Code != CodeRequest {
			return req, err
		}
		flags, data := req.Data[0], req.Data[1:]
		if flags&flagLength != 0 {
			data = data[4:]
		}
		p.in = append(p.in, data...)
		if flags&flagMore != 0 {
			out = nil // ACK, more to come
			continue
		}
		out = p.step(t, p.in)
		p.in = nil
	}
	t.Fatal("EAP-TLS did not finish in 50 rounds")
	return Packet{}, nil
}

func TestEAPTLS(t *testing.T) {
	srvCert, cliCert, clientRoot, serverRoot := certs(t)
	verify := func(raw [][]byte, _ [][]*x509.Certificate) error {
		c, err := x509.ParseCertificate(raw[0])
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		pool.AddCert(clientRoot)
		_, err = c.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		return err
	}
	srvCfg := &tls.Config{Certificates: []tls.Certificate{srvCert}, ClientAuth: tls.RequireAnyClientCert, VerifyPeerCertificate: verify}
	roots := x509.NewCertPool()
	roots.AddCert(serverRoot)
	cliCfg := &tls.Config{Certificates: []tls.Certificate{cliCert}, RootCAs: roots, ServerName: "vpn.example.test", MaxVersion: tls.VersionTLS12}

	t.Run("success and the same MSK on both sides", func(t *testing.T) {
		srv, p := NewTLSServer(srvCfg), newPeer(cliCfg)
		defer srv.Close()
		last, err := run(t, srv, p)
		if err != nil || last.Code != CodeSuccess {
			t.Fatalf("last packet %+v, %v", last, err)
		}
		st := p.tls.ConnectionState()
		want, err := st.ExportKeyingMaterial(mskLabel, nil, 128)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(srv.MSK, want[:64]) || len(srv.PeerCertificates) != 1 {
			t.Fatalf("MSK differs or no peer certificate")
		}
	})
	t.Run("a client certificate from another root fails", func(t *testing.T) {
		_, other, _, _ := certs(t)
		bad := cliCfg.Clone()
		bad.Certificates = []tls.Certificate{other}
		srv, p := NewTLSServer(srvCfg), newPeer(bad)
		defer srv.Close()
		last, err := run(t, srv, p)
		if err == nil || last.Code != CodeFailure {
			t.Fatalf("a foreign client certificate: %+v, %v", last, err)
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add([]byte{2, 1, 0, 6, 13, 0})
	f.Add([]byte{3, 1, 0, 4})
	f.Add([]byte{1, 1, 0, 5})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if q, err := Parse(p.Bytes()); err != nil || q.Code != p.Code || q.Type != p.Type || !bytes.Equal(q.Data, p.Data) {
			t.Fatalf("round trip: %+v → %+v, %v", p, q, err)
		}
	})
}

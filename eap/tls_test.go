package eap

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"testing"

	"github.com/p2sgw/p2sgw/pki"
)

func certs(t *testing.T) (srv tls.Certificate, client tls.Certificate, clientRoot *x509.Certificate, serverRoot *x509.Certificate) {
	t.Helper()
	sroot, _ := pki.NewRoot("server root", pki.Options{})
	s, _ := sroot.IssueServer([]string{"vpn.example.test"}, nil, pki.Options{})
	croot, _ := pki.NewRoot("client root", pki.Options{})
	c, _ := croot.IssueClient("alice@example.com", pki.Options{})
	return tls.Certificate{Certificate: [][]byte{s.Cert.Raw}, PrivateKey: s.Key, Leaf: s.Cert},
		tls.Certificate{Certificate: [][]byte{c.Cert.Raw}, PrivateKey: c.Key, Leaf: c.Cert}, croot.Cert, sroot.Cert
}

// run drives a whole EAP-TLS exchange between srv and the peer cli and returns the server's
// final packet and error.
func run(t *testing.T, srv *TLSServer, cli *TLSClient) (Packet, error) {
	t.Helper()
	req := srv.Start(7)
	if req.Type != TypeTLS || req.Data[0]&flagStart == 0 {
		t.Fatalf("start = %+v", req)
	}
	for range 50 {
		resp, err := cli.Next(req)
		if err != nil {
			t.Fatalf("peer: %v", err)
		}
		if req, err = srv.Next(resp); err != nil || req.Code != CodeRequest {
			if req.Code == CodeSuccess {
				if _, cerr := cli.Next(req); cerr != nil {
					t.Fatalf("peer after Success: %v", cerr)
				}
			}
			return req, err
		}
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
		srv, cli := NewTLSServer(srvCfg), NewTLSClient(cliCfg)
		defer srv.Close()
		last, err := run(t, srv, cli)
		if err != nil || last.Code != CodeSuccess {
			t.Fatalf("last packet %+v, %v", last, err)
		}
		if len(srv.MSK) != 64 || !bytes.Equal(srv.MSK, cli.MSK) || len(srv.PeerCertificates) != 1 {
			t.Fatalf("MSK differs (server %x, peer %x) or no peer certificate", srv.MSK, cli.MSK)
		}
	})
	t.Run("fragments both ways: an RSA-4096 chain from the client", func(t *testing.T) {
		croot, _ := pki.NewRoot("client root", pki.Options{Key: pki.KeyRSA4096})
		c, _ := croot.IssueClient("bob@example.com", pki.Options{Key: pki.KeyRSA4096})
		big := cliCfg.Clone()
		big.Certificates = []tls.Certificate{{Certificate: [][]byte{c.Cert.Raw, croot.Cert.Raw}, PrivateKey: c.Key, Leaf: c.Cert}}
		open := srvCfg.Clone()
		open.VerifyPeerCertificate = nil
		srv, cli := NewTLSServer(open), NewTLSClient(big)
		defer srv.Close()
		last, err := run(t, srv, cli)
		if err != nil || last.Code != CodeSuccess || !bytes.Equal(srv.MSK, cli.MSK) {
			t.Fatalf("last packet %+v, %v", last, err)
		}
	})
	t.Run("a client certificate from another root fails", func(t *testing.T) {
		_, other, _, _ := certs(t)
		bad := cliCfg.Clone()
		bad.Certificates = []tls.Certificate{other}
		srv, cli := NewTLSServer(srvCfg), NewTLSClient(bad)
		defer srv.Close()
		defer cli.Close()
		last, err := run(t, srv, cli)
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

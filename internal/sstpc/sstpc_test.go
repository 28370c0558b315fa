package sstpc

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/internal/testnet"
	"github.com/p2sgw/p2sgw/pki"
)

// connectRequest is CALL_CONNECT_REQUEST with ENCAPSULATED_PROTOCOL_ID PPP (MS-SSTP §4.7).
var connectRequest = []byte{0x10, 0x01, 0x00, 0x0e, 0x00, 0x01, 0x00, 0x01, 0x00, 0x01, 0x00, 0x06, 0x00, 0x01}

// lcpConfReq starts a PPP LCP Configure-Request with address and control field.
var lcpConfReq = []byte{0xff, 0x03, 0xc0, 0x21, 0x01}

// TestStubServer proves the harness against a stub SSTP server in the gateway namespace:
// the guest boots, its packets leave the client namespace for the gateway, sstpc completes
// TLS and the HTTP handshake, sends CALL_CONNECT_REQUEST and, after CALL_CONNECT_ACK, starts
// pppd (with /dev/ppp in the guest), whose LCP Configure-Request arrives as SSTP data.
// The stub then hangs up, so the tunnel never comes up.
func TestStubServer(t *testing.T) {
	testnet.Require(t, Tools...)
	tp := testnet.New(t, testnet.Options{Clients: 1})
	root, err := pki.NewRoot("P2SRoot", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stub := startStub(t, tp, root)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res := Run(t, tp.Clients[0], Options{
		Server: netip.AddrPortFrom(testnet.GatewayAddr, 443),
		User:   "alice", Password: "pa$$ 'word'",
		CAFile:  caFile,
		Ping:    []netip.Addr{testnet.VNetHostAddr},
		Timeout: 30 * time.Second,
	})
	t.Logf("Run took %v", time.Since(start).Round(time.Millisecond))
	if res.Connected || res.TimedOut || len(res.Pings) != 0 {
		t.Errorf("Run = Connected %v, TimedOut %v, Pings %v; want none (the stub hangs up)", res.Connected, res.TimedOut, res.Pings)
	}
	seen := stub.furthest(t)
	wantHeaders := []string{
		"Host: " + testnet.GatewayAddr.String(),
		"Content-Length: 18446744073709551615",
	}
	if want := "SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1"; seen.requestLine != want {
		t.Errorf("request line %q, want %q", seen.requestLine, want)
	}
	if len(seen.headers) != 3 || !equal(first2(seen.headers), wantHeaders) || !strings.HasPrefix(seen.headers[2], "SSTPCORRELATIONID: {") {
		t.Errorf("headers %q, want %q then SSTPCORRELATIONID", seen.headers, wantHeaders)
	}
	if !bytes.Equal(seen.connectRequest, connectRequest) {
		t.Errorf("first SSTP packet % x, want CALL_CONNECT_REQUEST % x", seen.connectRequest, connectRequest)
	}
	if !bytes.HasPrefix(seen.data, lcpConfReq) {
		t.Errorf("first SSTP data packet carries % x, want an LCP Configure-Request (% x …)", seen.data, lcpConfReq)
	}
	if seen.err != nil {
		t.Errorf("stub: %v", seen.err)
	}
	for _, want := range []string{"sstpc", "Connected to " + testnet.GatewayAddr.String()} {
		if !strings.Contains(res.Log, want) {
			t.Errorf("Log lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("guest console:\n%s", res.Log)
	}
}

// TestWrongCA gives the client a CA that did not sign the stub's certificate: sstpc must
// stop after the HTTP handshake, before CALL_CONNECT_REQUEST.
func TestWrongCA(t *testing.T) {
	testnet.Require(t, Tools...)
	tp := testnet.New(t, testnet.Options{Clients: 1})
	root, err := pki.NewRoot("P2SRoot", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.NewRoot("OtherRoot", pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stub := startStub(t, tp, root)
	caFile := filepath.Join(t.TempDir(), "other.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: other.Cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	res := Run(t, tp.Clients[0], Options{
		Server: netip.AddrPortFrom(testnet.GatewayAddr, 443),
		User:   "alice", Password: "secret", CAFile: caFile, Timeout: 20 * time.Second,
	})
	if res.Connected || res.TimedOut {
		t.Errorf("Run = Connected %v, TimedOut %v; want neither", res.Connected, res.TimedOut)
	}
	if want := "Verification of server certificate failed"; !strings.Contains(res.Log, want) {
		t.Errorf("Log lacks %q:\n%s", want, res.Log)
	}
	if seen := stub.furthest(t); seen.connectRequest != nil {
		t.Errorf("stub got % x after a failed certificate check", seen.connectRequest)
	}
}

// TestNoServer runs the client against an address where nothing listens: Run reports the
// failure promptly and removes the guest's tap and NAT table.
func TestNoServer(t *testing.T) {
	testnet.Require(t, Tools...)
	tp := testnet.New(t, testnet.Options{Clients: 1})
	ns := tp.Clients[0]
	res := Run(t, ns, Options{
		Server: netip.AddrPortFrom(testnet.GatewayAddr, 443),
		User:   "alice", Password: "secret",
		Timeout: 20 * time.Second,
	})
	if res.Connected || res.TimedOut {
		t.Errorf("Run = Connected %v, TimedOut %v; want neither", res.Connected, res.TimedOut)
	}
	if !strings.Contains(res.Log, "sstpc") || !strings.Contains(res.Log, "P2SGW-DONE") {
		t.Errorf("Log lacks sstpc's messages or the guest's end:\n%s", res.Log)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, args := range [][]string{{"ip", "-o", "link", "show"}, {"nft", "list", "tables"}} {
		out, err := ns.Run(t, ctx, args[0], args[1:]...)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, "umltap") || strings.Contains(out, "p2sgw_uml") {
			t.Errorf("after Run, %s in %s still shows the guest's network:\n%s", strings.Join(args, " "), ns, out)
		}
	}
}

func equal(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

// first2 returns the headers before SSTPCORRELATIONID, which is random.
func first2(h []string) []string { return h[:min(2, len(h))] }

// stub is an SSTP server that goes as far as the first PPP frame.
type stub struct {
	seen chan stubConn
}

// stubConn is what the stub saw on one connection.
type stubConn struct {
	requestLine    string
	headers        []string // in the order sent
	connectRequest []byte   // the first SSTP packet
	data           []byte   // payload of the first SSTP data packet
	err            error
}

func startStub(t *testing.T, tp *testnet.Topology, root *pki.CA) *stub {
	cert, err := root.IssueServer(nil, []netip.Addr{testnet.GatewayAddr}, pki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tp.Gateway.Listen("tcp", netip.AddrPortFrom(testnet.GatewayAddr, 443).String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	cfg := &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Cert.Raw, root.Cert.Raw}, PrivateKey: cert.Key}},
		NextProtos:   []string{"http/1.1"},
	}
	s := &stub{seen: make(chan stubConn, 16)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				sc := serveStub(tls.Server(c, cfg))
				select {
				case s.seen <- sc:
				default:
				}
			}()
		}
	}()
	return s
}

// furthest returns what the stub saw on the connection that got furthest, after checking
// that every connection that sent a request sent the same one. sstpc may have given up
// early on other connections (see guestScript).
func (s *stub) furthest(t *testing.T) stubConn {
	t.Helper()
	var best stubConn
	progress := func(sc stubConn) int {
		switch {
		case sc.data != nil:
			return 3
		case sc.connectRequest != nil:
			return 2
		case sc.requestLine != "":
			return 1
		}
		return 0
	}
	for {
		select {
		case sc := <-s.seen:
			if progress(sc) < 3 {
				t.Logf("stub: a connection ended early: %v", sc.err)
			}
			if best.requestLine != "" && sc.requestLine != "" && (sc.requestLine != best.requestLine || !equal(first2(sc.headers), first2(best.headers))) {
				t.Errorf("stub: requests differ: %q %q and %q %q", best.requestLine, best.headers, sc.requestLine, sc.headers)
			}
			if progress(sc) > progress(best) {
				best = sc
			}
		case <-time.After(time.Second):
			return best
		}
	}
}

// serveStub answers the HTTP request, reads CALL_CONNECT_REQUEST, acknowledges it and
// reads packets up to the first data packet.
func serveStub(c *tls.Conn) (sc stubConn) {
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		sc.err = fmt.Errorf("read request line: %w", err)
		return sc
	}
	sc.requestLine = strings.TrimRight(line, "\r\n")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			sc.err = fmt.Errorf("read headers: %w", err)
			return sc
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		sc.headers = append(sc.headers, line)
	}
	if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\nServer: Microsoft-HTTPAPI/2.0\r\n\r\n"); err != nil {
		sc.err = err
		return sc
	}
	if sc.connectRequest, err = readPacket(r); err != nil {
		sc.err = fmt.Errorf("read CALL_CONNECT_REQUEST: %w", err)
		return sc
	}
	if _, err := c.Write(connectAck()); err != nil {
		sc.err = err
		return sc
	}
	for {
		p, err := readPacket(r)
		if err != nil {
			sc.err = fmt.Errorf("read data packet: %w", err)
			return sc
		}
		if p[1]&1 == 0 {
			sc.data = p[4:]
			return sc
		}
	}
}

// readPacket reads one SSTP packet: version, C bit, 12-bit length of the whole packet.
func readPacket(r io.Reader) ([]byte, error) {
	p := make([]byte, 4)
	if _, err := io.ReadFull(r, p); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(p[2:]) & 0x0fff)
	if p[0] != 0x10 || n < 4 {
		return nil, errors.New("not an SSTP packet: % x")
	}
	p = append(p, make([]byte, n-4)...)
	_, err := io.ReadFull(r, p[4:])
	return p, err
}

// connectAck is CALL_CONNECT_ACK with CRYPTO_BINDING_REQ offering SHA1 and SHA256 and a
// fixed nonce.
func connectAck() []byte {
	p := []byte{0x10, 0x01, 0x00, 0x30, 0x00, 0x02, 0x00, 0x01, 0x00, 0x04, 0x00, 0x28, 0, 0, 0, 0x03}
	return append(p, bytes.Repeat([]byte{0x5a}, 32)...)
}

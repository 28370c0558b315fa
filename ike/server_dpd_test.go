package ike

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/esp"
	"github.com/p2sgw/p2sgw/ike/transform"
	"github.com/p2sgw/p2sgw/netio"
	"github.com/p2sgw/p2sgw/pki"
)

// TestServerDeadPeerDetection: a silent client is asked whether it is alive; while it answers
// it stays, and once it stops answering the server gives it up after the dead peer timeout.
func TestServerDeadPeerDetection(t *testing.T) {
	w := newWorld(t)
	alice, _ := w.clientRoot.IssueClient("alice@example.com", pki.Options{})
	ikeConn, _ := netio.Listen("127.0.0.1:0", 16)
	natt, _ := netio.Listen("127.0.0.1:0", 16)
	client, err := netio.Listen("127.0.0.1:0", 16)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ended := make(chan string, 1)
	established := make(chan *Tunnel, 1)
	hooks := Hooks{
		Established: func(sa *SA, tun *Tunnel) error { established <- tun; return nil },
		Ended:       func(sa *SA, tun *Tunnel, reason string) { ended <- reason },
		Released:    func(*Lease) {},
	}
	timers := Timers{DPDInterval: 300 * time.Millisecond, DeadPeerTimeout: 2 * time.Second}
	srv := NewServer(w.responderConfig(), ikeConn, natt, hooks, timers, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	defer func() { cancel(); <-served }()

	// One reader for the whole test: what the client receives, in order.
	received := make(chan []byte, 64)
	go func() {
		in := []netio.Packet{{Buf: make([]byte, 0, netio.MaxDatagram)}}
		for {
			in[0].Buf = in[0].Buf[:0]
			n, err := client.ReadBatch(in)
			if err != nil {
				close(received)
				return
			}
			if n == 1 {
				received <- append([]byte(nil), in[0].Buf...)
			}
		}
	}()
	recv := func(within time.Duration) ([]byte, bool) {
		t.Helper()
		select {
		case b, ok := <-received:
			return b, ok
		case <-time.After(within):
			return nil, false
		}
	}
	send := func(port uint16, b []byte) {
		client.WriteBatch([]netio.Packet{{Buf: b, Remote: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)}})
	}
	ic := w.initiatorConfig(t, alice, transform.DefaultIKEProposals(), transform.DefaultESPProposals(), transform.DHECP256)
	ini, req, _ := NewInitiator(ic, client.LocalAddr(), ikeConn.LocalAddr())
	send(ikeConn.LocalAddr().Port(), req)
	resp, ok := recv(5 * time.Second)
	if !ok {
		t.Fatal("no IKE_SA_INIT answer")
	}
	authReq, _, _ := ini.Handle(resp)
	send(natt.LocalAddr().Port(), append(esp.AppendMarker(nil), authReq...))
	resp, _ = recv(5 * time.Second)
	msg, _ := esp.IKEMessage(resp)
	if _, ev, err := ini.Handle(msg); ev != EventEstablished {
		t.Fatalf("not established: %v", err)
	}
	<-established

	// The client answers every liveness check for a while: the session stays.
	answered := 0
	for deadline := time.Now().Add(1500 * time.Millisecond); time.Now().Before(deadline); {
		b, ok := recv(500 * time.Millisecond)
		if !ok {
			continue
		}
		m, isIKE := esp.IKEMessage(b)
		if !isIKE {
			continue
		}
		ack, _, err := ini.Handle(m)
		if err != nil || ack == nil {
			t.Fatalf("liveness check: %v", err)
		}
		send(natt.LocalAddr().Port(), append(esp.AppendMarker(nil), ack...))
		answered++
	}
	select {
	case reason := <-ended:
		t.Fatalf("a client that answers was dropped: %s", reason)
	default:
	}
	if answered == 0 {
		t.Fatal("the server never checked the silent client")
	}

	// Now the client is gone: it answers nothing.
	start := time.Now()
	select {
	case reason := <-ended:
		if !strings.Contains(reason, "dead peer") {
			t.Fatalf("ended with %q", reason)
		}
		t.Logf("silent client given up %v after it stopped answering (timeout %v)", time.Since(start).Round(10*time.Millisecond), timers.DeadPeerTimeout)
	case <-time.After(10 * time.Second):
		t.Fatal("a client that stopped answering was never given up")
	}
}

package ike

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/esp"
	"github.com/p2sgw/p2sgw/ike/transform"
	"github.com/p2sgw/p2sgw/netio"
	"github.com/p2sgw/p2sgw/pki"
)

// TestServerOverLoopback runs the server on loopback UDP sockets and our initiator as the
// client: IKE_SA_INIT on "500", IKE_AUTH and ESP on "4500" with the non-ESP marker, traffic
// both ways through the tunnel, then a disconnect that the client sees as a Delete.
func TestServerOverLoopback(t *testing.T) {
	w := newWorld(t)
	alice, _ := w.clientRoot.IssueClient("alice@example.com", pki.Options{})
	ikeConn, err := netio.Listen("127.0.0.1:0", 16)
	if err != nil {
		t.Fatal(err)
	}
	natt, err := netio.Listen("127.0.0.1:0", 16)
	if err != nil {
		t.Fatal(err)
	}
	client, err := netio.Listen("127.0.0.1:0", 16)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	var mu sync.Mutex
	var delivered [][]byte
	established := make(chan *Tunnel, 1)
	ended := make(chan string, 1)
	hooks := Hooks{
		Established: func(sa *SA, tun *Tunnel) error { established <- tun; return nil },
		Ended:       func(sa *SA, tun *Tunnel, reason string) { ended <- reason },
		Released:    func(*Lease) {},
		Deliver: func(from netip.Addr, bufs [][]byte, off int) int {
			mu.Lock()
			defer mu.Unlock()
			for _, b := range bufs {
				delivered = append(delivered, append([]byte(nil), b[off:]...))
			}
			return len(bufs)
		},
	}
	srv := NewServer(w.responderConfig(), ikeConn, natt, hooks, Timers{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	defer func() { cancel(); <-served }()

	step := "IKE_SA_INIT"
	recv := func() []byte {
		t.Helper()
		pkts := []netio.Packet{{Buf: make([]byte, 0, netio.MaxDatagram)}}
		done := make(chan struct{})
		go func() {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				client.Close()
			}
		}()
		defer close(done)
		if _, err := client.ReadBatch(pkts); err != nil {
			t.Fatalf("%s: client read: %v", step, err)
		}
		return pkts[0].Buf
	}
	sendTo := func(port uint16, b []byte) {
		t.Helper()
		if _, err := client.WriteBatch([]netio.Packet{{Buf: b, Remote: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)}}); err != nil {
			t.Fatal(err)
		}
	}
	ikePort, nattPort := ikeConn.LocalAddr().Port(), natt.LocalAddr().Port()

	ic := w.initiatorConfig(t, alice, transform.DefaultIKEProposals(), transform.DefaultESPProposals(), transform.DHECP256)
	ini, req, err := NewInitiator(ic, client.LocalAddr(), ikeConn.LocalAddr())
	if err != nil {
		t.Fatal(err)
	}
	sendTo(ikePort, req) // IKE_SA_INIT -->
	authReq, _, err := ini.Handle(recv())
	if err != nil {
		t.Fatal(err)
	}
	step = "IKE_AUTH"
	sendTo(nattPort, append(esp.AppendMarker(nil), authReq...)) // IKE_AUTH --> on 4500
	resp := recv()
	if esp.Classify(resp) != esp.KindIKE {
		t.Fatalf("IKE_AUTH answer on 4500 lacks the non-ESP marker")
	}
	msg, _ := esp.IKEMessage(resp)
	if _, ev, err := ini.Handle(msg); ev != EventEstablished {
		t.Fatalf("client: %v %v", ev, err)
	}
	var tun *Tunnel
	select {
	case tun = <-established:
	case <-time.After(5 * time.Second):
		t.Fatal("server never reported the session")
	}
	if tun.Addr() != ini.Lease.Addr {
		t.Fatalf("tunnel address %s, client got %s", tun.Addr(), ini.Lease.Addr)
	}

	// Uplink: the client seals a packet to the VNet; the server delivers it decrypted.
	inCfg, outCfg, _ := ini.Child.ESPConfigs()
	cout, _ := esp.NewOutbound(outCfg)
	cin, _ := esp.NewInbound(inCfg)
	pkt := []byte{0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 0, 0, 0, 0, 198, 19, 0, 10, 0, 53, 0, 53, 0, 8, 0, 0}
	copy(pkt[12:16], ini.Lease.Addr.AsSlice())
	buf := make([]byte, esp.Headroom+len(pkt)+esp.Tailroom)
	copy(buf[esp.Headroom:], pkt)
	sealed, _ := cout.Seal(buf, esp.Headroom, len(pkt))
	sendTo(nattPort, sealed)
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(delivered)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the server delivered nothing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if string(delivered[0]) != string(pkt) {
		t.Fatalf("delivered %x, want %x", delivered[0], pkt)
	}

	step = "downlink"
	// Downlink: the data plane hands the tunnel a packet; the client opens it.
	down := make([]byte, 64+len(pkt)+64)
	copy(down[64:], pkt)
	tun.Send([][]byte{down[:64+len(pkt)]}, 64)
	inner, _, drop := cin.Open(recv())
	if drop != esp.DropNone || string(inner) != string(pkt) {
		t.Fatalf("client could not open the downlink packet: %v", drop)
	}

	step = "Delete"
	// Disconnect: the client gets a Delete on 4500 and answers it.
	srv.Disconnect(tun, "disconnected by admin")
	del := recv()
	msg, _ = esp.IKEMessage(del)
	ack, ev, err := ini.Handle(msg)
	if ev != EventDeleted || err != nil {
		t.Fatalf("client on the server's Delete: %v %v", ev, err)
	}
	sendTo(nattPort, append(esp.AppendMarker(nil), ack...))
	select {
	case reason := <-ended:
		if reason != "disconnected by admin" {
			t.Fatalf("ended with %q", reason)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the session never ended")
	}
}

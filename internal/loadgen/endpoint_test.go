package loadgen

import (
	"bytes"
	"crypto/x509"
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/p2sgw/p2sgw/esp"
	"github.com/p2sgw/p2sgw/ike"
	"github.com/p2sgw/p2sgw/ike/message"
	"github.com/p2sgw/p2sgw/ike/transform"
	"github.com/p2sgw/p2sgw/netio"
)

func TestClassify(t *testing.T) {
	ikeMsg := make([]byte, message.HeaderLen+4)
	withMarker := append(esp.AppendMarker(nil), ikeMsg...)
	espPkt := []byte{0, 0, 0x12, 0x34, 0, 0, 0, 1, 9, 9, 9, 9}
	for _, tc := range []struct {
		name    string
		d       []byte
		natt    bool
		want    kind
		wantMsg []byte
		wantSPI uint32
	}{
		{"IKE on 500", ikeMsg, false, kindIKE, ikeMsg, 0},
		{"short on 500", ikeMsg[:message.HeaderLen-1], false, kindDrop, nil, 0},
		{"IKE on 4500 loses its marker", withMarker, true, kindIKE, ikeMsg, 0},
		{"marker and too little IKE", withMarker[:esp.NonESPMarkerLen+message.HeaderLen-1], true, kindDrop, nil, 0},
		{"ESP on 4500", espPkt, true, kindESP, espPkt, 0x1234},
		{"keepalive", esp.AppendKeepalive(nil), true, kindDrop, nil, 0},
		{"runt", []byte{1, 2}, true, kindDrop, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, msg, spi := classify(tc.d, tc.natt)
			if k != tc.want || !bytes.Equal(msg, tc.wantMsg) || spi != tc.wantSPI {
				t.Fatalf("classify = %s %x %#x, want %s %x %#x", k, msg, spi, tc.want, tc.wantMsg, tc.wantSPI)
			}
		})
	}
}

// recordConn is a netio.Conn that records what is sent and reads nothing.
type recordConn struct {
	local netip.AddrPort
	mu    sync.Mutex // guards sent
	sent  []netio.Packet
}

func (c *recordConn) ReadBatch([]netio.Packet) (int, error) { return 0, net.ErrClosed }
func (c *recordConn) LocalAddr() netip.AddrPort             { return c.local }
func (c *recordConn) Close() error                          { return nil }

func (c *recordConn) WriteBatch(pkts []netio.Packet) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range pkts {
		c.sent = append(c.sent, netio.Packet{Buf: bytes.Clone(p.Buf), Remote: p.Remote})
	}
	return len(pkts), nil
}

// last returns the last datagram sent and forgets what was sent.
func (c *recordConn) last(t *testing.T) netio.Packet {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.sent) == 0 {
		t.Fatal("nothing was sent")
	}
	p := c.sent[len(c.sent)-1]
	c.sent = nil
	return p
}

// TestDemux steps one SA through the endpoint's demultiplexer, the gateway's side played by an
// in-process responder: the handshake's answers go to the worker's inbox (copied out of the
// read buffer), the established SA answers a liveness check itself, messages for other SPIs
// and ESP for no flow are counted and dropped, and the gateway's Delete ends the session.
func TestDemux(t *testing.T) {
	w := newWorld(t, transform.DefaultIKEProposals())
	ids, err := MintIdentities(w.clientRoot, 1, "demux")
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(w.serverRoot.Cert)
	var spis atomic.Uint32
	spis.Store(0x5000)
	ikeP, espP := proposals(transform.DHCurve25519)
	cfg := &ike.InitiatorConfig{Identity: ids[0], IKEProposals: ikeP, ESPProposals: espP, Group: transform.DHCurve25519,
		ServerName: "vpn.loadgen.test", Roots: roots, AllocateSPI: func() (uint32, error) { return spis.Add(1), nil }}

	conn := &recordConn{local: netip.MustParseAddrPort("198.18.2.1:40000")}
	gwIKE, gwNATT := netip.MustParseAddrPort("198.18.0.1:500"), netip.MustParseAddrPort("198.18.0.1:4500")
	var ctr counters
	var up atomic.Int64
	ep := newEndpoint(conn, gwIKE, gwNATT, &ctr, &up)

	sa, req, err := ike.NewInitiator(cfg, ep.local, gwIKE)
	if err != nil {
		t.Fatal(err)
	}
	spiI, _ := sa.SPIs()
	inbox := make(chan []byte, inboxSize)
	ep.register(spiI, &session{sa: sa, inbox: inbox})

	// IKE_SA_INIT { SA, KEi, Ni } -->   <-- { SA, KEr, Nr }  (on 500, no marker)
	gw, resp, err := ike.Respond(w.rc, req, 0xabcdef, gwIKE, ep.local)
	if err != nil {
		t.Fatal(err)
	}
	readBuf := bytes.Clone(resp)
	ep.dispatch(readBuf, false)
	clear(readBuf) // the demux reuses its read buffer
	authReq, _, err := sa.Handle(<-inbox)
	if err != nil {
		t.Fatalf("the worker's copy of the IKE_SA_INIT answer: %v", err)
	}
	// IKE_AUTH { IDi, CERT, AUTH, … } -->   <-- { IDr, CERT, AUTH, … }  (on 4500, marker)
	authResp, ev, err := gw.Handle(authReq)
	if ev != ike.EventEstablished {
		t.Fatalf("gateway: %v %v", ev, err)
	}
	ep.dispatch(append(esp.AppendMarker(nil), authResp...), true)
	if _, ev, err := sa.Handle(<-inbox); ev != ike.EventEstablished {
		t.Fatalf("client: %v %v", ev, err)
	}
	ep.establish(spiI)
	if up.Load() != 1 {
		t.Fatalf("%d sessions up, want 1", up.Load())
	}

	// INFORMATIONAL { } (liveness) from the gateway: the demux answers on 4500.
	live, err := gw.Liveness()
	if err != nil {
		t.Fatal(err)
	}
	ep.dispatch(append(esp.AppendMarker(nil), live...), true)
	answer := conn.last(t)
	msg, ok := esp.IKEMessage(answer.Buf)
	if !ok || answer.Remote != gwNATT {
		t.Fatalf("liveness answer %x to %s, want IKE behind the marker to %s", answer.Buf, answer.Remote, gwNATT)
	}
	if _, _, err := gw.Handle(msg); err != nil || gw.Awaiting() {
		t.Fatalf("the gateway does not take the liveness answer: %v", err)
	}
	if ctr.liveness.Load() != 1 || len(inbox) != 0 {
		t.Fatalf("liveness answered %d, inbox %d; want 1 and 0", ctr.liveness.Load(), len(inbox))
	}

	// Another SA's message and ESP of no flow are dropped.
	other := bytes.Clone(live)
	binary.BigEndian.PutUint64(other, spiI+1)
	ep.dispatch(append(esp.AppendMarker(nil), other...), true)
	ep.dispatch([]byte{0, 0, 0x77, 0x77, 0, 0, 0, 1, 1, 2, 3, 4}, true)
	if ctr.unknown.Load() != 1 || ctr.espDropped.Load() != 1 {
		t.Fatalf("unknown %d, ESP dropped %d; want 1 and 1", ctr.unknown.Load(), ctr.espDropped.Load())
	}

	// INFORMATIONAL { D(IKE) } from the gateway: answered, and the session is gone.
	del, err := gw.Delete()
	if err != nil {
		t.Fatal(err)
	}
	ep.dispatch(append(esp.AppendMarker(nil), del...), true)
	msg, _ = esp.IKEMessage(conn.last(t).Buf)
	if _, ev, _ := gw.Handle(msg); ev != ike.EventDeleted {
		t.Fatalf("gateway on the answer to its Delete: %v", ev)
	}
	ep.mu.Lock()
	left := len(ep.ike)
	ep.mu.Unlock()
	if left != 0 || up.Load() != 0 || ctr.deletedByGW.Load() != 1 {
		t.Fatalf("after the gateway's Delete: %d in the table, %d up, %d deleted by the gateway", left, up.Load(), ctr.deletedByGW.Load())
	}
}

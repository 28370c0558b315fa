package ike

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/esp"
	"github.com/p2sgw/p2sgw/ike/message"
	"github.com/p2sgw/p2sgw/ike/transform"
	"github.com/p2sgw/p2sgw/netio"
	"github.com/p2sgw/p2sgw/pki"
)

func TestCookieJar(t *testing.T) {
	var j cookieJar
	now := time.Now()
	ni, src := []byte("nonce-nonce-nonce"), netip.MustParseAddr("198.18.1.1")
	c := j.make(ni, src, 42, now)
	if !j.valid(c, ni, src, 42, now) {
		t.Fatal("own cookie refused")
	}
	for name, ok := range map[string]bool{
		"other nonce":  j.valid(c, []byte("other"), src, 42, now),
		"other source": j.valid(c, ni, netip.MustParseAddr("198.18.1.2"), 42, now),
		"other SPI":    j.valid(c, ni, src, 43, now),
		"truncated":    j.valid(c[:10], ni, src, 42, now),
	} {
		if ok {
			t.Errorf("cookie accepted for %s", name)
		}
	}
	if !j.valid(c, ni, src, 42, now.Add(cookieSecretLife+time.Second)) {
		t.Error("cookie refused one secret later (the previous secret must still verify)")
	}
	if j.valid(c, ni, src, 42, now.Add(3*cookieSecretLife)) {
		t.Error("cookie accepted two secrets later")
	}
}

// TestServerCookiesAndSourceLimit: under load (half-open SAs at the threshold) a new client must
// return a cookie, which our initiator does, and connects; a source over its half-open limit is
// not answered at all.
func TestServerCookiesAndSourceLimit(t *testing.T) {
	w := newWorld(t)
	alice, _ := w.clientRoot.IssueClient("alice@example.com", pki.Options{})
	ikeConn, _ := netio.Listen("127.0.0.1:0", 16)
	natt, _ := netio.Listen("127.0.0.1:0", 16)
	established := make(chan *Tunnel, 1)
	hooks := Hooks{Established: func(sa *SA, tun *Tunnel) error { established <- tun; return nil }, Released: func(*Lease) {}}
	srv := NewServer(w.responderConfig(), ikeConn, natt, hooks, Timers{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.SetLimits(Limits{CookieThreshold: 2, HalfOpenPerSource: 3})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	defer func() { cancel(); <-served }()

	newClient := func() (netio.Conn, func(time.Duration) []byte) {
		c, err := netio.Listen("127.0.0.1:0", 4)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		got := make(chan []byte, 16)
		go func() {
			in := []netio.Packet{{Buf: make([]byte, 0, netio.MaxDatagram)}}
			for {
				in[0].Buf = in[0].Buf[:0]
				if n, err := c.ReadBatch(in); err != nil {
					return
				} else if n == 1 {
					got <- append([]byte(nil), in[0].Buf...)
				}
			}
		}()
		return c, func(d time.Duration) []byte {
			select {
			case b := <-got:
				return b
			case <-time.After(d):
				return nil
			}
		}
	}
	ic := w.initiatorConfig(t, alice, transform.DefaultIKEProposals(), transform.DefaultESPProposals(), transform.DHECP256)
	start := func(c netio.Conn) (*SA, []byte) {
		ini, req, err := NewInitiator(ic, c.LocalAddr(), ikeConn.LocalAddr())
		if err != nil {
			t.Fatal(err)
		}
		c.WriteBatch([]netio.Packet{{Buf: req, Remote: ikeConn.LocalAddr()}})
		return ini, req
	}

	// Two clients that never finish: the gateway reaches its cookie threshold.
	for range 2 {
		c, recv := newClient()
		start(c)
		if recv(5*time.Second) == nil {
			t.Fatal("a half-open client got no answer below the threshold")
		}
	}
	// Now a real client: first a cookie, then the handshake.
	c, recv := newClient()
	ini, _ := start(c)
	resp := recv(5 * time.Second)
	m, err := message.Decode(resp)
	if err != nil || m.Payloads.Notify(message.NotifyCookie) == nil || len(m.Payloads) != 1 {
		t.Fatalf("under load the answer is not a bare COOKIE: %v %v", m, err)
	}
	retry, _, err := ini.Handle(resp)
	if err != nil || retry == nil {
		t.Fatalf("initiator on the cookie: %v", err)
	}
	c.WriteBatch([]netio.Packet{{Buf: retry, Remote: ikeConn.LocalAddr()}})
	authReq, _, err := ini.Handle(recv(5 * time.Second))
	if err != nil || authReq == nil {
		t.Fatalf("handshake after the cookie: %v", err)
	}
	c.WriteBatch([]netio.Packet{{Buf: append(esp.AppendMarker(nil), authReq...), Remote: natt.LocalAddr()}})
	msg, _ := esp.IKEMessage(recv(5 * time.Second))
	if _, ev, err := ini.Handle(msg); ev != EventEstablished {
		t.Fatalf("not established after the cookie: %v", err)
	}
	<-established

	// The source (127.0.0.1) now has 2 half-open SAs of a limit of 3: one more is answered (with
	// a cookie), the ones after that are not — once it has 3.
	c3, recv3 := newClient()
	ini3, _ := start(c3)
	retry3, _, _ := ini3.Handle(recv3(5 * time.Second))
	c3.WriteBatch([]netio.Packet{{Buf: retry3, Remote: ikeConn.LocalAddr()}})
	if recv3(5*time.Second) == nil {
		t.Fatal("the third half-open SA of a source got no answer")
	}
	c4, recv4 := newClient()
	start(c4)
	if b := recv4(time.Second); b != nil {
		t.Fatalf("a source over its half-open limit was answered: %d bytes", len(b))
	}
}

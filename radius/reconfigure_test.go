package radius

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
)

const addrC = "10.1.0.6:1812"

// answerBoth answers an Access-Request with an Access-Accept and an Accounting-Request with an
// Accounting-Response, so that one fakeServer serves both ports.
func answerBoth(req *radius.Packet) []datagram {
	code := radius.CodeAccessAccept
	if req.Code == radius.CodeAccountingRequest {
		code = radius.CodeAccountingResponse
	}
	return []datagram{{b: signAnswer(req, code, nil, answerOpts{})}}
}

// signIn runs a one-round conversation and returns the server that answered.
func signIn(t *testing.T, c *Client) string {
	t.Helper()
	resp, err := c.NewConversation().Exchange(t.Context(), Request{UserName: "u", Password: []byte("p")})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Server
}

// brief is a server's status in a line, for comparing.
func brief(st []ServerStatus) string {
	var s []string
	for _, x := range st {
		s = append(s, fmt.Sprintf("%s prio %d %s req %d to %d", x.Address, x.Priority, x.State, x.Requests, x.Timeouts))
	}
	return strings.Join(s, "; ")
}

// TestReconfigureServers: servers are replaced while the client runs. New conversations go to
// the new servers; a server kept (same address and secret) keeps its health, hold-off and
// counters under a new priority; one whose secret changed starts afresh; dropped ones leave
// Status.
func TestReconfigureServers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newFakeServer(addrA, "secret-a", nil)
		b := newFakeServer(addrB, "secret-b", answerAll(radius.CodeAccessAccept, nil, answerOpts{}))
		cs := newFakeServer(addrC, "secret-c", answerAll(radius.CodeAccessAccept, nil, answerOpts{}))
		n := newMemNet(a, b, cs)
		c, log := testClient(t, n, 0, defaultQueueLen, a, b)
		defer closeClient(t, c)

		// A times out (and is held off), B answers.
		if got := signIn(t, c); got != addrB {
			t.Fatalf("answered by %s; want B", got)
		}

		// C first; A kept, now second; B's secret rotated, on the server too.
		b2 := newFakeServer(addrB, "secret-b2", answerAll(radius.CodeAccessAccept, nil, answerOpts{}))
		n.set(b2)
		err := c.Reconfigure(Config{NASIdentifier: "gw-new", Timeout: time.Second, Servers: []Server{
			{Address: addrA, AcctAddress: addrA, Secret: []byte("secret-a"), Priority: 5},
			{Address: addrB, AcctAddress: addrB, Secret: []byte("secret-b2"), Priority: 7},
			{Address: addrC, Secret: []byte("secret-c"), Priority: 0},
		}})
		if err != nil {
			t.Fatal(err)
		}
		want := addrC + " prio 0 unknown req 0 to 0; " + addrA + " prio 5 down req 1 to 1; " + addrB + " prio 7 unknown req 0 to 0"
		if got := brief(c.Status()); got != want {
			t.Errorf("status after Reconfigure:\n got %s\nwant %s", got, want)
		}
		if !log.has(slog.LevelInfo, "RADIUS configuration applied", "") {
			t.Error("the Reconfigure was not logged")
		}
		if got := signIn(t, c); got != addrC {
			t.Fatalf("answered by %s; want the new C", got)
		}
		if ps := cs.parsed(t); rfc2865.NASIdentifier_GetString(ps[0]) != "gw-new" {
			t.Errorf("NAS-Identifier %q; want the new one", rfc2865.NASIdentifier_GetString(ps[0]))
		}

		// C dropped; A first again, but still held off from before the Reconfigures.
		err = c.Reconfigure(Config{Servers: []Server{
			{Address: addrA, AcctAddress: addrA, Secret: []byte("secret-a"), Priority: 0},
			{Address: addrB, AcctAddress: addrB, Secret: []byte("secret-b2"), Priority: 1},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if got := signIn(t, c); got != addrB {
			t.Fatalf("answered by %s; want B, A being held off", got)
		}
		if n := len(a.received()); n != 1 {
			t.Errorf("A got %d requests; want 1 (held off ever since)", n)
		}
		want = addrA + " prio 0 down req 1 to 1; " + addrB + " prio 1 up req 1 to 0"
		if got := brief(c.Status()); got != want {
			t.Errorf("status after the second Reconfigure:\n got %s\nwant %s", got, want)
		}
		if len(b.received()) != 1 || len(b2.received()) != 1 {
			t.Errorf("B got %d requests with the old secret, %d with the new; want 1, 1", len(b.received()), len(b2.received()))
		}
	})
}

// TestReconfigureConversation: a conversation started before Reconfigure completes on the
// server it started with, even though Reconfigure dropped that server.
func TestReconfigureConversation(t *testing.T) {
	t.Run("later round after a Challenge", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			// Access-Request --> A ; <-- A: Access-Challenge { State=s1 }
			// (Reconfigure: B only)
			// Access-Request { State=s1 } --> A ; <-- A: Access-Accept
			// a new conversation: Access-Request --> B
			round := 0
			a := newFakeServer(addrA, "secret-a", func(req *radius.Packet) []datagram {
				if round++; round == 1 {
					state := radius.Attributes{{Type: rfc2865.State_Type, Attribute: []byte("s1")}}
					return []datagram{{b: signAnswer(req, radius.CodeAccessChallenge, state, answerOpts{})}}
				}
				return []datagram{{b: signAnswer(req, radius.CodeAccessAccept, nil, answerOpts{})}}
			})
			b := newFakeServer(addrB, "secret-b", answerAll(radius.CodeAccessAccept, nil, answerOpts{}))
			c, _ := testClient(t, newMemNet(a, b), 0, defaultQueueLen, a)
			defer closeClient(t, c)
			cv := c.NewConversation()
			req := Request{UserName: "alice", EAPMessage: eapPacket(10)}
			if resp, err := cv.Exchange(t.Context(), req); err != nil || resp.Code != CodeAccessChallenge {
				t.Fatalf("round 1: %+v, %v; want a Challenge", resp, err)
			}
			if err := c.Reconfigure(Config{Servers: serverList(b)}); err != nil {
				t.Fatal(err)
			}
			resp, err := cv.Exchange(t.Context(), req)
			if err != nil || resp.Code != CodeAccessAccept || resp.Server != addrA {
				t.Fatalf("round 2: %+v, %v; want A's Accept", resp, err)
			}
			if ps := a.parsed(t); len(ps) != 2 || rfc2865.State_GetString(ps[1]) != "s1" {
				t.Errorf("A got %d requests; want 2, the second with State s1", len(ps))
			}
			if got := signIn(t, c); got != addrB {
				t.Errorf("a new conversation went to %s; want B", got)
			}
			if st := c.Status(); len(st) != 1 || st[0].Address != addrB {
				t.Errorf("status %s; want B alone", brief(st))
			}
		})
	})
	t.Run("round trip under way", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			// A answers the retransmission only; Reconfigure comes during the first try, with
			// no retries: the round trip goes on as it started.
			tries := 0
			a := newFakeServer(addrA, "secret-a", func(req *radius.Packet) []datagram {
				if tries++; tries < 2 {
					return nil
				}
				return []datagram{{b: signAnswer(req, radius.CodeAccessAccept, nil, answerOpts{})}}
			})
			b := newFakeServer(addrB, "secret-b", answerAll(radius.CodeAccessAccept, nil, answerOpts{}))
			c, _ := testClient(t, newMemNet(a, b), 1, defaultQueueLen, a)
			defer closeClient(t, c)
			type result struct {
				resp *Response
				err  error
			}
			done := make(chan result, 1)
			go func() {
				resp, err := c.NewConversation().Exchange(t.Context(), Request{UserName: "u", Password: []byte("p")})
				done <- result{resp, err}
			}()
			synctest.Wait() // waiting for A's answer to the first try
			if err := c.Reconfigure(Config{Servers: serverList(b), Retries: 0}); err != nil {
				t.Fatal(err)
			}
			r := <-done
			if r.err != nil || r.resp.Server != addrA {
				t.Fatalf("Exchange = %+v, %v; want A's answer to the retransmission", r.resp, r.err)
			}
			if len(b.received()) != 0 {
				t.Error("B was asked")
			}
		})
	})
}

// TestReconfigureAccounting: accounting records queued, or in flight, while the only
// accounting server does not answer go to the server Reconfigure brings, at once.
func TestReconfigureAccounting(t *testing.T) {
	for _, tc := range []struct {
		name    string
		a       *fakeServer // the first accounting server; on the network unless ghost
		ghost   bool
		retries int
		log     string // logged at Info
	}{
		// The worker is pausing between rounds when Reconfigure comes.
		{name: "unreachable server", a: newFakeServer(acctA, "ka", nil), ghost: true},
		// The worker is in the middle of 1+100 tries of A, abandoned at Reconfigure.
		{name: "silent server, record in flight", a: newFakeServer(acctA, "ka", nil), retries: 100,
			log: "RADIUS accounting server removed; its record in flight goes to the new servers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newFakeServer(acctB, "kb", acctReply(answerOpts{}))
				n := newMemNet(b)
				if !tc.ghost {
					n.set(tc.a)
				}
				c, log := testClient(t, n, tc.retries, defaultQueueLen, tc.a)
				for i := range 3 {
					c.Account(Record{Status: AcctStart, SessionID: fmt.Sprint("s", i)})
				}
				synctest.Wait()
				if len(b.received()) != 0 {
					t.Fatal("B was asked before Reconfigure")
				}
				start := time.Now()
				if err := c.Reconfigure(Config{Servers: serverList(b), Timeout: 50 * time.Millisecond}); err != nil {
					t.Fatal(err)
				}
				if err := c.Close(t.Context()); err != nil {
					t.Fatal(err)
				}
				if d := time.Since(start); d != 0 {
					t.Errorf("the records reached B %v after Reconfigure; want at once", d)
				}
				var got []string
				for _, p := range b.parsed(t) {
					got = append(got, rfc2866.AcctSessionID_GetString(p))
				}
				if strings.Join(got, " ") != "s0 s1 s2" {
					t.Errorf("B got %q; want the 3 records in order", got)
				}
				if tc.log != "" && !log.has(slog.LevelInfo, tc.log, acctA) {
					t.Errorf("no Info log %q", tc.log)
				}
			})
		})
	}
	t.Run("no accounting server for a while", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			a := newFakeServer(acctA, "ka", nil)
			b := newFakeServer(acctB, "kb", acctReply(answerOpts{}))
			c, log := testClient(t, newMemNet(a, b), 0, defaultQueueLen, a)
			c.Account(Record{Status: AcctStart, SessionID: "kept"})
			synctest.Wait()
			noAcct := Config{Servers: serverList(a)}
			noAcct.Servers[0].AcctAddress = ""
			if err := c.Reconfigure(noAcct); err != nil {
				t.Fatal(err)
			}
			c.Account(Record{Status: AcctStart, SessionID: "discarded"})
			time.Sleep(time.Hour)
			if !log.has(slog.LevelWarn, "no RADIUS accounting server configured; records wait for one", "kept") {
				t.Error("the wait was not logged")
			}
			if err := c.Reconfigure(Config{Servers: serverList(b)}); err != nil {
				t.Fatal(err)
			}
			if err := c.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			if ps := b.parsed(t); len(ps) != 1 || rfc2866.AcctSessionID_GetString(ps[0]) != "kept" {
				t.Errorf("B got %d records; want the kept one alone", len(ps))
			}
		})
	})
}

// TestReconfigureInvalid: an invalid Config is refused with New's error, and the running
// configuration stays.
func TestReconfigureInvalid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newFakeServer(addrA, "secret-a", answerAll(radius.CodeAccessAccept, nil, answerOpts{}))
		c, _ := testClient(t, newMemNet(a), 0, defaultQueueLen, a)
		defer closeClient(t, c)
		before := brief(c.Status())
		for _, tc := range invalidConfigs { // no subtests: T.Run is not for a synctest bubble
			_, newErr := New(tc.cfg)
			err := c.Reconfigure(tc.cfg)
			if !errors.Is(err, ErrConfig) || newErr == nil || err.Error() != newErr.Error() {
				t.Errorf("%s: Reconfigure = %v; want New's error %v", tc.name, err, newErr)
			}
		}
		if got := brief(c.Status()); got != before {
			t.Errorf("status %s; want %s as before", got, before)
		}
		if got := signIn(t, c); got != addrA {
			t.Errorf("answered by %s; want A", got)
		}
		if ps := a.parsed(t); rfc2865.NASIdentifier_GetString(ps[0]) != "gw-test" {
			t.Errorf("NAS-Identifier %q; want the running one", rfc2865.NASIdentifier_GetString(ps[0]))
		}
	})
}

// TestReconfigureConcurrent runs Reconfigure alongside Exchange, Account and Status, for the
// race detector; every configuration has a server that answers, so nothing may fail.
func TestReconfigureConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newFakeServer(addrA, "secret-a", answerBoth)
		b := newFakeServer(addrB, "secret-b", answerBoth)
		c, _ := testClient(t, newMemNet(a, b), 0, defaultQueueLen, a)
		configs := []Config{
			{Servers: serverList(b, a), NASIdentifier: "gw-1"},
			{Servers: serverList(a), NASIdentifier: "gw-2", Timeout: time.Second, Retries: 2},
			{Servers: serverList(a, b)},
		}
		const rounds = 50
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range rounds {
					cv := c.NewConversation()
					if _, err := cv.Exchange(t.Context(), Request{UserName: "u", Password: []byte("p")}); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Go(func() {
			for i := range rounds {
				c.Account(Record{Status: AcctInterim, SessionID: fmt.Sprint(i)})
				c.Status()
			}
		})
		wg.Go(func() {
			for i := range rounds {
				if err := c.Reconfigure(configs[i%len(configs)]); err != nil {
					t.Error(err)
				}
			}
		})
		wg.Wait()
		if err := c.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		sessions := map[string]bool{}
		for _, p := range append(a.parsed(t), b.parsed(t)...) {
			if nas := rfc2865.NASIdentifier_GetString(p); !slices.Contains([]string{"gw-test", "gw-1", "gw-2", DefaultNASIdentifier}, nas) {
				t.Errorf("NAS-Identifier %q", nas)
			}
			if p.Code == radius.CodeAccountingRequest {
				sessions[rfc2866.AcctSessionID_GetString(p)] = true
			}
		}
		if len(sessions) != rounds {
			t.Errorf("%d of %d accounting records sent", len(sessions), rounds)
		}
	})
}

// TestReconfigureAfterClose: Reconfigure works after Close, and does not revive accounting.
func TestReconfigureAfterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newFakeServer(addrA, "secret-a", answerBoth)
		c, _ := testClient(t, newMemNet(a), 0, defaultQueueLen, a)
		if err := c.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := c.Reconfigure(Config{Servers: serverList(a), NASIdentifier: "gw-2"}); err != nil {
			t.Fatal(err)
		}
		c.Account(Record{Status: AcctStart, SessionID: "late"})
		if got := signIn(t, c); got != addrA {
			t.Errorf("answered by %s", got)
		}
		if ps := a.parsed(t); len(ps) != 1 || ps[0].Code != radius.CodeAccessRequest || rfc2865.NASIdentifier_GetString(ps[0]) != "gw-2" {
			t.Errorf("A got %d requests; want one Access-Request from gw-2", len(ps))
		}
	})
}

package radius

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"
)

const (
	acctA = "10.1.0.4:1813"
	acctB = "10.1.0.5:1813"
)

// acctReply answers every Accounting-Request with an authentic Accounting-Response.
func acctReply(o answerOpts) func(*radius.Packet) []datagram {
	return answerAll(radius.CodeAccountingResponse, nil, o)
}

// integer returns the first attribute of type typ as an integer, or -1 if there is none.
func integer(p *radius.Packet, typ radius.Type) int64 {
	a, ok := p.Lookup(typ)
	if !ok {
		return -1
	}
	v, err := radius.Integer(a)
	if err != nil {
		return -2
	}
	return int64(v)
}

// TestAccountingAttributes: Accounting-Request { Start }, { Interim-Update }, { Stop } carry
// the session's attributes; counters only in Interim and Stop, the cause only in Stop.
func TestAccountingAttributes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(acctA, "s3cret", acctReply(answerOpts{noMA: true}))
		c, _ := testClient(t, newMemNet(srv), 0, defaultQueueLen, srv)
		when := time.Now().Add(-3 * time.Second)
		base := Record{
			SessionID: "IKEv2_1D2C", UserName: "alice", CallingStationID: "198.18.1.1",
			FramedIP: netip.MustParseAddr("10.2.0.9"), Class: [][]byte{[]byte("c1"), []byte("c2")}, Time: when,
		}
		start := base
		start.Status = AcctStart
		interim := base
		interim.Status = AcctInterim
		interim.InputOctets, interim.OutputOctets = 5<<32+7, 1<<32
		interim.InputPackets, interim.OutputPackets = 1<<33, 12
		interim.SessionTime = 90*time.Second + 900*time.Millisecond
		interim.TerminateCause = TerminateAdminReset // not sent in an Interim-Update
		stop := interim
		stop.Status = AcctStop
		stop.TerminateCause = TerminateUserRequest
		c.Account(start)
		c.Account(interim)
		c.Account(stop)
		if err := c.Close(t.Context()); err != nil {
			t.Fatal(err)
		}

		got := srv.received()
		if len(got) != 3 {
			t.Fatalf("server received %d requests; want 3", len(got))
		}
		for i, b := range got {
			if !radius.IsAuthenticRequest(b, srv.secret) {
				t.Errorf("request %d: Request Authenticator does not verify", i+1)
			}
		}
		ps := srv.parsed(t)
		for i, p := range ps {
			if p.Code != radius.CodeAccountingRequest || rfc2866.AcctSessionID_GetString(p) != "IKEv2_1D2C" ||
				rfc2865.UserName_GetString(p) != "alice" || rfc2865.NASIdentifier_GetString(p) != "gw-test" ||
				rfc2865.CallingStationID_GetString(p) != "198.18.1.1" || rfc2865.FramedIPAddress_Get(p).String() != "10.2.0.9" {
				t.Errorf("request %d: identity attributes %v", i+1, p.Attributes)
			}
			classes, _ := rfc2865.Class_Gets(p)
			if len(classes) != 2 || string(classes[0]) != "c1" || string(classes[1]) != "c2" {
				t.Errorf("request %d: Class %q", i+1, classes)
			}
			if integer(p, rfc2866.AcctDelayTime_Type) != 3 || integer(p, rfc2869.EventTimestamp_Type) != when.Unix() {
				t.Errorf("request %d: Acct-Delay-Time %d, Event-Timestamp %d", i+1, integer(p, rfc2866.AcctDelayTime_Type), integer(p, rfc2869.EventTimestamp_Type))
			}
		}
		for _, tc := range []struct {
			name string
			typ  radius.Type
			want [3]int64 // Start, Interim, Stop; -1: absent
		}{
			{"Acct-Status-Type", rfc2866.AcctStatusType_Type, [3]int64{1, 3, 2}},
			{"Acct-Input-Octets", rfc2866.AcctInputOctets_Type, [3]int64{-1, 7, 7}},
			{"Acct-Input-Gigawords", rfc2869.AcctInputGigawords_Type, [3]int64{-1, 5, 5}},
			{"Acct-Output-Octets", rfc2866.AcctOutputOctets_Type, [3]int64{-1, 0, 0}},
			{"Acct-Output-Gigawords", rfc2869.AcctOutputGigawords_Type, [3]int64{-1, 1, 1}},
			{"Acct-Input-Packets", rfc2866.AcctInputPackets_Type, [3]int64{-1, 1<<32 - 1, 1<<32 - 1}},
			{"Acct-Output-Packets", rfc2866.AcctOutputPackets_Type, [3]int64{-1, 12, 12}},
			{"Acct-Session-Time", rfc2866.AcctSessionTime_Type, [3]int64{-1, 90, 90}},
			{"Acct-Terminate-Cause", rfc2866.AcctTerminateCause_Type, [3]int64{-1, -1, TerminateUserRequest}},
		} {
			for i, want := range tc.want {
				if got := integer(ps[i], tc.typ); got != want {
					t.Errorf("%s in %v = %d; want %d", tc.name, AcctStatus(integer(ps[i], rfc2866.AcctStatusType_Type)), got, want)
				}
			}
		}
	})
}

// TestAccountingRetry: each try is a fresh packet (next Identifier, current Acct-Delay-Time);
// an answer to an earlier try that arrives during a later one is taken; after every server's
// tries, the worker starts over until an answer comes.
func TestAccountingRetry(t *testing.T) {
	t.Run("late answer to the first try", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var first *radius.Packet
			srv := newFakeServer(acctA, "k", func(req *radius.Packet) []datagram {
				if first == nil {
					first = req
					return nil
				}
				return []datagram{{b: signAnswer(first, radius.CodeAccountingResponse, nil, answerOpts{})}}
			})
			c, _ := testClientWith(t, newMemNet(srv), defaultQueueLen, func(cfg *Config) {
				cfg.Retries = 1
				cfg.Timeout = 2 * time.Second
			}, srv)
			c.Account(Record{Status: AcctStart, SessionID: "s"})
			if err := c.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			ps := srv.parsed(t)
			if len(ps) != 2 {
				t.Fatalf("%d transmissions; want 2", len(ps))
			}
			if ps[1].Identifier != ps[0].Identifier+1 || ps[0].Authenticator == ps[1].Authenticator {
				t.Errorf("the retry is not a fresh packet: Identifiers %d, %d", ps[0].Identifier, ps[1].Identifier)
			}
			if d0, d1 := integer(ps[0], rfc2866.AcctDelayTime_Type), integer(ps[1], rfc2866.AcctDelayTime_Type); d0 != 0 || d1 != 2 {
				t.Errorf("Acct-Delay-Time %d, %d; want 0, 2", d0, d1)
			}
			if st := c.Status()[0]; st.State != "up" || st.Requests != 1 {
				t.Errorf("status %+v", st)
			}
		})
	})
	t.Run("rounds until answered, with failover", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			n := 0
			a := newFakeServer(acctA, "ka", nil)
			b := newFakeServer(acctB, "kb", func(req *radius.Packet) []datagram {
				if n++; n < 3 {
					return nil
				}
				return acctReply(answerOpts{})(req)
			})
			c, log := testClient(t, newMemNet(a, b), 0, defaultQueueLen, a, b)
			c.Account(Record{Status: AcctStop, SessionID: "s", TerminateCause: TerminateLostCarrier})
			if err := c.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			if na, nb := len(a.received()), len(b.received()); na != 3 || nb != 3 {
				t.Errorf("A got %d, B %d; want 3 rounds of one try each", na, nb)
			}
			if !log.has(slog.LevelWarn, "no RADIUS accounting server answered; retrying", "s") ||
				!log.has(slog.LevelInfo, "RADIUS accounting failover", acctB) {
				t.Error("the rounds and the failover were not logged")
			}
			st := c.Status()
			if st[0].State != "down" || st[0].Timeouts != 3 || st[1].State != "up" || st[1].Timeouts != 2 {
				t.Errorf("status %+v", st)
			}
		})
	})
}

// TestAccountingResponseChecks: a forged Accounting-Response is dropped; the Message-
// Authenticator is optional, but verified when present.
func TestAccountingResponseChecks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(acctA, "k", func(req *radius.Packet) []datagram {
			return []datagram{
				{b: signAnswer(req, radius.CodeAccountingResponse, nil, answerOpts{noMA: true, badRespAuth: true})},
				{b: signAnswer(req, radius.CodeAccountingResponse, nil, answerOpts{badMA: true})},
				{b: signAnswer(req, radius.CodeAccessAccept, nil, answerOpts{})},
				{b: signAnswer(req, radius.CodeAccountingResponse, nil, answerOpts{})},
			}
		})
		c, log := testClient(t, newMemNet(srv), 0, defaultQueueLen, srv)
		c.Account(Record{Status: AcctStart, SessionID: "s"})
		if err := c.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		if st := c.Status()[0]; st.State != "up" || st.BadResponses != 3 || st.Requests != 1 {
			t.Errorf("status %+v; want up after 3 drops", st)
		}
		for _, reason := range []string{"Response Authenticator", "Message-Authenticator does not verify", "unexpected Code"} {
			if !log.has(slog.LevelWarn, "RADIUS answer dropped", reason) {
				t.Errorf("no drop logged for %q", reason)
			}
		}
	})
}

func queued(c *Client) string {
	c.acct.mu.Lock()
	defer c.acct.mu.Unlock()
	var s []string
	for _, r := range c.acct.queue {
		s = append(s, r.SessionID)
	}
	return strings.Join(s, " ")
}

// TestAccountingOverflow: with the server silent and the queue full, the oldest Interim-Update
// goes first; Start and Stop records are kept past the bound, up to the hard bound.
func TestAccountingOverflow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(acctA, "k", nil)
		c, log := testClient(t, newMemNet(srv), 0, 4, srv)
		push := func(status AcctStatus, id string) { c.Account(Record{Status: status, SessionID: id}) }
		push(AcctStart, "in-flight")
		synctest.Wait() // the worker holds it, waiting for an answer

		push(AcctInterim, "i1")
		push(AcctStart, "s1")
		push(AcctInterim, "i2")
		push(AcctStop, "x1")
		for _, step := range []struct {
			status AcctStatus
			id     string
			want   string
		}{
			{AcctInterim, "i3", "s1 i2 x1 i3"}, // i1 dropped
			{AcctStop, "x2", "s1 x1 i3 x2"},    // i2 dropped
			{AcctStart, "s2", "s1 x1 x2 s2"},   // i3 dropped
			{AcctInterim, "i4", "s1 x1 x2 s2"}, // no Interim queued: i4 itself dropped
			{AcctStop, "x3", "s1 x1 x2 s2 x3"}, // Start and Stop kept past the bound
		} {
			push(step.status, step.id)
			if got := queued(c); got != step.want {
				t.Fatalf("after %s: queue %q; want %q", step.id, got, step.want)
			}
		}
		if !log.has(slog.LevelWarn, "RADIUS accounting queue full; dropping the oldest Interim-Updates", "") {
			t.Error("the overflow was not logged")
		}
		for i := 0; len(strings.Fields(queued(c))) < 4*hardQueueFactor; i++ {
			push(AcctStart, fmt.Sprint("s", 100+i))
		}
		push(AcctStop, "over")
		if q := queued(c); len(strings.Fields(q)) != 4*hardQueueFactor || strings.Contains(q, "over") {
			t.Error("the hard bound was not kept")
		}
		if !log.has(slog.LevelError, "RADIUS accounting queue full of Start and Stop records; dropped one", "over") {
			t.Error("the drop at the hard bound was not logged at Error")
		}

		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		err := c.Close(ctx)
		if !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), fmt.Sprint(4*hardQueueFactor+1)) {
			t.Fatalf("Close = %v; want ErrClosed counting the queue and the record in flight", err)
		}
	})
}

// TestCloseFlushes: Close waits until every queued record is answered, in order; Account after
// Close discards.
func TestCloseFlushes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(acctA, "k", acctReply(answerOpts{}))
		c, log := testClient(t, newMemNet(srv), 0, defaultQueueLen, srv)
		for i := range 20 {
			c.Account(Record{Status: AcctInterim, SessionID: fmt.Sprint(i)})
		}
		if err := c.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		ps := srv.parsed(t)
		if len(ps) != 20 {
			t.Fatalf("%d records sent; want 20", len(ps))
		}
		for i, p := range ps {
			if got := rfc2866.AcctSessionID_GetString(p); got != fmt.Sprint(i) {
				t.Fatalf("record %d is session %s: out of order", i, got)
			}
		}
		c.Account(Record{Status: AcctStop, SessionID: "late"})
		if err := c.Close(t.Context()); err != nil || len(srv.received()) != 20 {
			t.Errorf("a record after Close was sent or kept: %v", err)
		}
		if !log.has(slog.LevelWarn, "RADIUS accounting record after Close; dropped", "late") {
			t.Error("the record after Close was not logged")
		}
	})
}

// TestAccountingDisabled: without an AcctAddress, Account discards and Close has nothing to do.
func TestAccountingDisabled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(addrA, "k", nil)
		c, _ := testClientWith(t, newMemNet(srv), defaultQueueLen, func(cfg *Config) { cfg.Servers[0].AcctAddress = "" }, srv)
		c.Account(Record{Status: AcctStart, SessionID: "s"})
		if err := c.Close(t.Context()); err != nil || len(srv.received()) != 0 {
			t.Fatalf("Close = %v, %d datagrams sent", err, len(srv.received()))
		}
	})
}

// TestUnencodableRecord: a record that cannot be encoded is dropped, not retried forever.
func TestUnencodableRecord(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(acctA, "k", acctReply(answerOpts{}))
		c, log := testClient(t, newMemNet(srv), 0, defaultQueueLen, srv)
		c.Account(Record{Status: AcctStart, SessionID: strings.Repeat("x", 300)})
		c.Account(Record{Status: AcctStart, SessionID: "ok"})
		if err := c.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		if ps := srv.parsed(t); len(ps) != 1 || rfc2866.AcctSessionID_GetString(ps[0]) != "ok" {
			t.Errorf("sent %d records", len(ps))
		}
		if !log.has(slog.LevelError, "RADIUS accounting record cannot be encoded; dropped", "") {
			t.Error("the drop was not logged at Error")
		}
	})
}

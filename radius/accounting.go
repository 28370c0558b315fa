package radius

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"
)

// maxAcctBackoff bounds the wait between rounds over all accounting servers.
const maxAcctBackoff = time.Minute

var acctAnswers = []radius.Code{radius.CodeAccountingResponse}

// AcctStatus is an Acct-Status-Type (RFC 2866 §5.1, RFC 2869 §5.1).
type AcctStatus uint32

const (
	AcctStart   AcctStatus = 1
	AcctStop    AcctStatus = 2
	AcctInterim AcctStatus = 3 // Interim-Update
)

func (s AcctStatus) String() string {
	switch s {
	case AcctStart:
		return "Start"
	case AcctStop:
		return "Stop"
	case AcctInterim:
		return "Interim-Update"
	}
	return fmt.Sprintf("AcctStatus(%d)", uint32(s))
}

// Acct-Terminate-Cause values (RFC 2866 §5.10), for Record.TerminateCause.
const (
	TerminateUserRequest        = 1
	TerminateLostCarrier        = 2
	TerminateLostService        = 3
	TerminateIdleTimeout        = 4
	TerminateSessionTimeout     = 5
	TerminateAdminReset         = 6
	TerminateAdminReboot        = 7
	TerminatePortError          = 8
	TerminateNASError           = 9
	TerminateNASRequest         = 10
	TerminateNASReboot          = 11
	TerminatePortUnneeded       = 12
	TerminatePortPreempted      = 13
	TerminatePortSuspended      = 14
	TerminateServiceUnavailable = 15
	TerminateCallback           = 16
	TerminateUserError          = 17
	TerminateHostRequest        = 18
)

// Record is one accounting event of a session.
type Record struct {
	Status           AcctStatus
	SessionID        string // Acct-Session-Id: the gateway's connection id, e.g. "IKEv2_1D2C…"
	UserName         string
	FramedIP         netip.Addr // sent if an IPv4 address
	CallingStationID string
	// Octets are from the client's point of view (RFC 2866 §5.3-5.4): Input counts octets
	// received from the client. Sent in Interim and Stop, the high 32 bits as
	// Acct-Input-Gigawords and Acct-Output-Gigawords (RFC 2869 §5.1-5.2).
	InputOctets, OutputOctets uint64
	// Packets are sent in Interim and Stop; the attributes are 32 bits, so larger counts are
	// sent as 2^32-1.
	InputPackets, OutputPackets uint64
	SessionTime                 time.Duration // Acct-Session-Time, whole seconds (Interim and Stop)
	TerminateCause              uint32        // Acct-Terminate-Cause (Stop only; 0: not sent)
	Class                       [][]byte      // the Class attributes of the Access-Accept, echoed
	// Time is when the event happened; each transmission sends Acct-Delay-Time = now − Time.
	// Zero means when Account is called.
	Time time.Time
}

// Account queues rec and returns at once; rec is copied. One worker sends the queue in order:
// each record goes to the servers that have an AcctAddress, in priority order, each getting
// 1+Retries tries (a fresh Identifier and Acct-Delay-Time each) of Timeout, round after round
// with a growing pause (up to a minute), until an authentic Accounting-Response comes.
//
// The queue holds 4096 records. When it is full, the oldest queued Interim-Update is dropped
// to make room (an incoming Interim-Update when none is queued); Start and Stop records are
// kept beyond that bound, up to 16 times it, where even they are dropped, with an Error log,
// because memory is not unbounded. Every drop is logged.
//
// While the configuration has no server with an AcctAddress, and after Close, Account
// discards rec. Reconfigure hands the queue to the new configuration's servers.
func (c *Client) Account(rec Record) {
	if rec.Time.IsZero() {
		rec.Time = time.Now()
	}
	rec.Class = slices.Clone(rec.Class)
	for i, v := range rec.Class {
		rec.Class[i] = bytes.Clone(v)
	}
	c.acct.push(rec)
}

// roundEnd is how a round over the accounting servers ended.
type roundEnd uint8

const (
	roundFailed       roundEnd = iota // no server answered
	roundDone                         // a server answered, or the record cannot be encoded
	roundReconfigured                 // Reconfigure replaced the settings: start over with the new
	roundCancelled                    // the worker's context is done
)

// sendRecord sends rec until a server answers or ctx is done. It reports whether rec is done
// with: answered, or impossible to encode (logged and dropped). Rounds over the accounting
// servers follow each other with a growing pause; a Reconfigure ends the round or the pause,
// and rec starts over at once with the new settings' servers. Without any, rec waits for a
// Reconfigure that brings one.
func (c *Client) sendRecord(ctx context.Context, rec *Record) bool {
	var backoff time.Duration // the last pause with the current settings; 0 before the first
	for {
		st := c.settings()
		switch c.acctRound(ctx, st, rec) {
		case roundDone:
			return true
		case roundCancelled:
			return false
		case roundReconfigured:
			backoff = 0
			continue
		}
		wait := time.Duration(0) // until st is replaced
		if len(st.acct) == 0 {
			c.log.Warn("no RADIUS accounting server configured; records wait for one", "session", rec.SessionID, "status", rec.Status)
		} else {
			backoff = min(max(2*backoff, st.timeout), maxAcctBackoff)
			wait = backoff
			c.log.Warn("no RADIUS accounting server answered; retrying", "session", rec.SessionID, "status", rec.Status, "retry_in", backoff)
		}
		replaced, ok := pause(ctx, st, wait)
		if !ok {
			return false
		}
		if replaced {
			backoff = 0
		}
	}
}

// acctRound sends rec to st's accounting servers in turn until one answers. It ends early
// when Reconfigure replaces st, so that rec goes on to the new servers rather than to ones
// that may have been dropped.
func (c *Client) acctRound(ctx context.Context, st *settings, rec *Record) roundEnd {
	for i, s := range st.acct {
		rctx, done, ok := c.acct.sending(ctx, st, s)
		if !ok {
			return roundReconfigured
		}
		err := c.accountTo(rctx, st, s, rec)
		done()
		switch {
		case err == nil:
			return roundDone
		case ctx.Err() != nil:
			return roundCancelled
		case errors.Is(err, ErrRequest):
			c.log.Error("RADIUS accounting record cannot be encoded; dropped", "session", rec.SessionID, "status", rec.Status, "err", err)
			return roundDone
		case c.settings() != st: // also when Reconfigure abandoned the round trip
			return roundReconfigured
		}
		if i+1 < len(st.acct) {
			c.log.Info("RADIUS accounting failover", "from", s.AcctAddress, "to", st.acct[i+1].AcctAddress)
		}
	}
	return roundFailed
}

// pause waits d, or, if d is 0, as long as it takes. It ends early, with replaced, when
// Reconfigure replaces st, and with ok false when ctx is done.
func pause(ctx context.Context, st *settings, d time.Duration) (replaced, ok bool) {
	var expired <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		expired = t.C
	}
	select {
	case <-expired:
		return false, true
	case <-st.replaced:
		return true, true
	case <-ctx.Done():
		return false, false
	}
}

// accountTo sends rec to one server.
func (c *Client) accountTo(ctx context.Context, st *settings, s *server, rec *Record) error {
	x := exchange{
		addr:  s.AcctAddress,
		kind:  kindAccounting,
		codes: acctAnswers,
		fresh: true,
		build: func(id byte) ([]byte, sent, error) {
			return buildAccountingRequest(id, s.Secret, st.nasID, rec, time.Now().Sub(rec.Time))
		},
	}
	_, err := c.roundTrip(ctx, st, s, x)
	return err
}

// buildAccountingRequest encodes rec as an Accounting-Request with Identifier id; its Request
// Authenticator is MD5 over the packet and the secret (RFC 2866 §3). delay becomes
// Acct-Delay-Time (negative → 0).
func buildAccountingRequest(id byte, secret []byte, nasID string, rec *Record, delay time.Duration) ([]byte, sent, error) {
	p := &radius.Packet{Code: radius.CodeAccountingRequest, Identifier: id, Secret: secret}
	p.Add(rfc2866.AcctStatusType_Type, radius.NewInteger(uint32(rec.Status)))
	p.Add(rfc2866.AcctSessionID_Type, radius.Attribute(rec.SessionID))
	if rec.UserName != "" {
		p.Add(rfc2865.UserName_Type, radius.Attribute(rec.UserName))
	}
	p.Add(rfc2865.NASIdentifier_Type, radius.Attribute(nasID))
	p.Add(rfc2865.NASPortType_Type, radius.NewInteger(NASPortTypeVirtual))
	p.Add(rfc2865.ServiceType_Type, radius.NewInteger(ServiceTypeFramed))
	if rec.FramedIP.Is4() {
		ip := rec.FramedIP.As4()
		p.Add(rfc2865.FramedIPAddress_Type, radius.Attribute(ip[:]))
	}
	if rec.CallingStationID != "" {
		p.Add(rfc2865.CallingStationID_Type, radius.Attribute(rec.CallingStationID))
	}
	for _, class := range rec.Class {
		p.Add(rfc2865.Class_Type, radius.Attribute(class))
	}
	if rec.Status == AcctInterim || rec.Status == AcctStop {
		addCounters(p, rec)
	}
	if rec.Status == AcctStop && rec.TerminateCause != 0 {
		p.Add(rfc2866.AcctTerminateCause_Type, radius.NewInteger(rec.TerminateCause))
	}
	p.Add(rfc2869.EventTimestamp_Type, radius.NewInteger(saturate32(uint64(max(rec.Time.Unix(), 0)))))
	p.Add(rfc2866.AcctDelayTime_Type, radius.NewInteger(seconds(delay)))
	b, err := p.Encode()
	if err != nil {
		return nil, sent{}, fmt.Errorf("%w: %v", ErrRequest, err)
	}
	r := sent{id: id}
	copy(r.auth[:], b[offAuth:headerLen])
	return b, r, nil
}

// addCounters adds the session's time and traffic.
func addCounters(p *radius.Packet, rec *Record) {
	p.Add(rfc2866.AcctSessionTime_Type, radius.NewInteger(seconds(rec.SessionTime)))
	p.Add(rfc2866.AcctInputOctets_Type, radius.NewInteger(uint32(rec.InputOctets)))
	p.Add(rfc2869.AcctInputGigawords_Type, radius.NewInteger(uint32(rec.InputOctets>>32)))
	p.Add(rfc2866.AcctOutputOctets_Type, radius.NewInteger(uint32(rec.OutputOctets)))
	p.Add(rfc2869.AcctOutputGigawords_Type, radius.NewInteger(uint32(rec.OutputOctets>>32)))
	p.Add(rfc2866.AcctInputPackets_Type, radius.NewInteger(saturate32(rec.InputPackets)))
	p.Add(rfc2866.AcctOutputPackets_Type, radius.NewInteger(saturate32(rec.OutputPackets)))
}

func saturate32(v uint64) uint32 {
	return uint32(min(v, math.MaxUint32))
}

// seconds is d in whole seconds, from 0 to 2^32-1.
func seconds(d time.Duration) uint32 {
	if d < 0 {
		return 0
	}
	return saturate32(uint64(d / time.Second))
}

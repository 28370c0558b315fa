package ppp

import (
	"bytes"
	"fmt"
	"strconv"
	"time"
)

// The option negotiation automaton of RFC 1661 §4, shared by LCP and IPCP on both sides. It
// is opened at once (the lower layer, SSTP, is already up when a link starts), so it never
// sits in Initial or Starting, and it has no passive open:
//
//	Req-Sent ──RCA──> Ack-Rcvd ──RCR+──> Opened
//	    └────RCR+──> Ack-Sent ──RCA────────┘
//
// A Terminate-Request from the peer is acknowledged and finishes the automaton (Stopped) at
// once, rather than after a restart interval in Stopping: the link is going away anyway.

// State is an automaton state of RFC 1661 §4.2.
type State uint8

// The states the automaton passes through.
const (
	StateClosed State = iota
	StateStopped
	StateClosing
	StateReqSent
	StateAckRcvd
	StateAckSent
	StateOpened
)

func (s State) String() string {
	switch s {
	case StateClosed:
		return "Closed"
	case StateStopped:
		return "Stopped"
	case StateClosing:
		return "Closing"
	case StateReqSent:
		return "Req-Sent"
	case StateAckRcvd:
		return "Ack-Rcvd"
	case StateAckSent:
		return "Ack-Sent"
	case StateOpened:
		return "Opened"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Control packet codes shared by LCP and IPCP (RFC 1661 §5).
const (
	codeConfReq   = 1
	codeConfAck   = 2
	codeConfNak   = 3
	codeConfRej   = 4
	codeTermReq   = 5
	codeTermAck   = 6
	codeCodeRej   = 7
	codeProtoRej  = 8 // LCP only, and so are the rest
	codeEchoReq   = 9
	codeEchoReply = 10
	codeDiscard   = 11
	codeIdent     = 12
	codeTimeLeft  = 13
)

// negotiator is the option policy of one automaton: what we ask for, and how we answer and
// take answers.
type negotiator interface {
	// request appends the options of our Configure-Request.
	request(b []byte) []byte
	// check answers the peer's Configure-Request: codeConfAck, or codeConfNak/codeConfRej
	// with the options to send back. It commits what it accepts only with codeConfAck.
	check(opts []option) (code uint8, reply []byte)
	// nak and reject take the peer's answer to our request; an error gives up the link.
	nak(opts []option) error
	reject(opts []option) error
}

// timing is the restart timer and counters (RFC 1661 §4.6).
type timing struct {
	restart      time.Duration
	maxConfigure int
	maxTerminate int
	maxFailure   int
	now          func() time.Time
}

// fsm is one automaton. Its hooks run inside its event handlers; they must not feed it
// events themselves.
type fsm struct {
	name  string
	proto uint16
	neg   negotiator
	t     *timing
	out   func(p packet)      // sends one control packet of proto
	up    func()              // This-Layer-Up
	down  func()              // This-Layer-Down
	done  func(reason string) // This-Layer-Finished: the automaton ended
	fail  func(reason string) // no agreement; nil closes the automaton itself
	logf  func(msg string, a ...any)

	state    State
	nextID   uint8
	reqID    uint8  // identifier of our outstanding Configure-Request
	req      []byte // its options, to match the Ack against
	restarts int    // restart counter
	naksSent int    // Configure-Naks sent in a row (Max-Failure)
	refusals int    // Naks and Rejects received since we last opened
	deadline time.Time
	reason   string // why we are closing
}

func (f *fsm) open() {
	f.state = StateReqSent
	f.restarts = f.t.maxConfigure
	f.sendConfReq()
}

// close starts terminating the automaton (Close event); done runs once the peer acknowledges
// or the restart counter runs out.
func (f *fsm) close(reason string) {
	switch f.state {
	case StateOpened:
		f.down()
		fallthrough
	case StateReqSent, StateAckRcvd, StateAckSent:
		f.reason = reason
		f.state = StateClosing
		f.restarts = f.t.maxTerminate
		f.sendTermReq()
	case StateStopped:
		f.state = StateClosed
	}
}

// input handles a control packet with a code from 1 to 6; it reports false for any other
// code, which the caller handles.
func (f *fsm) input(p packet) bool {
	switch p.code {
	case codeConfReq:
		f.rcvConfReq(p)
	case codeConfAck:
		f.rcvConfAck(p)
	case codeConfNak, codeConfRej:
		f.rcvNakRej(p)
	case codeTermReq:
		f.rcvTermReq(p)
	case codeTermAck:
		f.rcvTermAck()
	default:
		return false
	}
	return true
}

func (f *fsm) rcvConfReq(p packet) {
	opts, err := parseOptions(p.data)
	if err != nil {
		f.logf("discarded Configure-Request", "err", err)
		return
	}
	switch f.state {
	case StateClosed, StateStopped:
		f.out(packet{code: codeTermAck, id: p.id})
		return
	case StateClosing:
		return
	case StateOpened:
		f.down()
		f.sendConfReq()
		f.state = StateReqSent
	}
	code, reply := f.neg.check(opts)
	if code != codeConfAck {
		f.naksSent++
		if code == codeConfNak && f.naksSent > f.t.maxFailure {
			f.giveUp(fmt.Sprintf("%s: no agreement on the peer's options after %d Configure-Naks", f.name, f.t.maxFailure))
			return
		}
		f.out(packet{code: code, id: p.id, data: reply})
		if f.state == StateAckSent {
			f.state = StateReqSent
		}
		return
	}
	f.naksSent = 0
	f.out(packet{code: codeConfAck, id: p.id, data: p.data})
	switch f.state {
	case StateReqSent:
		f.state = StateAckSent
	case StateAckRcvd:
		f.state = StateOpened
		f.up()
	}
}

func (f *fsm) rcvConfAck(p packet) {
	if p.id != f.reqID || !bytes.Equal(p.data, f.req) {
		f.logf("discarded a Configure-Ack that does not match our request", "id", p.id)
		return
	}
	switch f.state {
	case StateClosed, StateStopped:
		f.out(packet{code: codeTermAck, id: p.id})
	case StateReqSent:
		f.restarts = f.t.maxConfigure
		f.state = StateAckRcvd
	case StateAckRcvd:
		f.sendConfReq()
		f.state = StateReqSent
	case StateAckSent:
		f.restarts = f.t.maxConfigure
		f.state = StateOpened
		f.deadline = time.Time{}
		f.refusals = 0
		f.up()
	case StateOpened:
		f.down()
		f.sendConfReq()
		f.state = StateReqSent
	}
}

func (f *fsm) rcvNakRej(p packet) {
	if p.id != f.reqID {
		return // an answer to an older request
	}
	opts, err := parseOptions(p.data)
	if err != nil {
		f.logf("discarded Configure-Nak/Reject", "err", err)
		return
	}
	switch f.state {
	case StateClosed, StateStopped:
		f.out(packet{code: codeTermAck, id: p.id})
		return
	case StateClosing:
		return
	case StateOpened:
		f.down()
	}
	f.refusals++
	if f.refusals > 2*f.t.maxConfigure {
		f.giveUp(fmt.Sprintf("%s: the peer keeps refusing our options", f.name))
		return
	}
	if p.code == codeConfNak {
		err = f.neg.nak(opts)
	} else {
		err = f.neg.reject(opts)
	}
	if err != nil {
		f.giveUp(err.Error())
		return
	}
	if f.state != StateOpened && f.state != StateAckRcvd {
		f.restarts = f.t.maxConfigure
	}
	if f.state != StateAckSent {
		f.state = StateReqSent
	}
	f.sendConfReq()
}

func (f *fsm) rcvTermReq(p packet) {
	f.out(packet{code: codeTermAck, id: p.id})
	switch f.state {
	case StateClosed, StateStopped:
		return
	case StateClosing:
		// Both ends terminate at once: ours is the reason.
		f.state = StateClosed
		f.deadline = time.Time{}
		f.done(f.reason)
		return
	case StateOpened:
		f.down()
	}
	f.state = StateStopped
	f.deadline = time.Time{}
	reason := f.name + ": the peer terminated"
	if len(p.data) > 0 {
		reason += ": " + printable(p.data)
	}
	f.done(reason)
}

func (f *fsm) rcvTermAck() {
	switch f.state {
	case StateClosing:
		f.state = StateClosed
		f.deadline = time.Time{}
		f.done(f.reason)
	case StateAckRcvd:
		f.state = StateReqSent
	case StateOpened:
		f.down()
		f.sendConfReq()
		f.state = StateReqSent
	}
}

// tick runs the restart timer.
func (f *fsm) tick(now time.Time) {
	if f.deadline.IsZero() || now.Before(f.deadline) {
		return
	}
	f.deadline = time.Time{}
	switch f.state {
	case StateClosing:
		if f.restarts > 0 {
			f.sendTermReq()
			return
		}
		f.state = StateClosed
		f.done(f.reason)
	case StateReqSent, StateAckRcvd, StateAckSent:
		if f.restarts > 0 {
			if f.state == StateAckRcvd {
				f.state = StateReqSent
			}
			f.sendConfReq()
			return
		}
		f.state = StateStopped
		f.done(fmt.Sprintf("%s: no answer to %d Configure-Requests", f.name, f.t.maxConfigure))
	}
}

// giveUp ends negotiation by terminating (RFC 1661 lets an implementation stop when it sees
// no agreement coming).
func (f *fsm) giveUp(reason string) {
	f.logf("giving up", "reason", reason)
	if f.fail != nil {
		f.fail(reason)
		return
	}
	f.close(reason)
}

func (f *fsm) sendConfReq() {
	f.restarts--
	f.nextID++
	f.reqID = f.nextID
	f.req = f.neg.request(f.req[:0:0])
	f.out(packet{code: codeConfReq, id: f.reqID, data: f.req})
	f.deadline = f.t.now().Add(f.t.restart)
}

func (f *fsm) sendTermReq() {
	f.restarts--
	f.nextID++
	// The reason stays in our log: it may name RADIUS errors the peer has no business seeing.
	f.out(packet{code: codeTermReq, id: f.nextID})
	f.deadline = f.t.now().Add(f.t.restart)
}

// printable is a peer's text for the log: at most 64 characters, control characters and
// invalid UTF-8 escaped.
func printable(b []byte) string {
	if len(b) > 64 {
		b = b[:64]
	}
	q := strconv.QuoteToASCII(string(b))
	return q[1 : len(q)-1]
}

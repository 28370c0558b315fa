package sstp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// link is the part of a call both sides share once the call is set up: reading packets with
// the timers as read deadlines, echo, abort and disconnect (§3.1), and the write path.
// ServerConn and ClientConn add what differs through role.

// Timers of §3.1.2 and §3.3.2.
const (
	DefaultNegotiationTimeout = 60 * time.Second
	DefaultHelloInterval      = 60 * time.Second

	abortTimeout      = 3 * time.Second // TIMER_VAL_ABORT_STATE_TIMER_1
	abortLinger       = 1 * time.Second // TIMER_VAL_ABORT_STATE_TIMER_2
	disconnectTimeout = 5 * time.Second // TIMER_VAL_DISCONNECT_STATE_TIMER_1
	disconnectLinger  = 1 * time.Second // TIMER_VAL_DISCONNECT_STATE_TIMER_2
)

// state is where a call is. The states after stateConnected are the ending ones of §3.1.1;
// in them no frame is delivered and only CALL_ABORT, CALL_DISCONNECT and its ACK matter.
type state uint8

const (
	stateNegotiating          state = iota // server: Server_Call_Connected_Pending; client: CALL_CONNECTED not sent
	stateConnected                         // Server_Call_Connected, Client_Call_Connected
	stateAbortPending                      // sent CALL_ABORT, waiting for the peer's
	stateAbortLinger                       // CALL_ABORT exchanged, waiting before closing
	stateDisconnectAckPending              // sent CALL_DISCONNECT, waiting for the ACK
	stateDisconnectLinger                  // sent CALL_DISCONNECT_ACK, waiting before closing
	stateClosed
)

var stateNames = [...]string{
	stateNegotiating:          "negotiating",
	stateConnected:            "connected",
	stateAbortPending:         "abort-pending",
	stateAbortLinger:          "abort-linger",
	stateDisconnectAckPending: "disconnect-ack-pending",
	stateDisconnectLinger:     "disconnect-linger",
	stateClosed:               "closed",
}

func (s state) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

func (s state) ending() bool { return s >= stateAbortPending }

// role is what a side adds to the common link.
type role interface {
	// control handles the message types 1 to 4 (connect request, ACK, NAK, connected) in the
	// negotiating and connected states. pkt is the whole packet, valid during the call.
	control(m ControlMessage, pkt []byte)
	// admit reports whether a PPP frame received while negotiating goes to the caller.
	admit(frame []byte) bool
	// negotiationDeadline is when negotiating must have ended; zero for no limit. Called with
	// link.mu held.
	negotiationDeadline() time.Time
}

// wakeTime is a read deadline in the past, which makes a blocked read return at once.
var wakeTime = time.Unix(1, 0)

type link struct {
	conn  net.Conn
	log   *slog.Logger
	role  role
	hello time.Duration
	w     writer

	connected atomic.Bool   // state has reached stateConnected; lets writes through without mu
	ending    atomic.Bool   // state is ending or closed
	drops     atomic.Uint64 // frames dropped while negotiating

	// reading is held by whoever reads packets (ReadFrame, Disconnect), and guards the
	// fields below it. It is a channel rather than a sync.Mutex because Disconnect can wait
	// on it for seconds, while a ReadFrame finishes the exchange; waiting on a channel is
	// also what testing/synctest counts as idle, so the timers can run in tests.
	reading chan struct{}
	br      *bufio.Reader
	heard   bool      // a packet came in since the hello timer last fired
	echoed  bool      // an ECHO_REQUEST is unanswered
	logged  time.Time // when a dropped frame was last logged

	mu       sync.Mutex // guards:
	state    state
	deadline time.Time // when the current ending state, or the hello interval, ends
	armed    time.Time // the read deadline set on conn
	err      error     // why the call ended; set when it starts ending
	closeErr error     // what Disconnect reports
}

func newLink(conn net.Conn, br *bufio.Reader, log *slog.Logger, r role, hello time.Duration) *link {
	return &link{conn: conn, br: br, log: log, role: r, hello: hello, w: writer{w: conn}, reading: make(chan struct{}, 1)}
}

// readFrame returns the next PPP frame that may be delivered, appended to buf[:0], handling
// control messages and timers on the way. Once the call has ended it returns why, every time.
func (l *link) readFrame(buf []byte) ([]byte, error) {
	l.reading <- struct{}{}
	defer func() { <-l.reading }()
	for {
		st, err := l.arm()
		if err != nil {
			return nil, err
		}
		pkt, err := peekPacket(l.br)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				l.timer()
				continue
			}
			l.lost(st, err)
			continue
		}
		l.heard, l.echoed = true, false
		data := pkt[HeaderLen:]
		if pkt[1]&flagControl != 0 {
			l.controlPacket(st, pkt)
		} else if st == stateConnected || st == stateNegotiating && l.admit(data) {
			buf = append(buf[:0], data...)
			_, _ = l.br.Discard(len(pkt))
			return buf, nil
		}
		_, _ = l.br.Discard(len(pkt))
	}
}

// arm returns the state, or the error the call ended with, and sets the read deadline for
// the state's timer.
func (l *link) arm() (state, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state == stateClosed {
		return l.state, l.err
	}
	var d time.Time
	switch l.state {
	case stateNegotiating:
		d = l.role.negotiationDeadline()
	case stateConnected:
		if l.hello > 0 {
			d = l.deadline
		}
	default:
		d = l.deadline
	}
	if !d.Equal(l.armed) {
		_ = l.conn.SetReadDeadline(d)
		l.armed = d
	}
	return l.state, nil
}

// wakeLocked makes a blocked read return, so the reader notices a change of state.
func (l *link) wakeLocked() {
	_ = l.conn.SetReadDeadline(wakeTime)
	l.armed = wakeTime
}

func (l *link) admit(frame []byte) bool {
	if l.role.admit(frame) {
		return true
	}
	n := l.drops.Add(1)
	if now := time.Now(); now.Sub(l.logged) >= 10*time.Second {
		l.logged = now
		l.log.Warn("SSTP dropped a PPP data frame before the crypto binding was verified",
			"protocol", fmt.Sprintf("%#04x", frameProtocol(frame)), "dropped", n)
	}
	return false
}

// frameProtocol is the protocol field as IsControlFrame reads it, for logs.
func frameProtocol(frame []byte) uint16 {
	if len(frame) >= 2 && frame[0] == 0xff && frame[1] == 0x03 {
		frame = frame[2:]
	}
	if len(frame) < 2 {
		return 0
	}
	return uint16(frame[0])<<8 | uint16(frame[1])
}

// timer runs when a read deadline has passed: the state's timer, or a wake-up.
func (l *link) timer() {
	now := time.Now()
	l.mu.Lock()
	if l.armed.Equal(wakeTime) {
		l.mu.Unlock()
		return // a wake-up: arm will set the state's deadline
	}
	switch l.state {
	case stateNegotiating:
		l.mu.Unlock()
		l.abort(StatusInfo{Status: StatusNegotiationTimeout},
			fmt.Errorf("sstp: call not connected within the negotiation time: %w", ErrTimeout))
		return
	case stateConnected:
		switch {
		case l.heard:
			l.heard = false
			l.deadline = now.Add(l.hello)
		case !l.echoed:
			l.echoed = true
			l.deadline = now.Add(l.hello)
			l.mu.Unlock()
			_ = l.w.writeControl(ControlMessage{Type: MsgEchoRequest})
			return
		default:
			// §3.1.2.3: drop the connection without sending a Call Abort.
			l.log.Warn("SSTP peer stopped answering echo requests", "interval", l.hello)
			l.closeLocked(fmt.Errorf("sstp: no answer to ECHO_REQUEST within %v: %w", l.hello, ErrTimeout))
		}
	case stateDisconnectAckPending:
		l.log.Warn("SSTP peer did not acknowledge CALL_DISCONNECT", "timeout", disconnectTimeout)
		l.closeErr = fmt.Errorf("sstp: no CALL_DISCONNECT_ACK within %v: %w", disconnectTimeout, ErrTimeout)
		l.closeLocked(nil)
	default:
		l.closeLocked(nil)
	}
	l.mu.Unlock()
}

// lost handles a failed read: a lost connection or a stream that cannot be delineated. Both
// end the call without a message to the peer (§3.1.5.1, §3.1.7.2).
func (l *link) lost(st state, err error) {
	switch {
	case st.ending():
		err = nil // the peer closed while we were ending anyway
	case errors.Is(err, ErrMalformed):
		l.log.Warn("SSTP stream unreadable, closing", "err", err)
	default:
		err = fmt.Errorf("sstp: connection lost: %w", err)
	}
	l.mu.Lock()
	l.closeLocked(err)
	l.mu.Unlock()
}

// closeLocked ends the call at once with err, unless it already has a reason.
func (l *link) closeLocked(err error) {
	if l.state == stateClosed {
		return
	}
	if l.err == nil {
		l.err = err
	}
	if l.err == nil {
		l.err = fmt.Errorf("sstp: %w", net.ErrClosed)
	}
	l.state = stateClosed
	l.ending.Store(true)
	// Close from another goroutine: a tls.Conn's close_notify is a write that can block on
	// a peer that does not read, and mu is held.
	go l.conn.Close()
}

// endLocked moves the call into an ending state for d, with err as the reason unless it
// already has one, and wakes the reader so it arms the new timer.
func (l *link) endLocked(st state, d time.Duration, err error) {
	l.state = st
	l.deadline = time.Now().Add(d)
	if l.err == nil {
		l.err = err
	}
	l.ending.Store(true)
	l.wakeLocked()
}

// abort starts a local abort (§3.1.5.1) with err as the reason; a call already ending is
// left alone.
func (l *link) abort(s StatusInfo, err error) {
	l.mu.Lock()
	if l.state.ending() {
		l.mu.Unlock()
		return
	}
	l.endLocked(stateAbortPending, abortTimeout, err)
	l.mu.Unlock()
	l.log.Warn("SSTP aborting call", "status", s, "reason", err)
	_ = l.w.writeControl(ControlMessage{Type: MsgCallAbort, Attributes: []Attribute{s.Attribute()}})
}

// controlPacket handles a control packet.
func (l *link) controlPacket(st state, pkt []byte) {
	m, err := ParseControl(pkt[HeaderLen:])
	if err != nil {
		l.abort(StatusInfo{Status: StatusInvalidFrameReceived}, fmt.Errorf("sstp: %w: %w", ErrProtocol, err))
		return
	}
	switch m.Type {
	case MsgCallAbort:
		l.peerAbort(m)
	case MsgCallDisconnect:
		l.peerDisconnect(m)
	case MsgCallDisconnectAck:
		l.disconnectAck(st)
	case MsgEchoRequest:
		// Answered while negotiating too, where §3.3.5.2.7 would abort: harmless, and kinder
		// to a client whose hello timer starts early.
		if !st.ending() {
			_ = l.w.writeControl(ControlMessage{Type: MsgEchoResponse})
		}
	case MsgEchoResponse:
		// Any packet restarts the hello timer; readFrame did that.
	case MsgCallConnectRequest, MsgCallConnectAck, MsgCallConnectNak, MsgCallConnected:
		if !st.ending() {
			l.role.control(m, pkt)
		}
	default:
		if !st.ending() {
			l.abort(StatusInfo{Status: StatusInvalidFrameReceived},
				fmt.Errorf("sstp: %w: unknown message type %d", ErrProtocol, uint16(m.Type)))
		}
	}
}

func (l *link) peerAbort(m ControlMessage) {
	l.mu.Lock()
	switch l.state {
	case stateAbortPending:
		l.endLocked(stateAbortLinger, abortLinger, nil)
		l.mu.Unlock()
		return
	case stateAbortLinger, stateDisconnectLinger, stateClosed:
		l.mu.Unlock()
		return
	}
	s := statusOf(m)
	l.endLocked(stateAbortLinger, abortLinger, fmt.Errorf("sstp: %w (%v)", ErrAborted, s))
	l.mu.Unlock()
	l.log.Warn("SSTP peer aborted the call", "status", s)
	_ = l.w.writeControl(ControlMessage{Type: MsgCallAbort, Attributes: []Attribute{StatusInfo{}.Attribute()}})
}

func (l *link) peerDisconnect(m ControlMessage) {
	l.mu.Lock()
	switch l.state {
	case stateAbortPending, stateAbortLinger, stateDisconnectLinger, stateClosed:
		l.mu.Unlock()
		return
	}
	l.endLocked(stateDisconnectLinger, disconnectLinger,
		fmt.Errorf("sstp: peer disconnected: %w (%w)", ErrDisconnected, io.EOF))
	l.mu.Unlock()
	l.log.Info("SSTP peer disconnected", "status", statusOf(m))
	_ = l.w.writeControl(ControlMessage{Type: MsgCallDisconnectAck})
}

func (l *link) disconnectAck(st state) {
	switch st {
	case stateDisconnectAckPending:
		l.mu.Lock()
		l.closeLocked(nil)
		l.mu.Unlock()
	case stateNegotiating, stateConnected:
		l.abort(StatusInfo{Status: StatusUnacceptedFrameReceived},
			fmt.Errorf("sstp: %w: CALL_DISCONNECT_ACK without CALL_DISCONNECT", ErrProtocol))
	}
}

// disconnect runs the CALL_DISCONNECT exchange (§3.2.4.2) and closes the connection. It reads
// from the connection itself unless a ReadFrame is running, which then does it.
func (l *link) disconnect() error {
	l.mu.Lock()
	if l.state.ending() {
		l.mu.Unlock()
		return l.waitClosed()
	}
	l.endLocked(stateDisconnectAckPending, disconnectTimeout, fmt.Errorf("sstp: %w", ErrDisconnected))
	l.mu.Unlock()
	s := StatusInfo{Attr: AttrNoError, Status: StatusNoError}
	if err := l.w.writeControl(ControlMessage{Type: MsgCallDisconnect, Attributes: []Attribute{s.Attribute()}}); err != nil {
		l.mu.Lock()
		l.closeLocked(nil)
		l.mu.Unlock()
		return err
	}
	return l.waitClosed()
}

// waitClosed reads, delivering nothing, until the call has ended, and returns closeErr.
func (l *link) waitClosed() error {
	for {
		if _, err := l.readFrame(nil); err != nil {
			break
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closeErr
}

// close ends the call at once, without a message to the peer.
func (l *link) close() error {
	l.mu.Lock()
	if l.state == stateClosed {
		l.mu.Unlock()
		return nil
	}
	l.err = cmpOr(l.err, fmt.Errorf("sstp: %w", net.ErrClosed))
	l.state = stateClosed
	l.ending.Store(true)
	l.mu.Unlock()
	return l.conn.Close()
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// writeFrames sends frames as data packets.
func (l *link) writeFrames(frames ...[]byte) error {
	if l.ending.Load() {
		return fmt.Errorf("sstp: write: call ending: %w", net.ErrClosed)
	}
	return l.w.write(false, frames...)
}

// connect moves a negotiating call to connected; it reports false if the call was elsewhere.
// Called with mu held.
func (l *link) connectLocked() bool {
	if l.state != stateNegotiating {
		return false
	}
	l.state = stateConnected
	l.deadline = time.Now().Add(l.hello)
	l.connected.Store(true)
	l.wakeLocked()
	return true
}

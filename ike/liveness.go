package ike

import "time"

// liveness is an SA's outstanding liveness check and its retransmission schedule.
type liveness struct {
	timers Timers
	req    []byte
	dst    datagram
	since  time.Time
	wait   time.Duration
	timer  *time.Timer
}

func newLiveness(t Timers) *liveness {
	if t.DeadPeerTimeout <= 0 {
		t.DeadPeerTimeout = 2 * time.Minute // our requests are retransmitted even without DPD
	}
	return &liveness{timers: t}
}

func (l *liveness) waiting() bool { return l.req != nil }

func (l *liveness) sent(req []byte, d datagram) {
	l.req, l.dst, l.since, l.wait = req, d, time.Now(), time.Second
	l.arm()
}

func (l *liveness) again() {
	l.wait = min(2*l.wait, 16*time.Second)
	l.arm()
}

func (l *liveness) arm() {
	wait := min(l.wait, time.Until(l.since.Add(l.timers.DeadPeerTimeout)))
	if l.timer == nil {
		l.timer = time.NewTimer(max(wait, 0))
		return
	}
	l.timer.Reset(max(wait, 0))
}

func (l *liveness) expired() bool { return time.Since(l.since) >= l.timers.DeadPeerTimeout }

func (l *liveness) answered() {
	l.req = nil
	if l.timer != nil {
		l.timer.Stop()
	}
}

// retransmit is the channel that fires when the check is due again; nil (never) when none
// is outstanding.
func (l *liveness) retransmit() <-chan time.Time {
	if l.req == nil || l.timer == nil {
		return nil
	}
	return l.timer.C
}

func (l *liveness) stop() {
	if l.timer != nil {
		l.timer.Stop()
	}
}

package ike

import (
	"math/rand/v2"
	"time"
)

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

// rekeyTimer schedules one kind of rekey the gateway starts itself (of the CHILD SA or of the
// IKE SA) at the end of a lifetime, less up to a tenth so that the SAs of clients that
// connected together are not all rekeyed at once. A zero lifetime never fires.
type rekeyTimer struct {
	lifetime time.Duration
	timer    *time.Timer
	// pending: our rekey request is out and its answer has not come.
	pending bool
}

func newRekeyTimer(lifetime time.Duration) *rekeyTimer {
	t := &rekeyTimer{lifetime: lifetime, timer: time.NewTimer(time.Hour)}
	t.timer.Stop()
	return t
}

// arm starts a new lifetime: the SA is new, or was just rekeyed by either side.
func (r *rekeyTimer) arm() {
	r.pending = false
	if r.lifetime > 0 {
		r.timer.Reset(r.lifetime - rand.N(r.lifetime/10+1))
	}
}

// retry tries again after d: the SA was busy, or the peer asked us to wait.
func (r *rekeyTimer) retry(d time.Duration) {
	r.pending = false
	if r.lifetime > 0 {
		r.timer.Reset(d)
	}
}

func (r *rekeyTimer) C() <-chan time.Time { return r.timer.C }

func (r *rekeyTimer) stop() { r.timer.Stop() }

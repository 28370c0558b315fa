package ike

import (
	"math/rand/v2"
	"time"
)

// An SA's timers are deadlines, not time.Timers: the SA goroutine keeps one timer set to the
// earliest of them (saLoop.schedule). A gateway holds an SA per client, and a timer with the
// channel the goroutine waits on costs memory for every one of them.

// liveness is an SA's outstanding liveness check and its retransmission schedule.
type liveness struct {
	timers Timers
	req    []byte
	dst    datagram
	since  time.Time
	wait   time.Duration
	due    time.Time // when to retransmit, or give up; zero while no request is outstanding
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
	l.due = time.Now().Add(max(min(l.wait, time.Until(l.since.Add(l.timers.DeadPeerTimeout))), 0))
}

func (l *liveness) expired() bool { return time.Since(l.since) >= l.timers.DeadPeerTimeout }

func (l *liveness) answered() {
	l.req, l.due = nil, time.Time{}
}

// rekeyTimer schedules one kind of rekey the gateway starts itself (of the CHILD SA or of the
// IKE SA) at the end of a lifetime, less up to a tenth so that the SAs of clients that
// connected together are not all rekeyed at once. A zero lifetime never fires.
type rekeyTimer struct {
	lifetime time.Duration
	due      time.Time // zero: not scheduled
	// pending: our rekey request is out and its answer has not come.
	pending bool
}

func newRekeyTimer(lifetime time.Duration) *rekeyTimer {
	return &rekeyTimer{lifetime: lifetime}
}

// arm starts a new lifetime: the SA is new, or was just rekeyed by either side.
func (r *rekeyTimer) arm() {
	r.pending = false
	if r.lifetime > 0 {
		r.due = time.Now().Add(r.lifetime - rand.N(r.lifetime/10+1))
	}
}

// retry tries again after d: the SA was busy, or the peer asked us to wait.
func (r *rekeyTimer) retry(d time.Duration) {
	r.pending = false
	if r.lifetime > 0 {
		r.due = time.Now().Add(d)
	}
}

// isDue reports whether deadline t is set and has come.
func isDue(t, now time.Time) bool { return !t.IsZero() && !t.After(now) }

// earliest returns the earliest of the deadlines that are set, or zero if none is.
func earliest(ts ...time.Time) time.Time {
	var e time.Time
	for _, t := range ts {
		if !t.IsZero() && (e.IsZero() || t.Before(e)) {
			e = t
		}
	}
	return e
}

package radius

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// Bounds of the accounting queue; see Client.Account.
const (
	defaultQueueLen = 4096
	hardQueueFactor = 16
)

// accounting is the accounting queue and its worker.
type accounting struct {
	c    *Client
	soft int // above this, Interim-Updates are dropped
	hard int // above this, anything is

	ctx    context.Context // the worker's; cancelled when Close gives up
	cancel context.CancelFunc
	wake   chan struct{} // capacity 1: something was queued, or Close was called
	done   chan struct{} // closed when the worker has returned

	closeOnce sync.Once

	mu       sync.Mutex // guards the fields below
	queue    []Record
	closed   bool
	dropped  int                // Interim-Updates dropped since the queue was last below soft
	inFlight *server            // the server of the worker's round trip; nil between round trips
	abandon  context.CancelFunc // ends that round trip
}

// newAccounting starts the worker of c's accounting queue.
func newAccounting(c *Client, soft int) *accounting {
	a := &accounting{
		c:    c,
		soft: soft,
		hard: soft * hardQueueFactor,
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	go a.run()
	return a
}

// push queues rec, applying the overflow policy of Client.Account.
func (a *accounting) push(rec Record) {
	if len(a.c.settings().acct) == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		a.c.log.Warn("RADIUS accounting record after Close; dropped", "session", rec.SessionID, "status", rec.Status)
		return
	}
	if len(a.queue) >= a.soft && !a.makeRoom(rec) {
		return
	}
	a.queue = append(a.queue, rec)
	a.signal()
}

// makeRoom drops the oldest queued Interim-Update, or rec itself, so rec can be queued. It
// reports whether rec is to be queued. The caller holds a.mu.
func (a *accounting) makeRoom(rec Record) bool {
	if i := a.oldestInterim(); i >= 0 {
		a.noteDrop(a.queue[i])
		a.queue = append(a.queue[:i], a.queue[i+1:]...)
		return true
	}
	if rec.Status == AcctInterim {
		a.noteDrop(rec)
		return false
	}
	if len(a.queue) >= a.hard {
		a.c.log.Error("RADIUS accounting queue full of Start and Stop records; dropped one",
			"session", rec.SessionID, "status", rec.Status, "queued", len(a.queue))
		return false
	}
	return true
}

func (a *accounting) oldestInterim() int {
	for i := range a.queue {
		if a.queue[i].Status == AcctInterim {
			return i
		}
	}
	return -1
}

// noteDrop logs the first Interim-Update dropped while the queue is full; the count of the
// others is logged once the queue has room again.
func (a *accounting) noteDrop(rec Record) {
	if a.dropped == 0 {
		a.c.log.Warn("RADIUS accounting queue full; dropping the oldest Interim-Updates",
			"session", rec.SessionID, "queued", len(a.queue))
	}
	a.dropped++
}

func (a *accounting) signal() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// run sends the queue, record by record, until Close.
func (a *accounting) run() {
	defer close(a.done)
	for {
		rec, ok := a.next()
		if !ok {
			return
		}
		if !a.c.sendRecord(a.ctx, &rec) {
			a.requeue(rec)
			return
		}
	}
}

// next waits for the next record; false means the worker is to stop (Close was called and the
// queue is empty, or Close gave up).
func (a *accounting) next() (Record, bool) {
	for {
		a.mu.Lock()
		if len(a.queue) > 0 {
			rec := a.queue[0]
			a.queue[0] = Record{}
			a.queue = a.queue[1:]
			if a.dropped > 0 && len(a.queue) < a.soft {
				a.c.log.Warn("RADIUS accounting queue has room again", "interim_updates_dropped", a.dropped)
				a.dropped = 0
			}
			a.mu.Unlock()
			return rec, true
		}
		closed := a.closed
		a.mu.Unlock()
		if closed {
			return Record{}, false
		}
		select {
		case <-a.wake:
		case <-a.ctx.Done():
			return Record{}, false
		}
	}
}

// sending registers the worker's round trip to s, which a Reconfigure that drops s abandons
// by cancelling the returned context; the worker calls done when the round trip is over. ok
// is false, and nothing is registered, if st is no longer current: the worker is to start over
// with the new settings. Checking that under a.mu, which reconfigured takes after the new
// settings are published, leaves no moment in which a round trip to a dropped server could
// start unnoticed.
func (a *accounting) sending(ctx context.Context, st *settings, s *server) (rctx context.Context, done func(), ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.c.settings() != st {
		return nil, nil, false
	}
	rctx, cancel := context.WithCancel(ctx)
	a.inFlight, a.abandon = s, cancel
	return rctx, func() {
		a.mu.Lock()
		a.inFlight, a.abandon = nil, nil
		a.mu.Unlock()
		cancel()
	}, true
}

// reconfigured abandons the worker's round trip if its server is not among st's: the record
// is to go to st's servers at once, not after the dropped one's last try.
func (a *accounting) reconfigured(st *settings) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inFlight == nil || slices.Contains(st.acct, a.inFlight) {
		return
	}
	a.c.log.Info("RADIUS accounting server removed; its record in flight goes to the new servers", "server", a.inFlight.AcctAddress)
	a.abandon()
	a.inFlight, a.abandon = nil, nil
}

// requeue puts back a record the worker could not finish, so Close counts it.
func (a *accounting) requeue(rec Record) {
	a.mu.Lock()
	a.queue = append([]Record{rec}, a.queue...)
	a.mu.Unlock()
}

// Close stops accepting accounting records and waits until every queued one is answered, or
// ctx is done; then it abandons the rest and returns ErrClosed, saying how many. Exchange
// keeps working after Close. Close may be called more than once.
func (c *Client) Close(ctx context.Context) error {
	a := c.acct
	a.closeOnce.Do(func() {
		a.mu.Lock()
		a.closed = true
		a.mu.Unlock()
		a.signal()
	})
	select {
	case <-a.done:
	case <-ctx.Done():
		a.cancel()
		<-a.done
	}
	a.cancel()
	a.mu.Lock()
	n := len(a.queue)
	a.mu.Unlock()
	if n > 0 {
		c.log.Warn("RADIUS accounting records not sent", "records", n)
		return fmt.Errorf("%w: %d records left in the queue", ErrClosed, n)
	}
	return nil
}

package bolt

import (
	"context"
	"errors"
	"slices"

	"github.com/p2sgw/p2sgw/store"
	"go.etcd.io/bbolt"
)

// Group commit. bbolt syncs the file twice per read-write transaction (data pages, then the
// meta page), so a transaction per write makes concurrent writers queue on fdatasync. Instead
// every write is a call queued under Store.mu, and the writer at the head of the queue leads:
// it takes the queue (up to maxGroup calls), runs their fns in arrival order in one
// transaction, commits it, tells each call its result, and hands the lead to the first call
// queued meanwhile, which does the same for the next group. A writer that finds no leader
// leads at once, so a lone write waits for nothing but its own commit; there is no timer.
// No goroutine is started: leaders are the writers' own goroutines.
//
// If a fn fails, the transaction is rolled back (taking the fn's partial writes with it): the
// failing call gets its error, and the rest of the group is run again, in order, in a new
// transaction. The calls before the failed one see the same state as before and succeed again;
// the ones after it now run without it. Every fn must therefore be safe to run more than once,
// each time on a fresh transaction: it may read and write the transaction, but must not change
// anything outside it (every caller of update in this package only captures its key and
// encoded value). A group commits whole or not at all: if the commit itself fails (an I/O
// error), every call of the group gets that error and none of them happened.

// maxGroup caps the calls one transaction commits, bounding its size and the work redone
// after a failed call.
const maxGroup = 1000

// errLeaderPanicked is the error of the calls of a group whose leader panicked outside a fn
// (in bbolt), had that panic been recovered further up the leader's stack.
var errLeaderPanicked = errors.New("store: write group aborted by a panic")

// call is one write waiting for, or in, a group.
type call struct {
	fn func(*bbolt.Tx) error
	// wake (capacity 1) gets one send per role: when the call is finished, and before that,
	// if the call is handed the lead. The fields below are set before the send that finishes.
	wake     chan struct{}
	done     bool
	err      error
	panicked bool // fn panicked with panicVal, which update panics with again in its caller
	panicVal any
}

// update runs fn in a read-write transaction, unless the Store is closed or ctx is done, and
// returns once that transaction has committed, synced, or fn has failed. Concurrent calls
// share transactions (see group commit above): fn runs after the fns of the calls queued before
// it, in the same transaction, and may be run again on a fresh transaction if another fn of its
// group fails, so it must only act on tx. fn's write commits only if fn returns nil. A panic in
// fn rolls back its group and is raised again here, in fn's caller, not in the leader.
//
// ctx is checked once, before the call is queued: a call whose ctx is already done returns
// ctx.Err(); a queued call is committed, and waits for its group, whatever happens to ctx.
func (s *Store) update(ctx context.Context, fn func(*bbolt.Tx) error) error {
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return store.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		s.mu.Unlock()
		return err
	}
	c := &call{fn: fn, wake: make(chan struct{}, 1)}
	s.queue = append(s.queue, c)
	follow := s.leading
	s.leading = true
	s.mu.Unlock()

	if follow {
		<-c.wake // finished by a leader, or handed the lead
	}
	if !c.done {
		s.lead() // c heads the queue, so leads the group that finishes it
	}
	if c.panicked {
		panic(c.panicVal)
	}
	return c.err
}

// lead commits the next group of the queue, whose first call is the caller's, then hands the
// lead to the next queued call, or if there is none leaves the Store without a leader.
func (s *Store) lead() {
	s.mu.Lock()
	group := s.queue
	if len(group) > maxGroup {
		s.queue = slices.Clone(group[maxGroup:])
		group = group[:maxGroup:maxGroup]
	} else {
		s.queue = nil
	}
	s.mu.Unlock()

	defer s.handOff() // even if commit panics, so that the queue is not left without a leader
	s.commit(group)
}

// handOff passes the lead on to the first queued call, or, with the queue empty, wakes Close
// if it waits.
func (s *Store) handOff() {
	s.mu.Lock()
	if len(s.queue) == 0 {
		s.leading = false
		s.idle.Broadcast()
		s.mu.Unlock()
		return
	}
	next := s.queue[0]
	s.mu.Unlock()
	next.wake <- struct{}{} // next is unfinished, so its wake is empty: this does not block
}

// commit commits group, in as few transactions as its fns' failures allow, and finishes every
// call of it.
func (s *Store) commit(group []*call) {
	pending := group // calls not finished yet, in arrival order
	defer func() {
		// Reached with pending calls only if bbolt panicked; the panic goes on up the leader's
		// stack, but the followers must not wait for ever.
		for _, c := range pending {
			c.finish(errLeaderPanicked)
		}
	}()
	for len(pending) > 0 {
		failed, err := s.try(pending)
		if failed < 0 {
			for _, c := range pending {
				c.finish(err)
			}
			pending = nil
			return
		}
		pending[failed].finish(err)
		pending = slices.Delete(pending, failed, failed+1)
	}
}

// try runs the fns of calls in order in one read-write transaction. If one fails, it rolls the
// transaction back and returns the index of the call and its error; otherwise it commits and
// returns -1 and the commit's error (nil once the file is synced).
func (s *Store) try(calls []*call) (failed int, err error) {
	if s.testHookTx != nil {
		s.testHookTx(len(calls))
	}
	failed = -1
	err = s.db.Update(func(tx *bbolt.Tx) error {
		for i, c := range calls {
			if err := c.run(tx); err != nil {
				failed = i
				return err
			}
		}
		return nil
	})
	return failed, closedErr(err)
}

// run runs c.fn on tx, turning a panic into an error after recording it in c.
func (c *call) run(tx *bbolt.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.panicked, c.panicVal = true, r
			err = errors.New("store: write panicked")
		}
	}()
	return c.fn(tx)
}

// finish ends c with err and wakes its writer. The leader must not touch c afterwards.
func (c *call) finish(err error) {
	c.done, c.err = true, err
	c.wake <- struct{}{}
}

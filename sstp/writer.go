package sstp

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// writer packs packets into as few connection writes, and so TLS records, as it can: a
// packet is appended to a buffer under a lock and the buffer is written out by the last
// writer in line, the one that finds nobody waiting behind it. Frames sent by several
// goroutines at once, or by one through writeFrames, go out together; a lone frame goes out
// at once, never delayed by a timer.
type writer struct {
	w       io.Writer
	waiting atomic.Int32 // goroutines in write, holding mu or waiting for it

	mu       sync.Mutex // guards buf, deadline and the writes to w
	buf      []byte     // packets not yet written
	deadline time.Time  // the write deadline last set on w
}

// flushLen is where the buffer is written out even with writers waiting: a full TLS
// record's worth of plaintext.
const flushLen = 16 << 10

// write appends each frame as a data packet (control false) or each message as a control
// packet (control true) and writes them out unless another writer is waiting to. It returns
// an error wrapping ErrTooLarge, writing nothing, if any of them does not fit a packet.
func (w *writer) write(control bool, frames ...[]byte) error {
	for _, f := range frames {
		if len(f) > MaxFrameLen {
			return fmt.Errorf("sstp: write: %d-byte frame: %w", len(f), ErrTooLarge)
		}
	}
	w.waiting.Add(1)
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, f := range frames {
		if len(w.buf)+HeaderLen+len(f) > flushLen {
			if err := w.flushLocked(); err != nil {
				w.waiting.Add(-1)
				return err
			}
		}
		w.buf = append(appendHeader(w.buf, control, len(f)), f...)
	}
	if w.waiting.Add(-1) > 0 {
		return nil // whoever is waiting for mu writes this out with theirs
	}
	return w.flushLocked()
}

// writeTimeout bounds one write to the peer. A peer that stops reading (a zero TCP window)
// must not hold the writers — the data plane's sender among them — for longer: after it the
// write fails, and every later one (crypto/tls keeps the error), so the call ends.
const writeTimeout = 10 * time.Second

func (w *writer) flushLocked() error {
	if len(w.buf) == 0 {
		return nil
	}
	// The deadline is moved only when half of it is used up: setting it allocates, and
	// packets must not. A write so gets between writeTimeout/2 and writeTimeout.
	if d, ok := w.w.(interface{ SetWriteDeadline(time.Time) error }); ok {
		if now := time.Now(); now.After(w.deadline.Add(-writeTimeout / 2)) {
			w.deadline = now.Add(writeTimeout)
			d.SetWriteDeadline(w.deadline)
		}
	}
	_, err := w.w.Write(w.buf)
	w.buf = w.buf[:0]
	if err != nil {
		return fmt.Errorf("sstp: write: %w", err)
	}
	return nil
}

// writeControl sends one control message.
func (w *writer) writeControl(m ControlMessage) error {
	return w.write(true, m.Append(nil))
}

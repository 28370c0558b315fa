package sstp

import (
	"errors"
	"net"
	"os"
	"testing"
	"testing/synctest"
)

// TestWriteTimeout: a peer that stops reading makes a write fail after writeTimeout, instead
// of holding the writer (and the data plane's sender behind it) for ever.
func TestWriteTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ours, theirs := net.Pipe() // theirs is never read
		defer ours.Close()
		defer theirs.Close()
		w := &writer{w: ours}
		err := w.write(false, make([]byte, 100))
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("write to a peer that does not read: %v, want a deadline error", err)
		}
	})
}

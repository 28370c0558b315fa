package dataplane

import (
	"sync"
	"time"
)

// The throughput limit (the SKU's rate) is a token bucket per direction, in bytes of inner IP
// packets, that paces rather than polices: a batch may overdraw the bucket, and then its caller
// waits until the debt is paid before it takes the next batch. While the TUN reader waits, the
// kernel queues what the VNet sends; while an SSTP connection waits, TLS backs up to the
// client; while the ESP reader waits, datagrams queue in its socket. TCP inside the tunnel sees
// a slower path, not loss bursts (a policer that drops whatever exceeds the rate leaves TCP at
// half the rate, as retransmissions meet an empty bucket too).
//
// Fairness: while the bucket is more than half full, any session may spend from it (a lone
// client gets the whole rate). Below half — the link is congested — and with more than one
// session sending, a packet also needs tokens from its session's share: a bucket of its own
// that fills at rate/n, where n is the number of sessions that sent in this or the last
// fairness window. A heavy sender's packets beyond its share are dropped, which tells its TCP
// to slow down, while a light one (below its share) passes untouched.
const (
	// fairWindow is how long a session counts as active after its last packet.
	fairWindow = 100 * time.Millisecond
	// depthTime sizes the bucket: this long at the rate, so TCP's bursts of a window pass.
	depthTime = 50 * time.Millisecond
	// minDepth is the smallest bucket: a few 64 KiB GSO bursts.
	minDepth = 256 << 10
)

// monoStart anchors the limiter's clock: nanoseconds since it, monotonic.
var monoStart = time.Now()

func monotime() int64 { return int64(time.Since(monoStart)) }

// limiter shapes one direction to a rate, fairly across sessions.
type limiter struct {
	now func() int64 // nanoseconds, monotonic

	mu     sync.Mutex // guards the fields below and every share's fields
	rate   float64    // bytes per nanosecond
	depth  float64    // bytes
	tokens float64
	at     int64 // when tokens was last refilled
	// The fairness window: its index, the sessions active in it and in the one before.
	window         int64
	active, before int
}

// share is one session's fair share in one direction. Its fields belong to the limiter's lock.
type share struct {
	tokens float64
	at     int64 // last refill; 0: never
	window int64 // the last window this session sent in, plus one (0: never)
}

// newLimiter returns a limiter for bitsPerSecond, or nil for 0 (unlimited).
func newLimiter(bitsPerSecond int64, now func() int64) *limiter {
	if bitsPerSecond <= 0 {
		return nil
	}
	l := &limiter{now: now}
	l.setRate(bitsPerSecond)
	l.tokens, l.at = l.depth, now()
	return l
}

func (l *limiter) setRate(bitsPerSecond int64) {
	l.rate = float64(bitsPerSecond) / 8 / float64(time.Second)
	l.depth = max(l.rate*float64(depthTime), minDepth)
	l.tokens = min(l.tokens, l.depth)
}

// admit keeps the packets of pkts (each pkts[i][offset:]) that the limit lets through for the
// session with share sh, in order, and returns them (in pkts' array) with the number of bytes
// kept and of packets dropped. If the batch overdrew the bucket, wait is how long the caller
// must hold off before its next batch.
func (l *limiter) admit(sh *share, pkts [][]byte, offset int) (kept [][]byte, bytes uint64, dropped int, wait time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tokens = min(l.depth, l.tokens+l.rate*float64(now-l.at))
	l.at = now

	w := now / int64(fairWindow)
	if w != l.window {
		if w == l.window+1 {
			l.before = l.active
		} else {
			l.before = 0
		}
		l.window, l.active = w, 0
	}
	if sh.window != w+1 {
		sh.window = w + 1
		l.active++
	}
	n := max(l.active, l.before, 1)
	shareDepth := l.depth / float64(n)
	if sh.at == 0 {
		sh.tokens = shareDepth
	} else {
		sh.tokens = min(shareDepth, sh.tokens+l.rate/float64(n)*float64(now-sh.at))
	}
	sh.at = now

	congested := l.depth / 2
	kept = pkts[:0]
	for _, b := range pkts {
		size := float64(len(b) - offset)
		// Overdrawn by a whole bucket: the callers are not waiting as told (or a batch is
		// larger than a bucket); drop rather than build an unbounded debt.
		overdrawn := l.tokens < -l.depth
		unfair := n > 1 && l.tokens < congested && sh.tokens < size
		if overdrawn || unfair {
			dropped++
			continue
		}
		l.tokens -= size
		sh.tokens = max(sh.tokens-size, 0)
		kept = append(kept, b)
		bytes += uint64(len(b) - offset)
	}
	if l.tokens < 0 {
		wait = time.Duration(-l.tokens / l.rate)
	}
	return kept, bytes, dropped, wait
}

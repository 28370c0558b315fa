// Package replay is the ESP anti-replay window (RFC 4303 §3.4.3), a bitmap of the sequence
// numbers seen near the highest one, kept as a ring of 64-bit words so that sliding the window
// costs a few word writes instead of a shift (the scheme of RFC 6479, as in wireguard-go's
// replay package).
//
// Unlike a filter that checks and records in one step, a Filter here splits the two: ESP
// checks a sequence number before it spends work on the ICV, and records it only after the ICV
// proved the packet genuine, so forged packets never move the window. It also recovers the
// high half of an extended (64-bit) sequence number from the low half on the wire (RFC 4303
// Appendix A). It knows nothing of packets, keys or locking.
package replay

const (
	wordBits  = 64
	wordShift = 6 // log2(wordBits)
	ringWords = 64
	ringMask  = ringWords - 1

	// WindowSize is how far behind the highest accepted sequence number a packet may arrive
	// and still be accepted: a sequence number s is inside the window when top-s < WindowSize.
	// The ring keeps one word more than the window needs, so that sliding the window never
	// clears a word that still holds bits inside it.
	WindowSize = (ringWords - 1) * wordBits
)

// A Verdict is what a Filter says of a sequence number.
type Verdict uint8

const (
	// Fresh: not seen before and inside or ahead of the window.
	Fresh Verdict = iota
	// Duplicate: inside the window and already recorded.
	Duplicate
	// TooOld: behind the window, or zero (the first sequence number of an SA is 1), so it can
	// no longer be told apart from a replay.
	TooOld
)

func (v Verdict) String() string {
	switch v {
	case Fresh:
		return "fresh"
	case Duplicate:
		return "duplicate"
	case TooOld:
		return "too old"
	}
	return "invalid verdict"
}

// A Filter is the receive window of one inbound SA. It records 64-bit sequence numbers; for an
// SA without extended sequence numbers they are the 32-bit numbers from the wire.
//
// The zero value for Filter is an empty window ready to use: every sequence number but 0 is
// fresh. A Filter is not safe for concurrent use; a caller that opens packets of one SA on
// several goroutines guards it with a lock.
type Filter struct {
	top  uint64            // highest sequence number recorded; 0 until the first
	ring [ringWords]uint64 // bit s%64 of word (s/64)%ringWords is set when s was recorded
}

// Top returns the highest sequence number recorded, or 0 if none was.
func (f *Filter) Top() uint64 { return f.top }

// Check reports whether seq would be accepted, without recording it. Call it before the
// packet is authenticated, to skip the work for replays.
func (f *Filter) Check(seq uint64) Verdict {
	switch {
	case seq == 0:
		return TooOld
	case seq > f.top:
		return Fresh
	case f.top-seq >= WindowSize:
		return TooOld
	case f.ring[(seq>>wordShift)&ringMask]&(1<<(seq&(wordBits-1))) != 0:
		return Duplicate
	}
	return Fresh
}

// Accept records seq and returns Fresh, or returns why it refuses and records nothing. Call
// it only after the packet carrying seq was authenticated. It checks again, because another
// packet with the same number may have been accepted since Check.
func (f *Filter) Accept(seq uint64) Verdict {
	if seq == 0 {
		return TooOld
	}
	if seq > f.top {
		f.slide(seq)
	} else if f.top-seq >= WindowSize {
		return TooOld
	}
	w := &f.ring[(seq>>wordShift)&ringMask]
	bit := uint64(1) << (seq & (wordBits - 1))
	if *w&bit != 0 {
		return Duplicate
	}
	*w |= bit
	return Fresh
}

// slide moves the top of the window to seq, clearing the words that enter the window. A jump
// of a whole ring or more clears every word once; so it costs O(1) whatever the jump.
func (f *Filter) slide(seq uint64) {
	from, to := f.top>>wordShift, seq>>wordShift
	n := to - from
	if n > ringWords {
		n = ringWords
	}
	for i := uint64(1); i <= n; i++ {
		f.ring[(from+i)&ringMask] = 0
	}
	f.top = seq
}

// Extend returns the 64-bit sequence number whose low 32 bits are lo, choosing the high 32
// bits as RFC 4303 Appendix A2.2 does: the number is taken to lie in the 2^32 values that
// start at the bottom of the window (top-WindowSize+1). ok is false when that number would be
// below 1 or above 2^64-1, which no sender can have sent.
//
// The guess is only a guess until the ICV verifies with it: a packet whose high bits were
// guessed wrong fails authentication and is dropped (this package does not attempt the
// resynchronisation of Appendix A3).
func (f *Filter) Extend(lo uint32) (seq uint64, ok bool) {
	th, tl := uint32(f.top>>32), uint32(f.top)
	bottom := tl - (WindowSize - 1) // low half of the window's bottom, modulo 2^32
	hi := th
	if tl >= WindowSize-1 {
		// Case A: the window lies within one 2^32 subspace.
		if lo < bottom {
			if th == ^uint32(0) {
				return 0, false
			}
			hi = th + 1
		}
	} else if lo >= bottom {
		// Case B: the window straddles two subspaces, and lo is in the lower one.
		if th == 0 {
			return 0, false
		}
		hi = th - 1
	}
	seq = uint64(hi)<<32 | uint64(lo)
	return seq, seq != 0
}

package esp

import "sync/atomic"

// Drop is why Open dropped a packet, or why Seal refused one. Drops are counted per SA (see
// Stats); Open returns them instead of errors so that dropping allocates nothing.
type Drop uint8

const (
	// DropNone: the packet was not dropped.
	DropNone Drop = iota
	// DropShort: shorter than the shortest ESP packet of the transform.
	DropShort
	// DropLength: the ciphertext is not a whole number of cipher blocks.
	DropLength
	// DropSPI: the SPI is not this SA's (the caller demultiplexed wrongly).
	DropSPI
	// DropReplay: the sequence number was already received.
	DropReplay
	// DropTooOld: the sequence number is behind the replay window, or is 0, or (with ESN)
	// lies outside the 64-bit range.
	DropTooOld
	// DropAuth: the ICV did not verify: a forged, corrupted or misdirected packet, or (with
	// ESN) one whose high sequence bits were guessed wrong after a gap of 2^32 packets.
	DropAuth
	// DropPadding: the pad length exceeds the payload, or the padding is not 1, 2, 3, ...
	DropPadding
	// DropNextHeader: the next header is neither IPv4 (4) nor IPv6 (41), or disagrees with
	// the version of the inner packet.
	DropNextHeader
	// DropInner: the inner packet is shorter than the length in its IP header, or that
	// length is shorter than the header.
	DropInner
	// DropDummy: a dummy packet (next header 59, RFC 4303 §2.6), discarded by design.
	DropDummy

	// DropExhausted counts Seals refused with ErrExhausted.
	DropExhausted
	// DropNoRoom counts Seals refused with ErrNoRoom.
	DropNoRoom
	// DropNotIP counts Seals refused with ErrNotIP.
	DropNotIP

	numDrops
)

var dropNames = [numDrops]string{
	DropNone:       "none",
	DropShort:      "short",
	DropLength:     "length",
	DropSPI:        "spi",
	DropReplay:     "replay",
	DropTooOld:     "too-old",
	DropAuth:       "auth",
	DropPadding:    "padding",
	DropNextHeader: "next-header",
	DropInner:      "inner",
	DropDummy:      "dummy",
	DropExhausted:  "exhausted",
	DropNoRoom:     "no-room",
	DropNotIP:      "not-ip",
}

// String is a short name fit for a metrics label.
func (d Drop) String() string {
	if d < numDrops {
		return dropNames[d]
	}
	return "invalid"
}

// Stats is a snapshot of the counters of one direction of an SA.
type Stats struct {
	Packets uint64 // packets sealed, or opened and returned
	Bytes   uint64 // octets of those inner packets
	// Drops counts packets by why they were dropped or refused, indexed by Drop;
	// Drops[DropNone] is always 0.
	Drops [numDrops]uint64
}

// Dropped is the sum of Drops.
func (s *Stats) Dropped() uint64 {
	var n uint64
	for _, d := range s.Drops {
		n += d
	}
	return n
}

// counters are the live counters behind Stats.
type counters struct {
	packets, bytes atomic.Uint64
	drops          [numDrops]atomic.Uint64
}

func (c *counters) add(packets, bytes uint64) {
	if packets != 0 {
		c.packets.Add(packets)
		c.bytes.Add(bytes)
	}
}

func (c *counters) drop(d Drop) {
	if d != DropNone {
		c.drops[d].Add(1)
	}
}

func (c *counters) snapshot() Stats {
	s := Stats{Packets: c.packets.Load(), Bytes: c.bytes.Load()}
	for i := range c.drops {
		s.Drops[i] = c.drops[i].Load()
	}
	return s
}

package esp

import (
	"encoding/binary"
	"sync"

	"github.com/p2sgw/p2sgw/esp/replay"
)

// Minimum header lengths Open needs to find the length of an inner packet.
const (
	ipv4HeaderLen = 20
	ipv6HeaderLen = 40
)

// Inbound is the receiving half of a CHILD_SA: it opens the ESP packets that carry its SPI
// and guards against replays with a window of replay.WindowSize packets. Build it with
// NewInbound. Its methods are safe for concurrent use.
type Inbound struct {
	s suite

	mu     sync.Mutex // guards window
	window replay.Filter

	ctr counters
}

// NewInbound builds the receiving half of an SA from c. c.Rand is not used.
func NewInbound(c Config) (*Inbound, error) {
	in := new(Inbound)
	if err := in.s.init(&c, false); err != nil {
		return nil, err
	}
	return in, nil
}

// SPI is the SPI this SA accepts.
func (in *Inbound) SPI() uint32 { return in.s.spi }

// Transform is the transform in was built with.
func (in *Inbound) Transform() Transform { return in.s.t }

// Top is the highest sequence number received and authenticated, 0 before the first packet.
func (in *Inbound) Top() uint64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.window.Top()
}

// Stats returns a snapshot of the counters. Bytes counts inner-packet octets.
func (in *Inbound) Stats() Stats { return in.ctr.snapshot() }

// Open authenticates and decrypts the ESP packet pkt (a UDP payload whose first four octets
// are this SA's SPI) in place and returns the inner IP packet, a slice of pkt, and its Next
// Header (4 for IPv4, 41 for IPv6). TFC padding after the inner packet is cut off.
//
// If the packet is dropped Open returns nil, 0 and why, and counts it; pkt may then have
// been overwritten. Open never panics, whatever pkt holds, and allocates nothing.
func (in *Inbound) Open(pkt []byte) (inner []byte, next byte, d Drop) {
	sc := in.s.get()
	inner, next, d = in.open(sc, pkt)
	in.s.put(sc)
	if d != DropNone {
		in.ctr.drop(d)
		return nil, 0, d
	}
	in.ctr.add(1, uint64(len(inner)))
	return inner, next, DropNone
}

// OpenBatch opens every pkts[i] as Open does and sets inner[i] to the inner packet, or to nil
// if it was dropped, and, when drops is not nil, drops[i] to why. It returns how many it
// opened. inner (and drops, if not nil) must be at least as long as pkts.
func (in *Inbound) OpenBatch(pkts [][]byte, inner [][]byte, drops []Drop) int {
	sc := in.s.get()
	var opened, bytes uint64
	for i, pkt := range pkts {
		p, _, d := in.open(sc, pkt)
		inner[i] = p
		if drops != nil {
			drops[i] = d
		}
		if d != DropNone {
			in.ctr.drop(d)
			continue
		}
		opened++
		bytes += uint64(len(p))
	}
	in.s.put(sc)
	in.ctr.add(opened, bytes)
	return int(opened)
}

// open is RFC 4303 §3.4 for tunnel mode: decapsulate, then check the inner packet.
func (in *Inbound) open(sc *scratch, pkt []byte) ([]byte, byte, Drop) {
	payload, next, d := in.decap(sc, pkt)
	if d != DropNone {
		return nil, 0, d
	}
	inner, d := innerPacket(payload, next)
	if d != DropNone {
		return nil, 0, d
	}
	return inner, next, DropNone
}

// decap is the ESP part of Open: length and SPI, the replay check, the ICV and decryption,
// the window update, then the padding. It returns the payload, which is the inner packet
// with any TFC padding, and the Next Header.
func (in *Inbound) decap(sc *scratch, pkt []byte) ([]byte, byte, Drop) {
	s := &in.s
	if len(pkt) < s.minLen {
		return nil, 0, DropShort
	}
	if (len(pkt)-s.hdrLen-s.icvLen)%s.align != 0 && s.aead == nil {
		return nil, 0, DropLength
	}
	if binary.BigEndian.Uint32(pkt) != s.spi {
		return nil, 0, DropSPI
	}
	seq, d := in.check(binary.BigEndian.Uint32(pkt[spiLen:]))
	if d != DropNone {
		return nil, 0, d
	}
	var ok bool
	if s.aead != nil {
		ok = s.openGCM(sc, pkt, seq)
	} else {
		ok = s.openCBC(sc, pkt, seq)
	}
	if !ok {
		return nil, 0, DropAuth
	}
	if d := in.accept(seq); d != DropNone {
		return nil, 0, d
	}
	return parseTrailer(pkt[s.hdrLen : len(pkt)-s.icvLen])
}

// check recovers the full sequence number from the low 32 bits on the wire and checks it
// against the window without recording it (RFC 4303 §3.4.3's preliminary check).
func (in *Inbound) check(lo uint32) (uint64, Drop) {
	in.mu.Lock()
	defer in.mu.Unlock()
	seq := uint64(lo)
	if in.s.t.ESN {
		var ok bool
		if seq, ok = in.window.Extend(lo); !ok {
			return 0, DropTooOld
		}
	}
	return seq, verdictDrop(in.window.Check(seq))
}

// accept records an authenticated sequence number. It can still refuse: another goroutine
// may have accepted the same number, or moved the window past it, since check.
func (in *Inbound) accept(seq uint64) Drop {
	in.mu.Lock()
	defer in.mu.Unlock()
	return verdictDrop(in.window.Accept(seq))
}

func verdictDrop(v replay.Verdict) Drop {
	switch v {
	case replay.Fresh:
		return DropNone
	case replay.Duplicate:
		return DropReplay
	}
	return DropTooOld
}

// parseTrailer checks the padding of the decrypted pt (payload, padding, Pad Length, Next
// Header; at least 2 octets) and returns the payload and the Next Header. The padding must
// be 1, 2, 3, ... (RFC 4303 §2.4); after authentication a wrong one can only be the sender's
// bug, so checking it is no oracle.
func parseTrailer(pt []byte) ([]byte, byte, Drop) {
	next := pt[len(pt)-1]
	pad := int(pt[len(pt)-2])
	n := len(pt) - trailerLen - pad
	if n < 0 {
		return nil, 0, DropPadding
	}
	for i, b := range pt[n : n+pad] {
		if b != byte(i+1) {
			return nil, 0, DropPadding
		}
	}
	return pt[:n], next, DropNone
}

// innerPacket checks that p is the IP packet next says it is, and cuts off any TFC padding
// after it (RFC 4303 §2.4, §3.4.4.1 step 5) by the length in its own header.
func innerPacket(p []byte, next byte) ([]byte, Drop) {
	var n int
	switch next {
	case protoIPv4:
		if len(p) == 0 || p[0]>>4 != 4 {
			return nil, DropNextHeader
		}
		if len(p) < ipv4HeaderLen {
			return nil, DropInner
		}
		n = int(binary.BigEndian.Uint16(p[2:]))
		if n < ipv4HeaderLen {
			return nil, DropInner
		}
	case protoIPv6:
		if len(p) == 0 || p[0]>>4 != 6 {
			return nil, DropNextHeader
		}
		if len(p) < ipv6HeaderLen {
			return nil, DropInner
		}
		n = ipv6HeaderLen + int(binary.BigEndian.Uint16(p[4:]))
	case protoNone:
		return nil, DropDummy
	default:
		return nil, DropNextHeader
	}
	if n > len(p) {
		return nil, DropInner
	}
	return p[:n], DropNone
}

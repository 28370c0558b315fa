package esp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"sync/atomic"
)

// IP protocol numbers of the Next Header field (tunnel mode only).
const (
	protoIPv4 = 4
	protoIPv6 = 41
	protoNone = 59 // "no next header": a dummy packet, RFC 4303 §2.6
)

// Outbound is the sending half of a CHILD_SA: it seals inner IP packets into ESP packets
// under one SPI, one key and one sequence-number counter. Build it with NewOutbound. Its
// methods are safe for concurrent use.
//
// An Outbound and an Inbound are separate values because the two directions share nothing:
// each has its own SPI, keys and state, and during a rekey the old Inbound must keep
// receiving for a while after the new Outbound took over sending.
type Outbound struct {
	s     suite
	ivKey cipher.Block // AES-CBC only: makes the IVs (see the package comment)
	max   uint64       // the last sequence number the SA may use

	seq atomic.Uint64 // the last sequence number used; 0 before the first packet
	ctr counters
}

// NewOutbound builds the sending half of an SA from c. It reads c.Rand (32 octets) for an
// AES-CBC transform and never again.
func NewOutbound(c Config) (*Outbound, error) {
	o := &Outbound{max: math.MaxUint32}
	if err := o.s.init(&c, true); err != nil {
		return nil, err
	}
	if c.Transform.ESN {
		o.max = math.MaxUint64
	}
	if o.s.block != nil {
		r := c.Rand
		if r == nil {
			r = rand.Reader
		}
		var key [32]byte
		if _, err := io.ReadFull(r, key[:]); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrRand, err)
		}
		o.ivKey, _ = aes.NewCipher(key[:]) // cannot fail for a 32-octet key
	}
	return o, nil
}

// SPI is the SPI the packets carry.
func (o *Outbound) SPI() uint32 { return o.s.spi }

// Transform is the transform o was built with.
func (o *Outbound) Transform() Transform { return o.s.t }

// Seq is the last sequence number used, 0 before the first packet.
func (o *Outbound) Seq() uint64 { return o.seq.Load() }

// Remaining is how many more packets o may seal before it is exhausted. The IKE layer
// rekeys well before it reaches 0.
func (o *Outbound) Remaining() uint64 { return o.max - o.seq.Load() }

// Stats returns a snapshot of the counters. Bytes counts inner-packet octets.
func (o *Outbound) Stats() Stats { return o.ctr.snapshot() }

// Seal turns the inner IP packet buf[off:off+n] into an ESP packet in place and returns it:
// buf[off-h : off+n+t], where h is Transform.HeaderLen and t is Transform.TrailerLen(n).
// So buf must have at least h octets before the packet (off >= h; Headroom fits every
// transform) and t octets after it (len(buf)-off-n >= t; Tailroom fits every transform).
// The returned slice's capacity ends where the packet does. Seal writes nothing outside it.
//
// Seal allocates nothing. Its errors are ErrExhausted (the SA must be rekeyed; it stays
// so), ErrNoRoom and ErrNotIP (the caller's bug); each is also counted in Stats.
func (o *Outbound) Seal(buf []byte, off, n int) ([]byte, error) {
	next, pad, err := o.check(buf, off, n)
	if err != nil {
		return nil, err
	}
	seq, got := o.reserve(1)
	if got == 0 {
		o.ctr.drop(DropExhausted)
		return nil, ErrExhausted
	}
	sc := o.s.get()
	pkt := o.seal(sc, buf, off, n, next, pad, seq)
	o.s.put(sc)
	o.ctr.add(1, uint64(n))
	return pkt, nil
}

// SealBatch seals bufs[i][off:off+sizes[i]] for every i as Seal does, and sets out[i] to the
// ESP packet, or to nil if that packet was refused. The packets take consecutive sequence
// numbers in the order of bufs. It returns ErrExhausted if the SA ran out, else the error of
// the first refusal, or nil; every refusal is counted in Stats. sizes and out must be at least as long as bufs (the shape of
// a TUN read).
func (o *Outbound) SealBatch(bufs [][]byte, sizes []int, off int, out [][]byte) error {
	var firstErr error
	// First pass: which packets can be sealed, so that one atomic step reserves exactly
	// their sequence numbers.
	want := uint64(0)
	for i, buf := range bufs {
		out[i] = nil
		if _, _, err := o.check(buf, off, sizes[i]); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		want++
	}
	seq, got := o.reserve(want)
	if got < want {
		o.ctr.drops[DropExhausted].Add(want - got)
		firstErr = ErrExhausted // it outranks a bad packet: the SA needs a rekey
	}
	if got == 0 {
		return firstErr
	}
	sc := o.s.get()
	var sealed, bytes uint64
	for i, buf := range bufs {
		if sealed == got {
			break
		}
		next, pad, err := o.checkQuiet(buf, off, sizes[i])
		if err != nil {
			continue
		}
		out[i] = o.seal(sc, buf, off, sizes[i], next, pad, seq+sealed)
		sealed++
		bytes += uint64(sizes[i])
	}
	o.s.put(sc)
	o.ctr.add(sealed, bytes)
	return firstErr
}

// check validates the arguments of Seal, counts a refusal, and returns the Next Header value
// and the padding length.
func (o *Outbound) check(buf []byte, off, n int) (next byte, pad int, err error) {
	next, pad, err = o.checkQuiet(buf, off, n)
	switch err {
	case ErrNotIP:
		o.ctr.drop(DropNotIP)
	case ErrNoRoom:
		o.ctr.drop(DropNoRoom)
	}
	return next, pad, err
}

func (o *Outbound) checkQuiet(buf []byte, off, n int) (next byte, pad int, err error) {
	if n <= 0 {
		return 0, 0, ErrNotIP
	}
	if off < o.s.hdrLen || off > len(buf) || n > len(buf)-off {
		return 0, 0, ErrNoRoom
	}
	switch buf[off] >> 4 {
	case 4:
		next = protoIPv4
	case 6:
		next = protoIPv6
	default:
		return 0, 0, ErrNotIP
	}
	pad = padLen(n, o.s.align)
	if len(buf)-off-n < pad+trailerLen+o.s.icvLen {
		return 0, 0, ErrNoRoom
	}
	return next, pad, nil
}

// reserve takes up to k consecutive sequence numbers and returns the first and how many it
// got, fewer than k (maybe none) only when the SA runs out. The counter never passes max, so
// it can neither wrap nor be pushed past the end by a large k.
func (o *Outbound) reserve(k uint64) (first, got uint64) {
	for {
		last := o.seq.Load()
		got = min(k, o.max-last)
		if got == 0 {
			return 0, 0
		}
		if o.seq.CompareAndSwap(last, last+got) {
			return last + 1, got
		}
	}
}

// seal writes the ESP packet around buf[off:off+n] with sequence number seq, the arguments
// having passed check.
func (o *Outbound) seal(sc *scratch, buf []byte, off, n int, next byte, pad int, seq uint64) []byte {
	s := &o.s
	end := off + n + pad + trailerLen + s.icvLen
	pkt := buf[off-s.hdrLen : end : end]
	binary.BigEndian.PutUint32(pkt, s.spi)
	binary.BigEndian.PutUint32(pkt[spiLen:], uint32(seq))
	t := buf[off+n:]
	for i := range pad {
		t[i] = byte(i + 1) // RFC 4303 §2.4: 1, 2, 3, ...
	}
	t[pad], t[pad+1] = byte(pad), next
	if s.aead != nil {
		binary.BigEndian.PutUint64(pkt[spiLen+seqLen:], seq) // the explicit IV
		s.sealGCM(sc, pkt, seq)
	} else {
		s.sealCBC(sc, o.ivKey, pkt, seq)
	}
	return pkt
}

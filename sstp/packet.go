package sstp

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The SSTP packet (MS-SSTP §2.2.1):
//
//	                     1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Version    |  Reserved   |C|   R   |        Length         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                      Data (Length - 4)                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Length counts the whole packet. Reserved and R are written as zero and ignored on receipt.
// A data packet (C=0) carries one PPP frame with no HDLC framing; a control packet (C=1)
// carries a control message (control.go).

const (
	// Version is SSTP 1.0, the only version there is.
	Version = 0x10
	// HeaderLen is the length of the packet header.
	HeaderLen = 4
	// MaxPacketLen is the largest packet the 12-bit length field can describe.
	MaxPacketLen = 0xfff
	// MaxFrameLen is the largest PPP frame a data packet carries; it is the MRU Windows
	// proposes (§3.1.5.2).
	MaxFrameLen = MaxPacketLen - HeaderLen

	flagControl = 0x01
	lengthMask  = 0x0fff
)

// Packet is one SSTP packet. Data is the PPP frame of a data packet, or the control message
// of a control packet (see ParseControl and ControlMessage.Append).
type Packet struct {
	Control bool
	Data    []byte
}

// ReadPacket reads one packet from r. Data is a new slice the caller owns. It refuses a
// version other than 0x10 and a length below HeaderLen with an error wrapping ErrMalformed;
// a stream that ends inside a packet gives io.ErrUnexpectedEOF, one that ends between packets
// io.EOF. It never panics.
func ReadPacket(r *bufio.Reader) (Packet, error) {
	pkt, err := peekPacket(r)
	if err != nil {
		return Packet{}, err
	}
	p := Packet{Control: pkt[1]&flagControl != 0, Data: append([]byte{}, pkt[HeaderLen:]...)}
	_, _ = r.Discard(len(pkt)) // peeked, so it cannot fail
	return p, nil
}

// peekPacket returns the next packet, header included, without consuming it: pkt aliases
// r's buffer and is valid until the next call on r; the caller discards len(pkt) bytes.
// Because nothing is consumed on error, a read deadline that expires half-way through a
// packet loses nothing: the next call starts over from the same header.
func peekPacket(r *bufio.Reader) (pkt []byte, err error) {
	h, err := r.Peek(HeaderLen)
	if err != nil {
		if len(h) > 0 && err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if h[0] != Version {
		return nil, fmt.Errorf("sstp: read packet: version %#02x: %w", h[0], ErrMalformed)
	}
	n := int(binary.BigEndian.Uint16(h[2:]) & lengthMask)
	if n < HeaderLen {
		return nil, fmt.Errorf("sstp: read packet: length %d: %w", n, ErrMalformed)
	}
	b, err := r.Peek(n)
	if err != nil {
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			err = fmt.Errorf("sstp: read packet: reader buffer of %d bytes is smaller than a packet", r.Size())
		case err == io.EOF:
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

// AppendPacket appends p, header first, to b. It returns an error wrapping ErrTooLarge if
// the packet would be longer than MaxPacketLen, and then b unchanged.
func AppendPacket(b []byte, p Packet) ([]byte, error) {
	if len(p.Data) > MaxFrameLen {
		return b, fmt.Errorf("sstp: append packet: %d bytes of data: %w", len(p.Data), ErrTooLarge)
	}
	return append(appendHeader(b, p.Control, len(p.Data)), p.Data...), nil
}

// appendHeader appends a packet header for dataLen bytes of data, which must be at most
// MaxFrameLen.
func appendHeader(b []byte, control bool, dataLen int) []byte {
	var c byte
	if control {
		c = flagControl
	}
	return append(b, Version, c, byte((HeaderLen+dataLen)>>8), byte(HeaderLen+dataLen))
}

// IsControlFrame reports whether a PPP frame is a control frame: its protocol field, after an
// optional FF 03 address and control field, is a valid two-byte PPP protocol (first byte
// even, second odd, RFC 1661 §2) of at least 0x8000 (LCP, authentication, the NCPs). Anything
// else, including a frame too short to hold a protocol field and one whose protocol field was
// compressed to one byte (PFC), counts as data.
//
// This is the check that keeps PPP data frames out until the crypto binding is verified, so
// the PPP layer must read the protocol field the same way: two bytes, after an optional FF 03.
func IsControlFrame(frame []byte) bool {
	if len(frame) >= 2 && frame[0] == 0xff && frame[1] == 0x03 {
		frame = frame[2:]
	}
	return len(frame) >= 2 && frame[0] >= 0x80 && frame[0]&1 == 0 && frame[1]&1 == 1
}

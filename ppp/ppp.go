// Package ppp is a user-space PPP (RFC 1661) for SSTP: the server side of one link — LCP,
// authentication (PAP, MS-CHAPv2, EAP), IPCP — and a small client for tests. Frames arrive and
// leave as whole byte slices, as SSTP carries them: there is no HDLC framing, FCS or escaping.
// It does no I/O and starts no goroutines: the caller feeds frames to Input, sends what the send
// function is given, and calls Tick for the timers.
//
// It is not a general PPP: no multilink, no compression, no MPPE (SSTP's TLS protects the link),
// no IPv6 (IPv6CP is refused with a Protocol-Reject), and no async framing.
package ppp

import (
	"encoding/binary"
	"fmt"
)

// PPP protocol numbers.
const (
	ProtoLCP    = 0xC021
	ProtoPAP    = 0xC023
	ProtoCHAP   = 0xC223
	ProtoEAP    = 0xC227
	ProtoIPCP   = 0x8021
	ProtoIPv6CP = 0x8057
	ProtoCCP    = 0x80FD
	ProtoIPv4   = 0x0021
	ProtoIPv6   = 0x0057
)

const (
	addrControl = 0xFF03 // HDLC address and control, optional on SSTP
	frameHeader = 4      // address, control and a 2-octet protocol
	cpHeader    = 4      // code, identifier, length of a control packet
	optHeader   = 2      // type and length of an option
)

// SplitFrame takes a PPP frame apart: it strips the optional FF 03 and returns the protocol
// and the payload, which aliases frame. A compressed (1-octet) protocol field is an error: we
// refuse Protocol-Field-Compression.
func SplitFrame(frame []byte) (proto uint16, payload []byte, err error) {
	if len(frame) >= 2 && binary.BigEndian.Uint16(frame) == addrControl {
		frame = frame[2:]
	}
	if len(frame) < 2 {
		return 0, nil, fmt.Errorf("%w: frame of %d octets", ErrMalformed, len(frame))
	}
	proto = binary.BigEndian.Uint16(frame)
	if proto&0x0100 != 0 || proto&1 == 0 {
		// RFC 1661 §2: the low octet is odd, the high octet even.
		return 0, nil, fmt.Errorf("%w: protocol field %#04x", ErrMalformed, proto)
	}
	return proto, frame[2:], nil
}

// AppendFrame appends a frame — FF 03, the protocol, the payload — to b.
func AppendFrame(b []byte, proto uint16, payload []byte) []byte {
	b = append(b, 0xFF, 0x03, byte(proto>>8), byte(proto))
	return append(b, payload...)
}

// packet is a control packet of LCP, IPCP, PAP, CHAP or EAP: code, identifier and data (data
// aliases the frame it came from).
type packet struct {
	code uint8
	id   uint8
	data []byte
}

// parsePacket decodes a control packet; octets past its length are padding (RFC 1661 §5).
func parsePacket(b []byte) (packet, error) {
	if len(b) < cpHeader {
		return packet{}, fmt.Errorf("%w: control packet of %d octets", ErrMalformed, len(b))
	}
	n := int(binary.BigEndian.Uint16(b[2:]))
	if n < cpHeader || n > len(b) {
		return packet{}, fmt.Errorf("%w: control packet length %d of %d", ErrMalformed, n, len(b))
	}
	return packet{code: b[0], id: b[1], data: b[cpHeader:n]}, nil
}

// appendPacket appends a framed control packet to b.
func appendPacket(b []byte, proto uint16, p packet) []byte {
	n := cpHeader + len(p.data)
	b = append(b, 0xFF, 0x03, byte(proto>>8), byte(proto))
	b = append(b, p.code, p.id, byte(n>>8), byte(n))
	return append(b, p.data...)
}

// option is one configuration option (RFC 1661 §6); data aliases the packet.
type option struct {
	typ  uint8
	data []byte
}

// maxOptions bounds the options we take from one packet: a real peer sends fewer than 10.
const maxOptions = 64

// parseOptions decodes a Configure packet's options; any option that overruns the packet or is
// shorter than its header makes the whole packet malformed (RFC 1661 leaves such a packet to
// be discarded).
func parseOptions(b []byte) ([]option, error) {
	var opts []option
	for len(b) > 0 {
		if len(b) < optHeader {
			return nil, fmt.Errorf("%w: truncated option", ErrMalformed)
		}
		n := int(b[1])
		if n < optHeader || n > len(b) {
			return nil, fmt.Errorf("%w: option %d of length %d in %d octets", ErrMalformed, b[0], n, len(b))
		}
		if len(opts) == maxOptions {
			return nil, fmt.Errorf("%w: over %d options", ErrMalformed, maxOptions)
		}
		opts = append(opts, option{typ: b[0], data: b[optHeader:n]})
		b = b[n:]
	}
	return opts, nil
}

// appendOption appends one option; data is at most 253 octets.
func appendOption(b []byte, typ uint8, data ...byte) []byte {
	b = append(b, typ, byte(optHeader+len(data)))
	return append(b, data...)
}

func appendOptions(b []byte, opts []option) []byte {
	for _, o := range opts {
		b = appendOption(b, o.typ, o.data...)
	}
	return b
}

// Package eap is the server side of EAP (RFC 3748) as the gateway needs it inside IKEv2 (and,
// later, PPP): the packet codec, the Identity exchange and EAP-TLS (RFC 5216) terminated by the
// gateway itself with Go's crypto/tls, so certificate users on Windows' EAP-TLS profile connect
// without RADIUS. It does no I/O: the caller passes each EAP response in and sends each
// request out.
package eap

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Codes and types.
const (
	CodeRequest  = 1
	CodeResponse = 2
	CodeSuccess  = 3
	CodeFailure  = 4

	TypeIdentity = 1
	TypeNak      = 3
	TypeTLS      = 13

	headerLen = 4
)

// EAP-TLS flags (RFC 5216 §3.1).
const (
	flagLength = 0x80 // the TLS message length follows
	flagMore   = 0x40 // more fragments follow
	flagStart  = 0x20 // EAP-TLS start
)

// ErrMalformed is returned for a packet that cannot be an EAP packet.
var ErrMalformed = errors.New("eap: malformed packet")

// Packet is one EAP packet.
type Packet struct {
	Code       uint8
	Identifier uint8
	Type       uint8 // requests and responses only
	Data       []byte
}

// Parse decodes an EAP packet; it never panics.
func Parse(b []byte) (Packet, error) {
	if len(b) < headerLen {
		return Packet{}, fmt.Errorf("%w: %d octets", ErrMalformed, len(b))
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n < headerLen || n > len(b) {
		return Packet{}, fmt.Errorf("%w: length %d of %d", ErrMalformed, n, len(b))
	}
	p := Packet{Code: b[0], Identifier: b[1]}
	if p.Code == CodeRequest || p.Code == CodeResponse {
		if n < headerLen+1 {
			return Packet{}, fmt.Errorf("%w: no type", ErrMalformed)
		}
		p.Type = b[4]
		p.Data = append([]byte(nil), b[5:n]...)
	}
	return p, nil
}

// Bytes encodes the packet.
func (p Packet) Bytes() []byte {
	n := headerLen
	if p.Code == CodeRequest || p.Code == CodeResponse {
		n += 1 + len(p.Data)
	}
	b := make([]byte, 0, n)
	b = append(b, p.Code, p.Identifier, byte(n>>8), byte(n))
	if p.Code == CodeRequest || p.Code == CodeResponse {
		b = append(b, p.Type)
		b = append(b, p.Data...)
	}
	return b
}

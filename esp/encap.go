package esp

import "encoding/binary"

// UDP encapsulation (RFC 3948 §2): on UDP port 4500 one socket carries three kinds of
// datagram, told apart by their first octets:
//
//	NAT-keepalive   a single octet 0xFF                      (RFC 3948 §2.3)
//	IKE             4 zero octets (the non-ESP marker), then  (RFC 3948 §2.2)
//	                the IKE message
//	ESP             the ESP packet itself; its first 4        (RFC 3948 §2.1)
//	                octets are the SPI, never zero
//
// On port 500 IKE has no marker; these helpers are for port 4500 only.

// Kind is what a datagram received on UDP port 4500 carries.
type Kind uint8

const (
	// KindInvalid: too short to be IKE or ESP and not a keepalive; drop it.
	KindInvalid Kind = iota
	// KindKeepalive: a NAT-keepalive, which the receiver ignores (RFC 3948 §2.3).
	KindKeepalive
	// KindIKE: an IKE message behind the non-ESP marker; IKEMessage strips the marker.
	KindIKE
	// KindESP: an ESP packet; SPI finds its SA.
	KindESP
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindKeepalive:
		return "keepalive"
	case KindIKE:
		return "ike"
	case KindESP:
		return "esp"
	}
	return "kind(?)"
}

const (
	// NonESPMarkerLen is the length of the non-ESP marker, four zero octets.
	NonESPMarkerLen = 4
	// KeepaliveByte is the one octet of a NAT-keepalive datagram.
	KeepaliveByte = 0xFF
)

// Classify tells what the UDP payload d received on port 4500 carries. It only looks at
// the first octets: an ESP packet too short for its SA is left for Inbound.Open to drop.
func Classify(d []byte) Kind {
	switch {
	case len(d) == 1 && d[0] == KeepaliveByte:
		return KindKeepalive
	case len(d) < NonESPMarkerLen:
		return KindInvalid
	case binary.BigEndian.Uint32(d) == 0:
		return KindIKE
	}
	return KindESP
}

// SPI returns the SPI of the ESP packet d, for finding its Inbound. ok is false if d is
// not an ESP packet (see Classify).
func SPI(d []byte) (spi uint32, ok bool) {
	if Classify(d) != KindESP {
		return 0, false
	}
	return binary.BigEndian.Uint32(d), true
}

// IKEMessage returns the IKE message in the port-4500 datagram d, without the non-ESP
// marker, as a slice of d. ok is false if d is not IKE (see Classify).
func IKEMessage(d []byte) (msg []byte, ok bool) {
	if Classify(d) != KindIKE {
		return nil, false
	}
	return d[NonESPMarkerLen:], true
}

// AppendMarker appends the non-ESP marker to dst; the IKE message to send on port 4500
// is then appended after it.
func AppendMarker(dst []byte) []byte { return append(dst, 0, 0, 0, 0) }

// AppendKeepalive appends a NAT-keepalive datagram to dst.
func AppendKeepalive(dst []byte) []byte { return append(dst, KeepaliveByte) }

package message

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// The IKE header (RFC 7296 §3.1, Figure 4):
//
//	                     1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       IKE SA Initiator's SPI                  |
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       IKE SA Responder's SPI                  |
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                          Message ID                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                            Length                             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Flags: |X|X|R|V|I|X|X|X| — R (response) 0x20, V (version) 0x10, I (initiator) 0x08.

// HeaderLen is the length of the IKE header.
const HeaderLen = 28

// MajorVersion is the only IKE major version this package reads and writes.
const MajorVersion = 2

const (
	offNextPayload = 16
	offVersion     = 17
	offExchange    = 18
	offFlags       = 19
	offMessageID   = 20
	offLength      = 24
)

// Flags are the IKE header flags.
type Flags uint8

// Header flags. Bits other than these are kept as received and written back as given.
const (
	FlagInitiator Flags = 0x08 // sent by the original initiator of the IKE SA
	FlagVersion   Flags = 0x10 // the sender could speak a higher major version
	FlagResponse  Flags = 0x20 // the message is a response
)

func (f Flags) String() string {
	var parts []string
	for _, n := range []struct {
		f    Flags
		name string
	}{{FlagInitiator, "I"}, {FlagVersion, "V"}, {FlagResponse, "R"}} {
		if f&n.f != 0 {
			parts = append(parts, n.name)
			f &^= n.f
		}
	}
	if f != 0 || len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("%#02x", uint8(f)))
	}
	return strings.Join(parts, "|")
}

// Header is the IKE header. Its zero value is version 2.0 with no flags.
type Header struct {
	SPIi uint64 // the initiator's SPI
	SPIr uint64 // the responder's SPI; zero in the first IKE_SA_INIT request
	// NextPayload is the type of the first payload. Decoders set it; Message.Append and the SK
	// header encoders derive it and ignore this field.
	NextPayload PayloadType
	// MinorVersion is received as sent and must be ignored (RFC 7296 §2.5); write 0.
	MinorVersion uint8
	Exchange     ExchangeType
	Flags        Flags
	MessageID    uint32
	// Length is the whole message's length. Decoders set it; encoders compute it and ignore
	// this field, except AppendHeader, which writes every field as it is.
	Length uint32
}

// IsResponse reports whether the R flag is set.
func (h *Header) IsResponse() bool { return h.Flags&FlagResponse != 0 }

// IsInitiator reports whether the I flag is set: the sender is the IKE SA's original initiator.
func (h *Header) IsInitiator() bool { return h.Flags&FlagInitiator != 0 }

// DecodeHeader reads the IKE header at the start of datagram and checks it against the
// datagram: major version 2, Length at least HeaderLen, at most MaxMessageLen and equal to
// len(datagram). It does not look at the payloads.
//
// On a wrong major version it returns the header it read together with an error wrapping
// ErrUnsupportedVersion, so the caller can answer INVALID_MAJOR_VERSION with the right SPIs
// and message ID. On any other error the header is the zero value.
func DecodeHeader(datagram []byte) (Header, error) {
	if len(datagram) < HeaderLen {
		return Header{}, fmt.Errorf("ike/message: decode header: %d bytes, need %d: %w", len(datagram), HeaderLen, ErrTruncated)
	}
	b := datagram
	h := Header{
		SPIi:         binary.BigEndian.Uint64(b[0:8]),
		SPIr:         binary.BigEndian.Uint64(b[8:16]),
		NextPayload:  PayloadType(b[offNextPayload]),
		MinorVersion: b[offVersion] & 0x0f,
		Exchange:     ExchangeType(b[offExchange]),
		Flags:        Flags(b[offFlags]),
		MessageID:    binary.BigEndian.Uint32(b[offMessageID:]),
		Length:       binary.BigEndian.Uint32(b[offLength:]),
	}
	if major := b[offVersion] >> 4; major != MajorVersion {
		return h, fmt.Errorf("ike/message: decode header: version %d.%d: %w", major, h.MinorVersion, ErrUnsupportedVersion)
	}
	if err := checkMessageLength(h.Length, len(datagram)); err != nil {
		return Header{}, fmt.Errorf("ike/message: decode header: %w", err)
	}
	return h, nil
}

func checkMessageLength(length uint32, datagram int) error {
	switch {
	case datagram > MaxMessageLen:
		return fmt.Errorf("datagram of %d bytes, limit %d: %w", datagram, MaxMessageLen, ErrTooLarge)
	case length < HeaderLen:
		return fmt.Errorf("length field %d below header length: %w", length, ErrBadLength)
	case length > uint32(datagram):
		return fmt.Errorf("length field %d, datagram %d bytes: %w", length, datagram, ErrTruncated)
	case length < uint32(datagram):
		return fmt.Errorf("length field %d, datagram %d bytes: %w", length, datagram, ErrBadLength)
	}
	return nil
}

// AppendHeader appends h to b exactly as given, Length and NextPayload included, with major
// version 2. Most callers want Message.Append or AppendSKHeader, which fill those two fields.
func AppendHeader(b []byte, h Header) []byte {
	b = binary.BigEndian.AppendUint64(b, h.SPIi)
	b = binary.BigEndian.AppendUint64(b, h.SPIr)
	b = append(b, byte(h.NextPayload), MajorVersion<<4|h.MinorVersion&0x0f, byte(h.Exchange), byte(h.Flags))
	b = binary.BigEndian.AppendUint32(b, h.MessageID)
	return binary.BigEndian.AppendUint32(b, h.Length)
}

// putLength overwrites the Length field of the header at the start of msg.
func putLength(msg []byte, n int) {
	binary.BigEndian.PutUint32(msg[offLength:], uint32(n))
}

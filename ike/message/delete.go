package message

import (
	"encoding/binary"
	"fmt"
)

// The Delete payload (RFC 7296 §3.11, Figure 17):
//
//	                     1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Next Payload  |C|  RESERVED   |         Payload Length        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Protocol ID  |   SPI Size    |          Num of SPIs          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	~               Security Parameter Index(es) (SPI)              ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Deleting the IKE SA: Protocol ID 1, SPI Size 0, no SPIs (the SPIs are in the header).
// Deleting Child SAs: Protocol ID 2 (AH) or 3 (ESP), SPI Size 4, the SPIs the sender expects
// on inbound packets. Any other protocol is refused. The SPI count is bounded by the payload
// length (at most 16383 SPIs, 64 KiB).

const deleteFixedLen = 4

// Delete is a Delete payload.
type Delete struct {
	Protocol ProtocolID
	SPIs     []uint32 // empty for ProtocolIKE
}

func (*Delete) Type() PayloadType { return PayloadDelete }

func decodeDelete(b []byte) (*Delete, error) {
	if len(b) < deleteFixedLen {
		return nil, fmt.Errorf("%d bytes, need %d: %w", len(b), deleteFixedLen, ErrTruncated)
	}
	d := &Delete{Protocol: ProtocolID(b[0])}
	spiLen, count := int(b[1]), int(binary.BigEndian.Uint16(b[2:4]))
	b = b[deleteFixedLen:]
	if err := checkDeleteSPI(d.Protocol, spiLen, count); err != nil {
		return nil, err
	}
	if len(b) != spiLen*count {
		return nil, fmt.Errorf("%d SPIs of %d bytes in %d bytes: %w", count, spiLen, len(b), ErrBadLength)
	}
	if count > 0 {
		d.SPIs = make([]uint32, count)
		for i := range d.SPIs {
			d.SPIs[i] = binary.BigEndian.Uint32(b[i*childSPILen:])
		}
	}
	return d, nil
}

func checkDeleteSPI(proto ProtocolID, spiLen, count int) error {
	switch proto {
	case ProtocolIKE:
		if spiLen != 0 || count != 0 {
			return fmt.Errorf("IKE SA delete with %d SPIs of %d bytes: %w", count, spiLen, ErrSyntax)
		}
	case ProtocolAH, ProtocolESP:
		if spiLen != childSPILen {
			return fmt.Errorf("%v delete with SPIs of %d bytes: %w", proto, spiLen, ErrSyntax)
		}
	default:
		return fmt.Errorf("delete for protocol %v: %w", proto, ErrSyntax)
	}
	return nil
}

func (p *Delete) AppendBody(b []byte) ([]byte, error) {
	spiLen := childSPILen
	if p.Protocol == ProtocolIKE {
		spiLen = 0
	}
	if len(p.SPIs) > 0xffff {
		return b, fmt.Errorf("%d SPIs: %w", len(p.SPIs), ErrTooMany)
	}
	if err := checkDeleteSPI(p.Protocol, spiLen, len(p.SPIs)); err != nil {
		return b, err
	}
	b = append(b, byte(p.Protocol), byte(spiLen))
	b = binary.BigEndian.AppendUint16(b, uint16(len(p.SPIs)))
	for _, spi := range p.SPIs {
		b = binary.BigEndian.AppendUint32(b, spi)
	}
	return b, nil
}

package message

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// The Traffic Selector payloads TSi and TSr (RFC 7296 §3.13, Figure 19):
//
//	                     1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Next Payload  |C|  RESERVED   |         Payload Length        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Number of TSs |                 RESERVED                      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	~                       <Traffic Selectors>                     ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Each traffic selector (§3.13.1, Figure 20):
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   TS Type     |IP Protocol ID*|       Selector Length         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           Start Port*         |           End Port*           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	~                         Starting Address*                     ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	~                         Ending Address*                       ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Only TS_IPV4_ADDR_RANGE (Selector Length 16) and TS_IPV6_ADDR_RANGE (40) exist for IP; a
// selector of another type has no layout this package knows, and is refused. Start Port may
// exceed End Port: 65535–0 means OPAQUE ports (§3.13.1), so ranges are not ordered here.

const (
	tsFixedLen       = 4
	selectorFixedLen = 8
	selectorIPv4Len  = selectorFixedLen + 2*ipv4Len
	selectorIPv6Len  = selectorFixedLen + 2*ipv6Len
)

// Selector is one traffic selector: an address range, an IP protocol (0 = any) and a port
// range (0–65535 = any).
type Selector struct {
	Type       TSType
	IPProtocol uint8
	StartPort  uint16
	EndPort    uint16
	StartAddr  netip.Addr // IPv4 for TSIPv4AddrRange, IPv6 for TSIPv6AddrRange
	EndAddr    netip.Addr
}

// TSi is the initiator's Traffic Selector payload.
type TSi struct {
	Selectors []Selector // 1 to MaxSelectors
}

// TSr is the responder's Traffic Selector payload; it has TSi's layout.
type TSr TSi

func (*TSi) Type() PayloadType { return PayloadTSi }
func (*TSr) Type() PayloadType { return PayloadTSr }

func (p *TSi) AppendBody(b []byte) ([]byte, error) { return appendSelectors(b, p.Selectors) }
func (p *TSr) AppendBody(b []byte) ([]byte, error) { return appendSelectors(b, p.Selectors) }

func decodeTSi(b []byte) (*TSi, error) {
	s, err := decodeSelectors(b)
	return &TSi{Selectors: s}, err
}

func decodeTSr(b []byte) (*TSr, error) {
	s, err := decodeSelectors(b)
	return &TSr{Selectors: s}, err
}

func decodeSelectors(b []byte) ([]Selector, error) {
	if len(b) < tsFixedLen {
		return nil, fmt.Errorf("%d bytes, need %d: %w", len(b), tsFixedLen, ErrTruncated)
	}
	count := int(b[0])
	if count == 0 {
		return nil, fmt.Errorf("no traffic selector: %w", ErrSyntax)
	}
	b = b[tsFixedLen:]
	sel := make([]Selector, 0, min(count, len(b)/selectorIPv4Len))
	for i := 0; len(b) > 0; i++ {
		if i == count {
			return nil, fmt.Errorf("%d bytes after the %d announced selectors: %w", len(b), count, ErrBadLength)
		}
		s, n, err := decodeSelector(b)
		if err != nil {
			return nil, fmt.Errorf("selector %d: %w", i+1, err)
		}
		sel = append(sel, s)
		b = b[n:]
	}
	if len(sel) != count {
		return nil, fmt.Errorf("announces %d selectors, carries %d: %w", count, len(sel), ErrTruncated)
	}
	return sel, nil
}

func decodeSelector(b []byte) (Selector, int, error) {
	if len(b) < selectorFixedLen {
		return Selector{}, 0, fmt.Errorf("header: %w", ErrTruncated)
	}
	s := Selector{
		Type:       TSType(b[0]),
		IPProtocol: b[1],
		StartPort:  binary.BigEndian.Uint16(b[4:6]),
		EndPort:    binary.BigEndian.Uint16(b[6:8]),
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	want, err := selectorLen(s.Type)
	if err != nil {
		return Selector{}, 0, err
	}
	if n != want {
		return Selector{}, 0, fmt.Errorf("%v of length %d, want %d: %w", s.Type, n, want, ErrBadLength)
	}
	if len(b) < n {
		return Selector{}, 0, fmt.Errorf("%v: %w", s.Type, ErrTruncated)
	}
	addrLen := (n - selectorFixedLen) / 2
	s.StartAddr, _ = netip.AddrFromSlice(b[selectorFixedLen : selectorFixedLen+addrLen])
	s.EndAddr, _ = netip.AddrFromSlice(b[selectorFixedLen+addrLen : n])
	return s, n, nil
}

func selectorLen(t TSType) (int, error) {
	switch t {
	case TSIPv4AddrRange:
		return selectorIPv4Len, nil
	case TSIPv6AddrRange:
		return selectorIPv6Len, nil
	}
	return 0, fmt.Errorf("traffic selector type %v: %w", t, ErrSyntax)
}

func appendSelectors(b []byte, sel []Selector) ([]byte, error) {
	if len(sel) == 0 {
		return b, fmt.Errorf("no traffic selector: %w", ErrSyntax)
	}
	if len(sel) > MaxSelectors {
		return b, fmt.Errorf("%d selectors, limit %d: %w", len(sel), MaxSelectors, ErrTooMany)
	}
	b = append(b, byte(len(sel)), 0, 0, 0)
	for i, s := range sel {
		n, err := selectorLen(s.Type)
		if err != nil {
			return b, fmt.Errorf("selector %d: %w", i+1, err)
		}
		is4 := s.Type == TSIPv4AddrRange
		if !fitsSelector(s.StartAddr, is4) || !fitsSelector(s.EndAddr, is4) {
			return b, fmt.Errorf("selector %d: %v with addresses %v–%v: %w", i+1, s.Type, s.StartAddr, s.EndAddr, ErrSyntax)
		}
		b = append(b, byte(s.Type), s.IPProtocol)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
		b = binary.BigEndian.AppendUint16(b, s.StartPort)
		b = binary.BigEndian.AppendUint16(b, s.EndPort)
		b = append(b, s.StartAddr.AsSlice()...)
		b = append(b, s.EndAddr.AsSlice()...)
	}
	return b, nil
}

// fitsSelector reports whether a is an address of the selector's family, without a zone,
// which the wire format cannot carry.
func fitsSelector(a netip.Addr, is4 bool) bool {
	return a.IsValid() && a.Is4() == is4 && a.Zone() == ""
}

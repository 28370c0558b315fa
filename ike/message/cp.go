package message

import (
	"encoding/binary"
	"fmt"
)

// The Configuration payload (RFC 7296 §3.15, Figure 22):
//
//	                     1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Next Payload  |C| RESERVED    |         Payload Length        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   CFG Type    |                    RESERVED                   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	~                   Configuration Attributes                    ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Each configuration attribute (§3.15.1, Figure 23):
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|R|         Attribute Type      |            Length             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                                                               |
//	~                             Value                             ~
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The R bit is reserved (sent 0, ignored). A request names attributes with empty values (or
// with a hint); a reply fills them. The value lengths the RFC fixes (§3.15.1's table) are
// enforced both ways; other types are carried as they come.

const (
	cpFixedLen        = 4
	cpAttrHeaderLen   = 4
	cpAttrReservedBit = 0x8000
)

// CP is a Configuration payload.
type CP struct {
	CFGType    CPType
	Attributes []CPAttribute // at most MaxCPAttributes
}

// CPAttribute is one configuration attribute.
type CPAttribute struct {
	Type  CPAttrType // 15 bits
	Value []byte
}

func (*CP) Type() PayloadType { return PayloadCP }

// cpValueLens lists the value lengths RFC 7296 §3.15.1 allows per attribute type (and RFC
// 8598 for INTERNAL_DNS_DOMAIN, which only needs a name). Multiples of 2 for
// SUPPORTED_ATTRIBUTES are checked apart.
var cpValueLens = map[CPAttrType][]int{
	CPInternalIP4Address: {0, 4},
	CPInternalIP4Netmask: {0, 4},
	CPInternalIP4DNS:     {0, 4},
	CPInternalIP4NBNS:    {0, 4},
	CPInternalIP4DHCP:    {0, 4},
	CPInternalIP6Address: {0, 17},
	CPInternalIP6DNS:     {0, 16},
	CPInternalIP6DHCP:    {0, 16},
	CPInternalIP4Subnet:  {0, 8},
	CPInternalIP6Subnet:  {0, 17},
}

func checkCPValue(t CPAttrType, n int) error {
	if t == CPSupportedAttributes && n%2 != 0 {
		return fmt.Errorf("%v of %d bytes, not a multiple of 2: %w", t, n, ErrBadLength)
	}
	lens, ok := cpValueLens[t]
	if !ok {
		return nil
	}
	for _, l := range lens {
		if n == l {
			return nil
		}
	}
	return fmt.Errorf("%v of %d bytes, want one of %v: %w", t, n, lens, ErrBadLength)
}

func decodeCP(b []byte) (*CP, error) {
	if len(b) < cpFixedLen {
		return nil, fmt.Errorf("%d bytes, need %d: %w", len(b), cpFixedLen, ErrTruncated)
	}
	cp := &CP{CFGType: CPType(b[0])}
	b = b[cpFixedLen:]
	for i := 0; len(b) > 0; i++ {
		if i == MaxCPAttributes {
			return nil, fmt.Errorf("more than %d attributes: %w", MaxCPAttributes, ErrTooMany)
		}
		if len(b) < cpAttrHeaderLen {
			return nil, fmt.Errorf("attribute %d: header: %w", i+1, ErrTruncated)
		}
		t := CPAttrType(binary.BigEndian.Uint16(b[0:2]) &^ cpAttrReservedBit)
		n := int(binary.BigEndian.Uint16(b[2:4]))
		if len(b)-cpAttrHeaderLen < n {
			return nil, fmt.Errorf("attribute %d, %v of %d bytes: %w", i+1, t, n, ErrTruncated)
		}
		if err := checkCPValue(t, n); err != nil {
			return nil, fmt.Errorf("attribute %d: %w", i+1, err)
		}
		cp.Attributes = append(cp.Attributes, CPAttribute{Type: t, Value: clip(b[cpAttrHeaderLen : cpAttrHeaderLen+n])})
		b = b[cpAttrHeaderLen+n:]
	}
	return cp, nil
}

func (p *CP) AppendBody(b []byte) ([]byte, error) {
	if len(p.Attributes) > MaxCPAttributes {
		return b, fmt.Errorf("%d attributes, limit %d: %w", len(p.Attributes), MaxCPAttributes, ErrTooMany)
	}
	b = append(b, byte(p.CFGType), 0, 0, 0)
	for i, a := range p.Attributes {
		if a.Type&cpAttrReservedBit != 0 {
			return b, fmt.Errorf("attribute %d: type %d does not fit 15 bits: %w", i+1, a.Type, ErrSyntax)
		}
		if len(a.Value) > maxPayloadLen {
			return b, fmt.Errorf("attribute %d: %w", i+1, ErrTooLarge)
		}
		if err := checkCPValue(a.Type, len(a.Value)); err != nil {
			return b, fmt.Errorf("attribute %d: %w", i+1, err)
		}
		b = binary.BigEndian.AppendUint16(b, uint16(a.Type))
		b = binary.BigEndian.AppendUint16(b, uint16(len(a.Value)))
		b = append(b, a.Value...)
	}
	return b, nil
}

// Attribute returns the first attribute of type t, and whether there is one.
func (p *CP) Attribute(t CPAttrType) (CPAttribute, bool) {
	for _, a := range p.Attributes {
		if a.Type == t {
			return a, true
		}
	}
	return CPAttribute{}, false
}

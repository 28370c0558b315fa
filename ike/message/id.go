package message

import "fmt"

// The Identification payloads IDi and IDr (RFC 7296 §3.5, Figure 11):
//
//	                     1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Next Payload  |C|  RESERVED   |         Payload Length        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   ID Type     |                 RESERVED                      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	~                   Identification Data                         ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The body (ID Type, RESERVED and data) is what the AUTH payload signs as RestOfInitIDPayload
// or RestOfRespIDPayload (§2.15): AppendBody(nil) returns it. An ID_IPV4_ADDR is 4 bytes, an
// ID_IPV6_ADDR 16; the other types are carried as they come.

const (
	idFixedLen = 4
	ipv4Len    = 4
	ipv6Len    = 16
)

// IDi is the initiator's Identification payload.
type IDi struct {
	IDType IDType
	Data   []byte
}

// IDr is the responder's Identification payload; it has IDi's layout.
type IDr IDi

func (*IDi) Type() PayloadType { return PayloadIDi }
func (*IDr) Type() PayloadType { return PayloadIDr }

func (p *IDi) AppendBody(b []byte) ([]byte, error) { return appendID(b, p.IDType, p.Data) }
func (p *IDr) AppendBody(b []byte) ([]byte, error) { return appendID(b, p.IDType, p.Data) }

func decodeIDi(b []byte) (*IDi, error) {
	t, data, err := decodeID(b)
	return &IDi{IDType: t, Data: data}, err
}

func decodeIDr(b []byte) (*IDr, error) {
	t, data, err := decodeID(b)
	return &IDr{IDType: t, Data: data}, err
}

func decodeID(b []byte) (IDType, []byte, error) {
	if len(b) < idFixedLen {
		return 0, nil, fmt.Errorf("%d bytes, need %d: %w", len(b), idFixedLen, ErrTruncated)
	}
	t, data := IDType(b[0]), clip(b[idFixedLen:])
	return t, data, checkIDLen(t, data)
}

func checkIDLen(t IDType, data []byte) error {
	switch {
	case t == IDIPv4Addr && len(data) != ipv4Len, t == IDIPv6Addr && len(data) != ipv6Len:
		return fmt.Errorf("%v of %d bytes: %w", t, len(data), ErrBadLength)
	}
	return nil
}

func appendID(b []byte, t IDType, data []byte) ([]byte, error) {
	if err := checkIDLen(t, data); err != nil {
		return b, err
	}
	return append(append(b, byte(t), 0, 0, 0), data...), nil
}

package sstp

import (
	"encoding/binary"
	"fmt"
)

// The control message, the Data of a control packet (§2.2.2), and its attributes (§2.2.4):
//
//	                     1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Message Type          |        Num Attributes         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Reserved    | Attribute ID  |   R   |        Length         |  one attribute
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                     Value (Length - 4)                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

const (
	controlHeaderLen   = 4
	attributeHeaderLen = 4
)

// MessageType is a control message type (§2.2.2).
type MessageType uint16

// Control message types.
const (
	MsgCallConnectRequest MessageType = 1
	MsgCallConnectAck     MessageType = 2
	MsgCallConnectNak     MessageType = 3
	MsgCallConnected      MessageType = 4
	MsgCallAbort          MessageType = 5
	MsgCallDisconnect     MessageType = 6
	MsgCallDisconnectAck  MessageType = 7
	MsgEchoRequest        MessageType = 8
	MsgEchoResponse       MessageType = 9
)

var messageTypeNames = [...]string{
	MsgCallConnectRequest: "CALL_CONNECT_REQUEST",
	MsgCallConnectAck:     "CALL_CONNECT_ACK",
	MsgCallConnectNak:     "CALL_CONNECT_NAK",
	MsgCallConnected:      "CALL_CONNECTED",
	MsgCallAbort:          "CALL_ABORT",
	MsgCallDisconnect:     "CALL_DISCONNECT",
	MsgCallDisconnectAck:  "CALL_DISCONNECT_ACK",
	MsgEchoRequest:        "ECHO_REQUEST",
	MsgEchoResponse:       "ECHO_RESPONSE",
}

func (t MessageType) String() string {
	if int(t) < len(messageTypeNames) && messageTypeNames[t] != "" {
		return messageTypeNames[t]
	}
	return fmt.Sprintf("MessageType(%d)", uint16(t))
}

// AttributeID is an attribute type (§2.2.4). AttrNoError appears only as the AttribID of a
// Status Info attribute.
type AttributeID uint8

// Attribute IDs.
const (
	AttrNoError                AttributeID = 0
	AttrEncapsulatedProtocolID AttributeID = 1
	AttrStatusInfo             AttributeID = 2
	AttrCryptoBinding          AttributeID = 3
	AttrCryptoBindingReq       AttributeID = 4
)

var attributeNames = [...]string{
	AttrNoError:                "NO_ERROR",
	AttrEncapsulatedProtocolID: "ENCAPSULATED_PROTOCOL_ID",
	AttrStatusInfo:             "STATUS_INFO",
	AttrCryptoBinding:          "CRYPTO_BINDING",
	AttrCryptoBindingReq:       "CRYPTO_BINDING_REQ",
}

func (a AttributeID) String() string {
	if int(a) < len(attributeNames) {
		return attributeNames[a]
	}
	return fmt.Sprintf("AttributeID(%d)", uint8(a))
}

// Status is the reason in a Status Info attribute (§2.2.8).
type Status uint32

// Status values.
const (
	StatusNoError                     Status = 0x0
	StatusDuplicateAttribute          Status = 0x1
	StatusUnrecognizedAttribute       Status = 0x2
	StatusInvalidAttribValueLength    Status = 0x3
	StatusValueNotSupported           Status = 0x4
	StatusUnacceptedFrameReceived     Status = 0x5
	StatusRetryCountExceeded          Status = 0x6
	StatusInvalidFrameReceived        Status = 0x7
	StatusNegotiationTimeout          Status = 0x8
	StatusAttribNotSupportedInMsg     Status = 0x9
	StatusRequiredAttributeMissing    Status = 0xa
	StatusStatusInfoNotSupportedInMsg Status = 0xb
)

var statusNames = [...]string{
	StatusNoError:                     "NO_ERROR",
	StatusDuplicateAttribute:          "DUPLICATE_ATTRIBUTE",
	StatusUnrecognizedAttribute:       "UNRECOGNIZED_ATTRIBUTE",
	StatusInvalidAttribValueLength:    "INVALID_ATTRIB_VALUE_LENGTH",
	StatusValueNotSupported:           "VALUE_NOT_SUPPORTED",
	StatusUnacceptedFrameReceived:     "UNACCEPTED_FRAME_RECEIVED",
	StatusRetryCountExceeded:          "RETRY_COUNT_EXCEEDED",
	StatusInvalidFrameReceived:        "INVALID_FRAME_RECEIVED",
	StatusNegotiationTimeout:          "NEGOTIATION_TIMEOUT",
	StatusAttribNotSupportedInMsg:     "ATTRIB_NOT_SUPPORTED_IN_MSG",
	StatusRequiredAttributeMissing:    "REQUIRED_ATTRIBUTE_MISSING",
	StatusStatusInfoNotSupportedInMsg: "STATUS_INFO_NOT_SUPPORTED_IN_MSG",
}

func (s Status) String() string {
	if uint64(s) < uint64(len(statusNames)) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%#x)", uint32(s))
}

// Attribute is one attribute of a control message. Value excludes the attribute header.
type Attribute struct {
	ID    AttributeID
	Value []byte
}

// ControlMessage is the body of a control packet.
type ControlMessage struct {
	Type       MessageType
	Attributes []Attribute
}

// ParseControl decodes the Data of a control packet. The attribute values alias body. It
// checks every length against the bytes there are and that NumAttributes attributes fill the
// body exactly, and returns an error wrapping ErrMalformed otherwise; it does not check
// which types and attributes go together (the state machines do). It never panics.
func ParseControl(body []byte) (ControlMessage, error) {
	if len(body) < controlHeaderLen {
		return ControlMessage{}, fmt.Errorf("sstp: parse control message: %d bytes: %w", len(body), ErrMalformed)
	}
	m := ControlMessage{Type: MessageType(binary.BigEndian.Uint16(body))}
	num := int(binary.BigEndian.Uint16(body[2:]))
	rest := body[controlHeaderLen:]
	// Each attribute takes at least a header, so this bounds the allocation by the body.
	if num > len(rest)/attributeHeaderLen {
		return ControlMessage{}, fmt.Errorf("sstp: parse %v: %d attributes in %d bytes: %w", m.Type, num, len(rest), ErrMalformed)
	}
	if num > 0 {
		m.Attributes = make([]Attribute, 0, num)
	}
	for i := 0; i < num; i++ {
		if len(rest) < attributeHeaderLen {
			return ControlMessage{}, fmt.Errorf("sstp: parse %v: attribute %d truncated: %w", m.Type, i, ErrMalformed)
		}
		n := int(binary.BigEndian.Uint16(rest[2:]) & lengthMask)
		if n < attributeHeaderLen || n > len(rest) {
			return ControlMessage{}, fmt.Errorf("sstp: parse %v: attribute %d length %d of %d bytes: %w", m.Type, i, n, len(rest), ErrMalformed)
		}
		m.Attributes = append(m.Attributes, Attribute{ID: AttributeID(rest[1]), Value: rest[attributeHeaderLen:n:n]})
		rest = rest[n:]
	}
	if len(rest) != 0 {
		return ControlMessage{}, fmt.Errorf("sstp: parse %v: %d bytes after %d attributes: %w", m.Type, len(rest), num, ErrMalformed)
	}
	return m, nil
}

// Append appends the message, as the Data of a control packet, to b. A message too long
// for a packet is caught by AppendPacket.
func (m ControlMessage) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(m.Type))
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.Attributes)))
	for _, a := range m.Attributes {
		b = append(b, 0, byte(a.ID))
		b = binary.BigEndian.AppendUint16(b, uint16(attributeHeaderLen+len(a.Value))&lengthMask)
		b = append(b, a.Value...)
	}
	return b
}

// appendControlPacket appends m as a whole control packet.
func appendControlPacket(b []byte, m ControlMessage) ([]byte, error) {
	return AppendPacket(b, Packet{Control: true, Data: m.Append(nil)})
}

// Attribute returns the first attribute with the given ID, and whether there is one.
func (m ControlMessage) Attribute(id AttributeID) (Attribute, bool) {
	for _, a := range m.Attributes {
		if a.ID == id {
			return a, true
		}
	}
	return Attribute{}, false
}

func (m ControlMessage) String() string {
	s := m.Type.String()
	for _, a := range m.Attributes {
		s += fmt.Sprintf(" %v(%d)", a.ID, len(a.Value))
	}
	return s
}

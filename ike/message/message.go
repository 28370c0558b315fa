package message

import (
	"bytes"
	"fmt"
	"strings"
)

// Message is an IKE message: its header and its unencrypted payloads. In an encrypted message
// the last payload is an *SK or *SKF whose inner payloads are not decoded; see DecodeSealed
// and DecodePayloads.
type Message struct {
	Header
	Payloads Payloads
}

// Decode reads a whole IKE message from datagram (the UDP payload, without the non-ESP marker
// of port 4500): the header, checked as DecodeHeader does, and the chain of payloads. An SK or
// SKF payload must be the last one; it is returned as *SK or *SKF with its encrypted body. A
// payload of unknown type is kept as *Unknown unless its critical bit is set, which fails with
// *UnsupportedCriticalError.
//
// The result owns its memory: Decode copies datagram once. On error it returns nil; a caller
// that must answer the error (INVALID_MAJOR_VERSION, UNSUPPORTED_CRITICAL_PAYLOAD,
// INVALID_SYNTAX) takes the SPIs and message ID from DecodeHeader.
func Decode(datagram []byte) (*Message, error) {
	h, err := DecodeHeader(datagram)
	if err != nil {
		return nil, err
	}
	b := bytes.Clone(datagram)
	ps, err := decodeChain(b[HeaderLen:], h.NextPayload, chainOuter)
	if err != nil {
		return nil, err
	}
	return &Message{Header: h, Payloads: ps}, nil
}

// Append appends the encoded message to b: the header, with NextPayload and Length computed
// (the Header's own values are ignored), and the payloads. An *SK or *SKF may only be the
// last payload. On error it returns b unchanged in length.
func (m *Message) Append(b []byte) ([]byte, error) {
	h := m.Header
	h.NextPayload = m.Payloads.First()
	start := len(b)
	out, err := appendChain(AppendHeader(b, h), m.Payloads, chainOuter)
	if err != nil {
		return b, err
	}
	if n := len(out) - start; n > MaxMessageLen {
		return b, fmt.Errorf("ike/message: encode message: %d bytes, limit %d: %w", n, MaxMessageLen, ErrTooLarge)
	}
	putLength(out[start:], len(out)-start)
	return out, nil
}

// DecodePayloads reads a chain of inner payloads, the first of type first, from plaintext:
// the decrypted content of an SK payload (or of reassembled SKF fragments) with IV, padding,
// pad length and ICV removed. It applies the rules of Decode, refuses SK and SKF payloads, and
// requires the chain to end exactly at the end of plaintext. An empty plaintext with first
// PayloadNone is an empty chain (as in a liveness check). The result owns its memory.
func DecodePayloads(first PayloadType, plaintext []byte) (Payloads, error) {
	return decodeChain(bytes.Clone(plaintext), first, chainInner)
}

// AppendPayloads appends ps as a chain of inner payloads, the plaintext of an SK payload, and
// returns the extended buffer. The first payload's type goes into the SK header (see
// Payloads.First), the others' into the chain. SK and SKF payloads are refused. On error it
// returns b unchanged in length.
func AppendPayloads(b []byte, ps []Payload) ([]byte, error) {
	out, err := appendChain(b, ps, chainInner)
	if err != nil {
		return b, err
	}
	return out, nil
}

// Payloads is a chain of payloads, with the look-ups a state machine wants.
type Payloads []Payload

// First returns the type of the first payload, PayloadNone for an empty chain: the value of
// the Next Payload field in front of the chain.
func (ps Payloads) First() PayloadType {
	if len(ps) == 0 || ps[0] == nil {
		return PayloadNone
	}
	return ps[0].Type()
}

// Find returns the first payload of type t, or nil.
func (ps Payloads) Find(t PayloadType) Payload {
	for _, p := range ps {
		if p.Type() == t {
			return p
		}
	}
	return nil
}

// FindAll returns every payload of type t, in order.
func (ps Payloads) FindAll(t PayloadType) []Payload {
	var out []Payload
	for _, p := range ps {
		if p.Type() == t {
			out = append(out, p)
		}
	}
	return out
}

// Notifies returns every Notify payload, in order.
func (ps Payloads) Notifies() []*Notify {
	var out []*Notify
	for _, p := range ps {
		if n, ok := p.(*Notify); ok {
			out = append(out, n)
		}
	}
	return out
}

// Notify returns the first Notify payload of type t, or nil.
func (ps Payloads) Notify(t NotifyType) *Notify {
	for _, p := range ps {
		if n, ok := p.(*Notify); ok && n.NotifyType == t {
			return n
		}
	}
	return nil
}

// ErrorNotify returns the first Notify payload of an error type, or nil.
func (ps Payloads) ErrorNotify() *Notify {
	for _, p := range ps {
		if n, ok := p.(*Notify); ok && n.NotifyType.IsError() {
			return n
		}
	}
	return nil
}

// String lists the payloads in RFC notation for logs and tests, notifies with their type:
// "SA KE Nonce N(NAT_DETECTION_SOURCE_IP) V".
func (ps Payloads) String() string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		switch p := p.(type) {
		case *Notify:
			parts[i] = "N(" + p.NotifyType.String() + ")"
		case *SKF:
			parts[i] = fmt.Sprintf("SKF(%d/%d)", p.FragmentNumber, p.TotalFragments)
		default:
			parts[i] = p.Type().String()
		}
	}
	return strings.Join(parts, " ")
}

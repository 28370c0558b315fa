package ike

import (
	"errors"
	"fmt"

	"github.com/p2sgw/p2sgw/ike/message"
)

// IKE fragmentation (RFC 7383), receiving side: a peer that negotiated it may split an
// encrypted message into SKF fragments, each protected on its own. The SA decrypts each as it
// comes, in any order, ignores duplicates, and decodes the message once it has them all. Windows
// splits IKE_AUTH into ~600-octet pieces, sometimes more than 16.

// Reassembly limits per SA: a hostile peer cannot make the gateway hold much.
const (
	maxFragments   = 64
	maxReassembled = 64 << 10
)

// errIncomplete is returned by open for a fragment of a message not complete yet: the datagram
// was taken, there is nothing to do.
var errIncomplete = errors.New("ike: IKE fragment stored, message incomplete")

type reassembly struct {
	msgID uint32
	total uint16
	inner message.PayloadType
	parts map[uint16][]byte
	size  int
}

// addFragment decrypts one fragment and returns the whole message's payloads once all are in.
func (sa *SA) addFragment(s *message.Sealed, datagram []byte) (message.Payloads, error) {
	if !sa.fragmentation {
		return nil, fmt.Errorf("%w: IKE fragments from a peer that did not negotiate them", ErrUnexpected)
	}
	if s.TotalFragments > maxFragments || s.FragmentNumber == 0 || s.FragmentNumber > s.TotalFragments {
		return nil, fmt.Errorf("%w: fragment %d of %d (at most %d)", ErrUnexpected, s.FragmentNumber, s.TotalFragments, maxFragments)
	}
	plain, err := sa.recv.Open(nil, s.Body, datagram[:s.BodyOffset])
	if err != nil {
		return nil, fmt.Errorf("ike: decrypt fragment %d of message %d: %w", s.FragmentNumber, s.Header.MessageID, err)
	}
	r := sa.reasm
	if r == nil || r.msgID != s.Header.MessageID || r.total != s.TotalFragments {
		// A new message (or a peer that re-fragmented it smaller, RFC 7383 §2.5.3): start over.
		r = &reassembly{msgID: s.Header.MessageID, total: s.TotalFragments, parts: make(map[uint16][]byte)}
		sa.reasm = r
	}
	if _, dup := r.parts[s.FragmentNumber]; dup {
		return nil, errIncomplete
	}
	if r.size+len(plain) > maxReassembled {
		sa.reasm = nil
		return nil, fmt.Errorf("%w: fragmented message over %d octets", ErrUnexpected, maxReassembled)
	}
	if s.FragmentNumber == 1 {
		r.inner = s.Inner
	}
	r.parts[s.FragmentNumber] = plain
	r.size += len(plain)
	if len(r.parts) < int(r.total) {
		return nil, errIncomplete
	}
	whole := make([]byte, 0, r.size)
	for i := uint16(1); i <= r.total; i++ {
		whole = append(whole, r.parts[i]...)
	}
	sa.reasm = nil
	return message.DecodePayloads(r.inner, whole)
}

// sealFragments is the sending side of RFC 7383: the payloads ps, encrypted as SKF fragments
// of at most maxPlain octets of plaintext each, every fragment protected on its own and carrying
// the message's header. It is what a sender uses when a message would not fit the path.
func (sa *SA) sealFragments(h message.Header, ps []message.Payload, maxPlain int) ([][]byte, error) {
	plain, err := message.AppendPayloads(nil, ps)
	if err != nil {
		return nil, err
	}
	total := (len(plain) + maxPlain - 1) / maxPlain
	if total > maxFragments {
		return nil, fmt.Errorf("%w: %d fragments", ErrUnsupported, total)
	}
	out := make([][]byte, 0, total)
	for i := 0; i < total; i++ {
		chunk := plain[i*maxPlain : min((i+1)*maxPlain, len(plain))]
		inner := message.PayloadNone
		if i == 0 {
			inner = ps[0].Type()
		}
		msg, err := message.AppendSKFHeader(nil, h, inner, uint16(i+1), uint16(total), sa.send.SealedLen(len(chunk)))
		if err != nil {
			return nil, err
		}
		if msg, err = sa.send.Seal(msg, chunk, msg, sa.rand); err != nil {
			return nil, err
		}
		out = append(out, msg)
	}
	return out, nil
}

package ike

import (
	"encoding/binary"

	"github.com/p2sgw/p2sgw/ike/message"
	"github.com/p2sgw/p2sgw/ike/transform"
)

// toProposals converts an SA payload to ike/transform's proposals.
func toProposals(sa *message.SA) []transform.Proposal {
	out := make([]transform.Proposal, 0, len(sa.Proposals))
	for _, p := range sa.Proposals {
		tp := transform.Proposal{Number: p.Number, Protocol: transform.Protocol(p.Protocol), SPI: p.SPI}
		for _, t := range p.Transforms {
			kl, _ := t.KeyLength()
			tp.Transforms = append(tp.Transforms, transform.Transform{Type: transform.TransformType(t.Type), ID: t.ID, KeyLen: kl})
		}
		out = append(out, tp)
	}
	return out
}

// toSA converts ike/transform's proposals to an SA payload.
func toSA(ps ...transform.Proposal) *message.SA {
	sa := &message.SA{}
	for _, p := range ps {
		mp := message.Proposal{Number: p.Number, Protocol: message.ProtocolID(p.Protocol), SPI: p.SPI}
		for _, t := range p.Transforms {
			mt := message.Transform{Type: message.TransformType(t.Type), ID: t.ID}
			if t.KeyLen != 0 {
				mt.Attributes = []message.Attribute{message.KeyLengthAttribute(t.KeyLen)}
			}
			mp.Transforms = append(mp.Transforms, mt)
		}
		sa.Proposals = append(sa.Proposals, mp)
	}
	return sa
}

// numbered returns ps with proposal numbers 1, 2, … and the given SPI on each.
func numbered(ps []transform.Proposal, spi []byte) []transform.Proposal {
	out := make([]transform.Proposal, len(ps))
	for i, p := range ps {
		out[i] = p.Clone()
		out[i].Number = uint8(i + 1)
		out[i].SPI = spi
	}
	return out
}

func spi32(b []byte) uint32 {
	if len(b) != 4 {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func spiBytes(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

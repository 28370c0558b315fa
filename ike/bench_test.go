package ike

import (
	"context"
	"testing"

	"github.com/p2sgw/p2sgw/ike/transform"
	"github.com/p2sgw/p2sgw/pki"
)

// BenchmarkHandshake is one full IKE_SA_INIT + IKE_AUTH, initiator and responder in process,
// with ECDSA P-256 certificates on both sides and the given group: the CPU cost of a client
// connecting (both ends, so roughly twice the gateway's share).
func BenchmarkHandshake(b *testing.B) {
	for _, g := range []transform.DHGroup{transform.DHCurve25519, transform.DHECP256} {
		b.Run(g.String(), func(b *testing.B) {
			w := newWorld(b)
			alice, _ := w.clientRoot.IssueClient("alice@example.com", pki.Options{})
			ike := []transform.Proposal{{Number: 1, Protocol: transform.ProtocolIKE, Transforms: []transform.Transform{
				transform.EncrAESGCM16.Transform(256), transform.PRFHMACSHA256.Transform(), g.Transform(),
			}}}
			espP := []transform.Proposal{{Number: 1, Protocol: transform.ProtocolESP, Transforms: []transform.Transform{
				transform.EncrAESGCM16.Transform(256), transform.ESNNo.Transform(),
			}}}
			rc := w.responderConfig()
			ic := w.initiatorConfig(b, alice, ike, espP, g)
			b.ReportAllocs()
			for b.Loop() {
				_, res, err := handshake(b, rc, ic)
				if err != nil {
					b.Fatal(err)
				}
				w.pool.Release(context.Background(), res.Lease.Addr, "s-"+res.Peer)
			}
		})
	}
}

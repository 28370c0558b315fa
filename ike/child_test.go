package ike

import (
	"errors"
	"testing"

	"github.com/p2sgw/p2sgw/ike/message"
	"github.com/p2sgw/p2sgw/ike/transform"
	"github.com/p2sgw/p2sgw/pki"
)

// TestChildRekey rekeys the CHILD SA with and without a new key exchange (macOS rekeys
// without, iOS with), both ends in process, and checks the new keys carry ESP both ways, the old
// SA is retired by its Delete, and the IKE SA lives on.
func TestChildRekey(t *testing.T) {
	w := newWorld(t)
	alice, _ := w.clientRoot.IssueClient("alice@example.com", pki.Options{})
	espP := transform.DefaultESPProposals()
	for _, group := range []transform.DHGroup{transform.DHNone, transform.DHCurve25519, transform.DHECP256} {
		t.Run(group.String(), func(t *testing.T) {
			ini, res, err := handshake(t, w.responderConfig(), w.initiatorConfig(t, alice, transform.DefaultIKEProposals(), espP, transform.DHECP256))
			if err != nil {
				t.Fatal(err)
			}
			oldIn, oldOut := res.Child.InSPI, res.Child.OutSPI
			// CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, [KEi], TSi, TSr } -->
			req, err := ini.RekeyChild(group, espP)
			if err != nil {
				t.Fatal(err)
			}
			resp, ev, err := res.Handle(req)
			if err != nil || ev != EventChildRekeyed || res.Rekeyed == nil {
				t.Fatalf("responder: %v %v", ev, err)
			}
			if (res.Rekeyed.Suite.DH != transform.DHNone) != (group != transform.DHNone) {
				t.Fatalf("PFS group %s, asked for %s", res.Rekeyed.Suite.DH, group)
			}
			res.InstallRekeyed()
			// <-- { SA, Nr, [KEr], TSi, TSr }
			if _, ev, err := ini.Handle(resp); err != nil || ev != EventChildRekeyed {
				t.Fatalf("initiator: %v %v", ev, err)
			}
			ini.InstallRekeyed()
			if res.Child.InSPI == oldIn || ini.Child.OutSPI != res.Child.InSPI || ini.Child.InSPI != res.Child.OutSPI {
				t.Fatalf("SPIs after rekey: responder in %x out %x, initiator in %x out %x", res.Child.InSPI, res.Child.OutSPI, ini.Child.InSPI, ini.Child.OutSPI)
			}
			espRoundTrip(t, ini.Child, res.Child)
			espRoundTrip(t, res.Child, ini.Child)

			// INFORMATIONAL { D(ESP, old SPI) } -->  <-- { D(ESP, our old SPI) }
			del, err := ini.DeleteOldChild()
			if err != nil {
				t.Fatal(err)
			}
			ack, ev, err := res.Handle(del)
			if err != nil || ev != EventOldChildDeleted || res.OldChild == nil || res.OldChild.InSPI != oldIn || res.OldChild.OutSPI != oldOut {
				t.Fatalf("old CHILD SA delete: %v %v", ev, err)
			}
			res.OldChild = nil
			if _, _, err := ini.Handle(ack); err != nil {
				t.Fatal(err)
			}
			if res.State() != StateEstablished || ini.State() != StateEstablished {
				t.Fatalf("states %s / %s after the rekey", res.State(), ini.State())
			}
		})
	}
	t.Run("rekey of an unknown CHILD SA", func(t *testing.T) {
		ini, res, err := handshake(t, w.responderConfig(), w.initiatorConfig(t, alice, transform.DefaultIKEProposals(), espP, transform.DHECP256))
		if err != nil {
			t.Fatal(err)
		}
		ini.Child.InSPI ^= 0xffff // the REKEY_SA notify names an SA the gateway does not have
		req, _ := ini.RekeyChild(transform.DHNone, espP)
		resp, ev, err := res.Handle(req)
		if ev != EventNone || !errors.Is(err, ErrUnexpected) || res.Rekeyed != nil {
			t.Fatalf("rekey of an unknown SA: %v %v", ev, err)
		}
		_, ps, err := ini.open(resp)
		if err != nil || ps.Notify(message.NotifyChildSANotFound) == nil {
			t.Fatalf("the answer is not CHILD_SA_NOT_FOUND: %v %v", ps, err)
		}
	})
}

package clientconfig

import (
	"fmt"
	"strings"
	"testing"

	"github.com/p2sgw/p2sgw/ike/transform"
)

// TestProposalsAcceptedByGateway offers each client's profile algorithms, as that client
// puts them on the wire, to the gateway's own proposal selection with the default
// proposals and legacy off: every one must be chosen without an INVALID_KE retry.
func TestProposalsAcceptedByGateway(t *testing.T) {
	type sa struct {
		name string
		ike  bool
		p    transform.Proposal
		ke   transform.DHGroup
	}
	var cases []sa
	for _, s := range []string{strongSwanIKE, strongSwanIKEFallback} {
		p, ke := strongSwanProposal(t, s, true)
		cases = append(cases, sa{"strongSwan IKE " + s, true, p, ke})
	}
	for _, s := range []string{strongSwanESP, strongSwanESPFallback} {
		p, _ := strongSwanProposal(t, s, false)
		cases = append(cases, sa{"strongSwan ESP " + s, false, p, transform.DHNone})
	}
	ap, ake := appleProposal(t, appleIKE, true)
	cases = append(cases, sa{"Apple IKE", true, ap, ake})
	ap, _ = appleProposal(t, appleChild, false)
	cases = append(cases, sa{"Apple CHILD", false, ap, transform.DHNone})
	wp, wke := windowsIKEProposal(t)
	cases = append(cases, sa{"Windows IKE", true, wp, wke})
	cases = append(cases, sa{"Windows ESP", false, windowsESPProposal(t), transform.DHNone})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.p.Number = 1
			ours := transform.DefaultESPProposals()
			c.p.Protocol = transform.ProtocolESP
			offer := transform.Offer{Proposals: []transform.Proposal{c.p}, IKEAuth: true}
			if c.ike {
				ours = transform.DefaultIKEProposals()
				c.p.Protocol = transform.ProtocolIKE
				offer = transform.Offer{Proposals: []transform.Proposal{c.p}, KE: c.ke}
			}
			sel, err := transform.Select(offer, ours, false)
			if err != nil {
				t.Fatalf("the gateway refuses %v: %v", c.p, err)
			}
			t.Logf("chosen: %v", sel.Proposal)
		})
	}
}

func encr(id transform.EncrID, bits uint16) transform.Transform { return id.Transform(bits) }

// strongSwanProposal parses the few keywords our strongSwan proposals use, as
// proposal_create_from_string does: in IKE, "sha256" is both integrity and PRF.
func strongSwanProposal(t *testing.T, s string, ike bool) (transform.Proposal, transform.DHGroup) {
	var p transform.Proposal
	ke := transform.DHNone
	for _, kw := range strings.Split(s, "-") {
		switch kw {
		case "aes256gcm16":
			p.Transforms = append(p.Transforms, encr(transform.EncrAESGCM16, 256))
		case "aes256":
			p.Transforms = append(p.Transforms, encr(transform.EncrAESCBC, 256))
		case "sha256":
			p.Transforms = append(p.Transforms, transform.IntegHMACSHA256128.Transform())
			if ike {
				p.Transforms = append(p.Transforms, transform.PRFHMACSHA256.Transform())
			}
		case "prfsha256":
			p.Transforms = append(p.Transforms, transform.PRFHMACSHA256.Transform())
		case "ecp256":
			p.Transforms = append(p.Transforms, transform.DHECP256.Transform())
			ke = transform.DHECP256
		case "modp2048":
			p.Transforms = append(p.Transforms, transform.DHMODP2048.Transform())
			ke = transform.DHMODP2048
		default:
			t.Fatalf("keyword %q of %q: add it to the test", kw, s)
		}
	}
	return p, ke
}

// appleProposal is what an Apple device sends for a SecurityAssociationParameters
// dictionary: with AES-GCM, IntegrityAlgorithm names the PRF only; the CHILD SA in
// IKE_AUTH carries no DH (EnablePFS is 0).
func appleProposal(t *testing.T, sa appleSA, ike bool) (transform.Proposal, transform.DHGroup) {
	var p transform.Proposal
	aead := false
	switch sa.Encryption {
	case "AES-256-GCM":
		p.Transforms, aead = append(p.Transforms, encr(transform.EncrAESGCM16, 256)), true
	case "AES-256":
		p.Transforms = append(p.Transforms, encr(transform.EncrAESCBC, 256))
	default:
		t.Fatalf("EncryptionAlgorithm %q: add it to the test", sa.Encryption)
	}
	integ := sa.Integrity
	if integ == "" {
		integ = "SHA2-256" // Apple's default
	}
	if integ != "SHA2-256" {
		t.Fatalf("IntegrityAlgorithm %q: add it to the test", integ)
	}
	if !aead {
		p.Transforms = append(p.Transforms, transform.IntegHMACSHA256128.Transform())
	}
	if !ike {
		return p, transform.DHNone
	}
	p.Transforms = append(p.Transforms, transform.PRFHMACSHA256.Transform())
	g := transform.DHGroup(sa.DHGroup)
	p.Transforms = append(p.Transforms, g.Transform())
	return p, g
}

// windowsIKEProposal is what Windows sends with our Set-VpnConnectionIPsecConfiguration:
// EncryptionMethod, IntegrityCheckMethod (also the PRF) and DHGroup.
func windowsIKEProposal(t *testing.T) (transform.Proposal, transform.DHGroup) {
	pol := windowsPolicy
	var p transform.Proposal
	switch pol.Encryption {
	case "AES256":
		p.Transforms = append(p.Transforms, encr(transform.EncrAESCBC, 256))
	case "GCMAES256":
		p.Transforms = append(p.Transforms, encr(transform.EncrAESGCM16, 256))
	default:
		t.Fatalf("EncryptionMethod %q: add it to the test", pol.Encryption)
	}
	switch pol.Integrity {
	case "SHA256":
		if pol.Encryption != "GCMAES256" {
			p.Transforms = append(p.Transforms, transform.IntegHMACSHA256128.Transform())
		}
		p.Transforms = append(p.Transforms, transform.PRFHMACSHA256.Transform())
	default:
		t.Fatalf("IntegrityCheckMethod %q: add it to the test", pol.Integrity)
	}
	groups := map[string]transform.DHGroup{"Group14": transform.DHMODP2048, "ECP256": transform.DHECP256, "ECP384": transform.DHECP384}
	g, ok := groups[pol.DHGroup]
	if !ok {
		t.Fatalf("DHGroup %q: add it to the test", pol.DHGroup)
	}
	p.Transforms = append(p.Transforms, g.Transform())
	if pol.PFSGroup != "None" {
		t.Fatalf("PfsGroup %q: the IKE_AUTH CHILD SA has no KE; test a rekey too", pol.PFSGroup)
	}
	return p, g
}

func windowsESPProposal(t *testing.T) transform.Proposal {
	pol := windowsPolicy
	if pol.CipherTransform != "GCMAES256" || pol.AuthenticationTransform != "GCMAES256" {
		t.Fatal(fmt.Sprintf("ESP %s/%s: add it to the test", pol.CipherTransform, pol.AuthenticationTransform))
	}
	return transform.Proposal{Transforms: []transform.Transform{encr(transform.EncrAESGCM16, 256)}}
}

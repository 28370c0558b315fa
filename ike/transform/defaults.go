package transform

import "slices"

// The default proposals: INTEROP.md's set that every modern client matches (Windows with the
// custom policy our client script sets, macOS and iOS, Android 12+, strongSwan), and the
// legacy compat set for unconfigured Windows clients, off by default.
//
// As responder only their content matters (Select follows the peer's order); as initiator
// (p2sgw connect) their order is our preference.

var (
	// pfsGroups are the groups a CHILD SA may use for PFS: those of the IKE SA proposals.
	// DH NONE at the end makes PFS optional (macOS rekeys CHILD SAs without KE, iOS with).
	pfsGroups = []Transform{
		DHECP256.Transform(), DHECP384.Transform(), DHCurve25519.Transform(),
		DHMODP2048.Transform(), DHMODP3072.Transform(), DHMODP4096.Transform(),
		DHNone.Transform(),
	}

	defaultIKE = []Proposal{
		{Number: 1, Protocol: ProtocolIKE, Transforms: []Transform{
			EncrAESGCM16.Transform(256), EncrAESGCM16.Transform(128),
			PRFHMACSHA384.Transform(), PRFHMACSHA256.Transform(),
			DHECP256.Transform(), DHECP384.Transform(), DHCurve25519.Transform(), DHMODP2048.Transform(),
		}},
		{Number: 2, Protocol: ProtocolIKE, Transforms: []Transform{
			EncrAESCBC.Transform(256), EncrAESCBC.Transform(128),
			IntegHMACSHA256128.Transform(), IntegHMACSHA384192.Transform(),
			PRFHMACSHA256.Transform(), PRFHMACSHA384.Transform(),
			DHMODP2048.Transform(), DHMODP3072.Transform(), DHMODP4096.Transform(),
			DHECP256.Transform(), DHCurve25519.Transform(),
		}},
	}

	defaultESP = []Proposal{
		{Number: 1, Protocol: ProtocolESP, Transforms: slices.Concat(
			[]Transform{EncrAESGCM16.Transform(256), EncrAESGCM16.Transform(128)},
			pfsGroups,
			[]Transform{ESNNo.Transform()},
		)},
		{Number: 2, Protocol: ProtocolESP, Transforms: slices.Concat(
			[]Transform{EncrAESCBC.Transform(256), EncrAESCBC.Transform(128), IntegHMACSHA256128.Transform()},
			pfsGroups,
			[]Transform{ESNNo.Transform()},
		)},
	}

	// The Windows built-in client's defaults, minus 3DES and DES, which p2sgw does not
	// implement: AES-CBC with SHA-1 or SHA-256 and MODP_1024 for IKE, HMAC-SHA1-96 for ESP.
	legacyIKE = []Proposal{
		{Number: 1, Protocol: ProtocolIKE, Transforms: []Transform{
			EncrAESCBC.Transform(256), EncrAESCBC.Transform(128),
			IntegHMACSHA196.Transform(), IntegHMACSHA256128.Transform(),
			PRFHMACSHA1.Transform(), PRFHMACSHA256.Transform(),
			DHMODP1024.Transform(),
		}},
	}

	legacyESP = []Proposal{
		{Number: 1, Protocol: ProtocolESP, Transforms: []Transform{
			EncrAESCBC.Transform(256), EncrAESCBC.Transform(128),
			IntegHMACSHA196.Transform(),
			DHNone.Transform(),
			ESNNo.Transform(),
		}},
	}
)

// DefaultIKEProposals returns the default IKE SA proposals: AES-GCM-16-256/128 with
// PRF-HMAC-SHA2-384/256 and ECP_256, ECP_384, Curve25519 or MODP_2048; AES-CBC-256/128 with
// HMAC-SHA2-256-128/384-192, PRF-HMAC-SHA2-256/384 and MODP_2048, MODP_3072, MODP_4096,
// ECP_256 or Curve25519. The caller owns the returned slice.
func DefaultIKEProposals() []Proposal { return cloneAll(defaultIKE) }

// DefaultESPProposals returns the default CHILD SA proposals: AES-GCM-16-256/128, and
// AES-CBC-256/128 with HMAC-SHA2-256-128; both without ESN, PFS optional with any group of the
// IKE proposals. The caller owns the returned slice.
func DefaultESPProposals() []Proposal { return cloneAll(defaultESP) }

// LegacyIKEProposals returns the legacy compat IKE proposal that Select adds when legacy is on:
// AES-CBC-256/128, HMAC-SHA1-96 or HMAC-SHA2-256-128, PRF-HMAC-SHA1 or PRF-HMAC-SHA2-256,
// MODP_1024.
func LegacyIKEProposals() []Proposal { return cloneAll(legacyIKE) }

// LegacyESPProposals returns the legacy compat ESP proposal that Select adds when legacy is on:
// AES-CBC-256/128 with HMAC-SHA1-96, no PFS, no ESN.
func LegacyESPProposals() []Proposal { return cloneAll(legacyESP) }

func cloneAll(ps []Proposal) []Proposal {
	out := make([]Proposal, len(ps))
	for i, p := range ps {
		out[i] = p.Clone()
	}
	return out
}

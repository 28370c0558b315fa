package transform

import (
	"errors"
	"slices"
	"testing"
)

func ike(n uint8, ts ...Transform) Proposal {
	return Proposal{Number: n, Protocol: ProtocolIKE, Transforms: ts}
}

func esp(n uint8, ts ...Transform) Proposal {
	return Proposal{Number: n, Protocol: ProtocolESP, SPI: []byte{0xc1, 0x1e, 0x47, n}, Transforms: ts}
}

var (
	gcm256     = EncrAESGCM16.Transform(256)
	gcm128     = EncrAESGCM16.Transform(128)
	cbc256     = EncrAESCBC.Transform(256)
	cbc128     = EncrAESCBC.Transform(128)
	hmacSHA1   = IntegHMACSHA196.Transform()
	hmacSHA256 = IntegHMACSHA256128.Transform()
	prf1       = PRFHMACSHA1.Transform()
	prf256     = PRFHMACSHA256.Transform()
	prf384     = PRFHMACSHA384.Transform()
	ecp256     = DHECP256.Transform()
	ecp384     = DHECP384.Transform()
	x25519     = DHCurve25519.Transform()
	modp1k     = DHMODP1024.Transform()
	modp2k     = DHMODP2048.Transform()
	modp4k     = DHMODP4096.Transform()
	dhNone     = DHNone.Transform()
	noESN      = ESNNo.Transform()
	withESN    = ESNYes.Transform()
)

func TestSelect(t *testing.T) {
	windowsIKE := ike(1, cbc256, hmacSHA1, prf1, modp1k)
	for _, tc := range []struct {
		name   string
		offer  Offer
		ours   []Proposal // nil: the defaults of the protocol
		legacy bool
		want   Suite
		answer Proposal // checked when set
		err    error    // ErrNoProposalChosen or ErrInvalidKE
		group  DHGroup  // with ErrInvalidKE: the group asked for
	}{
		{
			name:  "client order beats ours",
			offer: Offer{KE: DHMODP2048, Proposals: []Proposal{ike(1, cbc256, hmacSHA256, prf256, modp2k), ike(2, gcm256, prf384, ecp256)}},
			want:  Suite{Protocol: ProtocolIKE, Encr: EncrAESCBC, KeyLen: 256, Integ: IntegHMACSHA256128, PRF: PRFHMACSHA256, DH: DHMODP2048},
		},
		{
			name:   "client order inside a proposal, answer one transform per type",
			offer:  Offer{KE: DHECP256, Proposals: []Proposal{ike(3, gcm128, gcm256, prf256, prf384, ecp256)}},
			want:   Suite{Protocol: ProtocolIKE, Encr: EncrAESGCM16, KeyLen: 128, PRF: PRFHMACSHA256, DH: DHECP256},
			answer: ike(3, gcm128, prf256, ecp256),
		},
		{
			name:  "AES-GCM with a 192-bit key is not ours",
			offer: Offer{KE: DHECP256, Proposals: []Proposal{ike(1, EncrAESGCM16.Transform(192), prf256, ecp256)}},
			err:   ErrNoProposalChosen,
		},
		{
			name:  "AES-CBC without a Key Length attribute",
			offer: Offer{KE: DHMODP2048, Proposals: []Proposal{ike(1, EncrAESCBC.Transform(0), hmacSHA256, prf256, modp2k)}},
			err:   ErrNoProposalChosen,
		},
		{
			name:  "key length picks among alternatives",
			offer: Offer{KE: DHMODP2048, Proposals: []Proposal{ike(1, EncrAESCBC.Transform(192), cbc128, hmacSHA256, prf256, modp2k)}},
			want:  Suite{Protocol: ProtocolIKE, Encr: EncrAESCBC, KeyLen: 128, Integ: IntegHMACSHA256128, PRF: PRFHMACSHA256, DH: DHMODP2048},
		},
		{
			name:  "KE group preferred over the client's first group",
			offer: Offer{KE: DHCurve25519, Proposals: []Proposal{ike(1, gcm256, prf256, ecp256, x25519)}},
			want:  Suite{Protocol: ProtocolIKE, Encr: EncrAESGCM16, KeyLen: 256, PRF: PRFHMACSHA256, DH: DHCurve25519},
		},
		{
			name:  "INVALID_KE: first acceptable group in client order",
			offer: Offer{KE: DHMODP4096, Proposals: []Proposal{ike(1, gcm256, prf256, modp4k, x25519, ecp256)}},
			err:   ErrInvalidKE, group: DHCurve25519,
		},
		{
			name:  "INVALID_KE for the first proposal even if a later one takes the KE group",
			offer: Offer{KE: DHMODP4096, Proposals: []Proposal{ike(1, gcm256, prf256, ecp384), ike(2, cbc256, hmacSHA256, prf256, modp4k)}},
			err:   ErrInvalidKE, group: DHECP384,
		},
		{
			name:  "a later proposal of ours that takes the KE group saves the retry",
			offer: Offer{KE: DHMODP4096, Proposals: []Proposal{ike(1, gcm256, prf256, ecp256, modp4k)}},
			ours:  []Proposal{ike(1, gcm256, prf256, ecp256), ike(2, gcm256, prf256, modp4k)},
			want:  Suite{Protocol: ProtocolIKE, Encr: EncrAESGCM16, KeyLen: 256, PRF: PRFHMACSHA256, DH: DHMODP4096},
		},
		{
			name:  "transforms come from one of our proposals",
			offer: Offer{KE: DHMODP4096, Proposals: []Proposal{ike(1, gcm256, prf256, modp4k)}},
			err:   ErrNoProposalChosen,
		},
		{
			name:  "legacy Windows proposal refused by default",
			offer: Offer{KE: DHMODP1024, Proposals: []Proposal{windowsIKE}},
			err:   ErrNoProposalChosen,
		},
		{
			name:   "legacy Windows proposal with the compat set",
			offer:  Offer{KE: DHMODP1024, Proposals: []Proposal{windowsIKE}},
			legacy: true,
			want:   Suite{Protocol: ProtocolIKE, Encr: EncrAESCBC, KeyLen: 256, Integ: IntegHMACSHA196, PRF: PRFHMACSHA1, DH: DHMODP1024},
		},
		{
			name:   "legacy set: SHA-256 with MODP_1024",
			offer:  Offer{KE: DHMODP1024, Proposals: []Proposal{ike(4, cbc128, hmacSHA256, prf256, modp1k)}},
			legacy: true,
			want:   Suite{Protocol: ProtocolIKE, Encr: EncrAESCBC, KeyLen: 128, Integ: IntegHMACSHA256128, PRF: PRFHMACSHA256, DH: DHMODP1024},
		},
		{
			name:  "legacy algorithms never chosen without legacy, even when ours lists them",
			offer: Offer{KE: DHMODP1024, Proposals: []Proposal{windowsIKE}},
			ours:  LegacyIKEProposals(),
			err:   ErrNoProposalChosen,
		},
		{
			name:   "modern proposal still wins with legacy on",
			offer:  Offer{KE: DHECP256, Proposals: []Proposal{ike(1, gcm256, prf384, ecp256), windowsIKE}},
			legacy: true,
			want:   Suite{Protocol: ProtocolIKE, Encr: EncrAESGCM16, KeyLen: 256, PRF: PRFHMACSHA384, DH: DHECP256},
		},
		{
			name:  "AEAD with INTEG NONE",
			offer: Offer{KE: DHECP256, Proposals: []Proposal{ike(1, gcm256, IntegNone.Transform(), prf256, ecp256)}},
			want:  Suite{Protocol: ProtocolIKE, Encr: EncrAESGCM16, KeyLen: 256, PRF: PRFHMACSHA256, DH: DHECP256},
		},
		{
			name:   "mixed AEAD and CBC proposal: INTEG ignored for the AEAD",
			offer:  Offer{KE: DHECP256, Proposals: []Proposal{ike(1, gcm256, cbc256, hmacSHA256, prf256, ecp256)}},
			want:   Suite{Protocol: ProtocolIKE, Encr: EncrAESGCM16, KeyLen: 256, PRF: PRFHMACSHA256, DH: DHECP256},
			answer: ike(1, gcm256, prf256, ecp256),
		},
		{
			name:  "CBC without INTEG",
			offer: Offer{KE: DHMODP2048, Proposals: []Proposal{ike(1, cbc256, prf256, modp2k)}},
			err:   ErrNoProposalChosen,
		},
		{
			name:  "CBC with INTEG NONE only",
			offer: Offer{KE: DHMODP2048, Proposals: []Proposal{ike(1, cbc256, IntegNone.Transform(), prf256, modp2k)}},
			err:   ErrNoProposalChosen,
		},
		{
			name:  "IKE without PRF, without DH, with DH NONE",
			offer: Offer{KE: DHECP256, Proposals: []Proposal{ike(1, gcm256, ecp256), ike(2, gcm256, prf256), ike(3, gcm256, prf256, dhNone)}},
			err:   ErrNoProposalChosen,
		},
		{
			name: "unknown transform type rejects only its proposal",
			offer: Offer{KE: DHECP256, Proposals: []Proposal{
				ike(1, gcm256, prf256, ecp256, Transform{Type: 6, ID: 36}),
				ike(2, gcm128, prf256, ecp256),
			}},
			want:   Suite{Protocol: ProtocolIKE, Encr: EncrAESGCM16, KeyLen: 128, PRF: PRFHMACSHA256, DH: DHECP256},
			answer: ike(2, gcm128, prf256, ecp256),
		},
		{
			name:  "ESN in an IKE proposal",
			offer: Offer{KE: DHECP256, Proposals: []Proposal{ike(1, gcm256, prf256, ecp256, noESN)}},
			err:   ErrNoProposalChosen,
		},
		{
			name:  "ESP offered where IKE is asked",
			offer: Offer{KE: DHECP256, Proposals: []Proposal{esp(1, gcm256, noESN)}},
			ours:  DefaultIKEProposals(),
			err:   ErrNoProposalChosen,
		},
		{
			name: "no proposals",
			err:  ErrNoProposalChosen,
		},

		// CHILD SAs.
		{
			name:   "IKE_AUTH ignores DH in ESP proposals",
			offer:  Offer{IKEAuth: true, Proposals: []Proposal{esp(1, gcm256, ecp256, noESN)}},
			want:   Suite{Protocol: ProtocolESP, Encr: EncrAESGCM16, KeyLen: 256},
			answer: esp(1, gcm256, noESN),
		},
		{
			name:  "IKE_AUTH CBC",
			offer: Offer{IKEAuth: true, Proposals: []Proposal{esp(1, cbc128, hmacSHA256, noESN)}},
			want:  Suite{Protocol: ProtocolESP, Encr: EncrAESCBC, KeyLen: 128, Integ: IntegHMACSHA256128},
		},
		{
			name:  "ESP without an ESN transform means no ESN",
			offer: Offer{IKEAuth: true, Proposals: []Proposal{esp(1, gcm128)}},
			want:  Suite{Protocol: ProtocolESP, Encr: EncrAESGCM16, KeyLen: 128},
		},
		{
			name:  "ESP with ESN only",
			offer: Offer{IKEAuth: true, Proposals: []Proposal{esp(1, gcm128, withESN)}},
			err:   ErrNoProposalChosen,
		},
		{
			name:  "PRF in an ESP proposal",
			offer: Offer{IKEAuth: true, Proposals: []Proposal{esp(1, gcm128, prf256, noESN)}},
			err:   ErrNoProposalChosen,
		},
		{
			name:   "legacy ESP",
			offer:  Offer{IKEAuth: true, Proposals: []Proposal{esp(1, cbc256, hmacSHA1, noESN)}},
			legacy: true,
			want:   Suite{Protocol: ProtocolESP, Encr: EncrAESCBC, KeyLen: 256, Integ: IntegHMACSHA196},
		},
		{
			name:  "legacy ESP refused by default",
			offer: Offer{IKEAuth: true, Proposals: []Proposal{esp(1, cbc256, hmacSHA1, noESN)}},
			err:   ErrNoProposalChosen,
		},
		{
			name:  "CREATE_CHILD_SA without KE or DH",
			offer: Offer{Proposals: []Proposal{esp(1, gcm256, noESN)}},
			want:  Suite{Protocol: ProtocolESP, Encr: EncrAESGCM16, KeyLen: 256},
		},
		{
			name:   "CREATE_CHILD_SA with KE: PFS",
			offer:  Offer{KE: DHECP384, Proposals: []Proposal{esp(2, gcm256, ecp256, ecp384, dhNone, noESN)}},
			want:   Suite{Protocol: ProtocolESP, Encr: EncrAESGCM16, KeyLen: 256, DH: DHECP384},
			answer: esp(2, gcm256, ecp384, noESN),
		},
		{
			name:  "CREATE_CHILD_SA with a KE group we refuse, NONE allowed: no PFS",
			offer: Offer{KE: DHMODP1024, Proposals: []Proposal{esp(1, gcm256, modp1k, dhNone, noESN)}},
			want:  Suite{Protocol: ProtocolESP, Encr: EncrAESGCM16, KeyLen: 256},
		},
		{
			name:  "CREATE_CHILD_SA demanding DH without KE",
			offer: Offer{Proposals: []Proposal{esp(1, gcm256, ecp256, noESN)}},
			err:   ErrInvalidKE, group: DHECP256,
		},
		{
			name:  "CREATE_CHILD_SA with KE in another group",
			offer: Offer{KE: DHMODP4096, Proposals: []Proposal{esp(1, gcm256, x25519, modp4k, noESN)}},
			ours:  []Proposal{esp(1, gcm256, x25519, noESN)},
			err:   ErrInvalidKE, group: DHCurve25519,
		},
		{
			name:  "policy that requires PFS",
			offer: Offer{Proposals: []Proposal{esp(1, gcm256, noESN)}},
			ours:  []Proposal{esp(1, gcm256, x25519, noESN)},
			err:   ErrNoProposalChosen,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ours := tc.ours
			if ours == nil {
				ours = slices.Concat(DefaultIKEProposals(), DefaultESPProposals())
			}
			sel, err := Select(tc.offer, ours, tc.legacy)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("got %v (%s), want %v", err, sel.Suite, tc.err)
				}
				var ike *InvalidKEError
				if errors.As(err, &ike) && ike.Group != tc.group {
					t.Errorf("INVALID_KE asks for %s, want %s", ike.Group, tc.group)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sel.Suite != tc.want {
				t.Errorf("suite %s, want %s", sel.Suite, tc.want)
			}
			if err := sel.Suite.Validate(); err != nil {
				t.Errorf("chosen suite invalid: %v", err)
			}
			if tc.answer.Protocol != 0 && sel.Proposal.String() != tc.answer.String() {
				t.Errorf("answer %s, want %s", sel.Proposal, tc.answer)
			}
			if tc.answer.Protocol != 0 && string(sel.Proposal.SPI) != string(tc.answer.SPI) {
				t.Errorf("answer SPI %x, want the peer's %x", sel.Proposal.SPI, tc.answer.SPI)
			}
			// An initiator checks the answer against what it offered.
			back, err := Select(Offer{KE: sel.Suite.DH, IKEAuth: tc.offer.IKEAuth, Proposals: []Proposal{sel.Proposal}},
				tc.offer.Proposals, tc.legacy)
			if err != nil || back.Suite != sel.Suite {
				t.Errorf("initiator check of the answer: %s, %v", back.Suite, err)
			}
		})
	}
}

// TestDefaultsAreImplemented: every transform of the default proposals is in the registry (the
// legacy ones with legacy on), and the caller owns the slices it gets.
func TestDefaultsAreImplemented(t *testing.T) {
	for _, set := range []struct {
		ps     []Proposal
		legacy bool
	}{
		{DefaultIKEProposals(), false}, {DefaultESPProposals(), false},
		{LegacyIKEProposals(), true}, {LegacyESPProposals(), true},
	} {
		for i, p := range set.ps {
			if int(p.Number) != i+1 {
				t.Errorf("%s: numbered %d", p, p.Number)
			}
			for _, tr := range p.Transforms {
				if !Supported(tr, set.legacy) {
					t.Errorf("%s: %s not supported", p, tr)
				}
			}
		}
	}
	a := DefaultIKEProposals()
	a[0].Transforms[0] = cbc128
	if DefaultIKEProposals()[0].Transforms[0] != gcm256 {
		t.Error("DefaultIKEProposals returns shared storage")
	}
}

func TestSupported(t *testing.T) {
	for _, tc := range []struct {
		tr           Transform
		modern, lgcy bool
	}{
		{gcm256, true, true},
		{EncrAESGCM16.Transform(192), false, false},
		{EncrAESGCM8.Transform(256), false, false},
		{EncrDES3.Transform(0), false, false},
		{hmacSHA1, false, true},
		{prf1, false, true},
		{modp1k, false, true},
		{DHMODP8192.Transform(), true, true},
		{DHMODP1536.Transform(), false, false},
		{dhNone, true, true},
		{IntegNone.Transform(), true, true},
		{withESN, true, true},
		{ESN(2).Transform(), false, false},
		{Transform{Type: TypePRF, ID: uint16(PRFHMACSHA256), KeyLen: 256}, false, false},
		{Transform{Type: 6, ID: 0}, false, false},
	} {
		if got := Supported(tc.tr, false); got != tc.modern {
			t.Errorf("Supported(%s, false) = %v", tc.tr, got)
		}
		if got := Supported(tc.tr, true); got != tc.lgcy {
			t.Errorf("Supported(%s, true) = %v", tc.tr, got)
		}
	}
}

func TestSuiteValidate(t *testing.T) {
	good := Suite{Protocol: ProtocolIKE, Encr: EncrAESCBC, KeyLen: 256, Integ: IntegHMACSHA256128, PRF: PRFHMACSHA256, DH: DHMODP2048}
	for _, tc := range []struct {
		name string
		edit func(*Suite)
		ok   bool
	}{
		{"good", func(*Suite) {}, true},
		{"zero", func(s *Suite) { *s = Suite{} }, false},
		{"CBC without INTEG", func(s *Suite) { s.Integ = IntegNone }, false},
		{"GCM with INTEG", func(s *Suite) { s.Encr = EncrAESGCM16 }, false},
		{"GCM", func(s *Suite) { s.Encr, s.Integ = EncrAESGCM16, IntegNone }, true},
		{"IKE without DH", func(s *Suite) { s.DH = DHNone }, false},
		{"IKE with ESN", func(s *Suite) { s.ESN = ESNYes }, false},
		{"IKE without PRF", func(s *Suite) { s.PRF = 0 }, false},
		{"ESP", func(s *Suite) { s.Protocol, s.PRF, s.DH = ProtocolESP, 0, DHNone }, true},
		{"ESP with PFS and ESN", func(s *Suite) { s.Protocol, s.PRF, s.ESN = ProtocolESP, 0, ESNYes }, true},
		{"ESP with PRF", func(s *Suite) { s.Protocol = ProtocolESP }, false},
		{"AH", func(s *Suite) { s.Protocol, s.PRF = ProtocolAH, 0 }, false},
		{"unknown group", func(s *Suite) { s.DH = 99 }, false},
		{"unknown integ", func(s *Suite) { s.Integ = IntegAESXCBC96 }, false},
	} {
		s := good
		tc.edit(&s)
		if err := s.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

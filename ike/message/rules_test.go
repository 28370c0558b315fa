package message

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	var (
		sa      = &SA{}
		ke      = &KE{}
		nonce   = &Nonce{}
		idi     = &IDi{}
		idr     = &IDr{}
		cert    = &Cert{}
		certreq = &CertReq{}
		auth    = &Auth{}
		tsi     = &TSi{}
		tsr     = &TSr{}
		cp      = &CP{}
		eap     = &EAP{}
		del     = &Delete{}
		v       = &VendorID{}
		sk      = &SK{}
		skf     = &SKF{}
		unknown = &Unknown{PayloadType: 150}
		natd    = &Notify{NotifyType: NotifyNATDetectionSourceIP}
		cookie  = &Notify{NotifyType: NotifyCookie}
		rekey   = &Notify{NotifyType: NotifyRekeySA}
		noProp  = &Notify{NotifyType: NotifyNoProposalChosen}
		authErr = &Notify{NotifyType: NotifyAuthenticationFailed}
		invKE   = &Notify{NotifyType: NotifyInvalidKEPayload}
	)
	const (
		req, resp   = false, true
		outer, in   = false, true
		init, ikeau = ExchangeIKESAInit, ExchangeIKEAuth
		child, info = ExchangeCreateChildSA, ExchangeInformational
	)
	type want struct {
		missing, unexpected, tooMany []PayloadType
	}
	cases := []struct {
		name      string
		x         ExchangeType
		response  bool
		encrypted bool
		ps        Payloads
		want      *want // nil: legal
	}{
		// IKE_SA_INIT
		{"IKE_SA_INIT request", init, req, outer, Payloads{sa, ke, nonce, natd, natd, v, v}, nil},
		{"IKE_SA_INIT request with cookie", init, req, outer, Payloads{cookie, sa, ke, nonce}, nil},
		{"IKE_SA_INIT request with unknown payload", init, req, outer, Payloads{sa, ke, nonce, unknown}, nil},
		{"IKE_SA_INIT request without SA", init, req, outer, Payloads{ke, nonce}, &want{missing: []PayloadType{PayloadSA}}},
		{"IKE_SA_INIT request without KE", init, req, outer, Payloads{sa, nonce, natd}, &want{missing: []PayloadType{PayloadKE}}},
		{"IKE_SA_INIT request without Nonce", init, req, outer, Payloads{sa, ke}, &want{missing: []PayloadType{PayloadNonce}}},
		{"IKE_SA_INIT request with two SAs", init, req, outer, Payloads{sa, sa, ke, nonce}, &want{tooMany: []PayloadType{PayloadSA}}},
		{"IKE_SA_INIT request with CERTREQ", init, req, outer, Payloads{sa, ke, nonce, certreq}, &want{unexpected: []PayloadType{PayloadCertReq}}},
		{"IKE_SA_INIT request with SK", init, req, outer, Payloads{sk}, &want{missing: []PayloadType{PayloadSA, PayloadKE, PayloadNonce}, unexpected: []PayloadType{PayloadSK}}},
		{"IKE_SA_INIT request of an error alone", init, req, outer, Payloads{authErr}, &want{missing: []PayloadType{PayloadSA, PayloadKE, PayloadNonce}}},
		{"IKE_SA_INIT response", init, resp, outer, Payloads{sa, ke, nonce, natd, certreq, certreq, v}, nil},
		{"IKE_SA_INIT response COOKIE", init, resp, outer, Payloads{cookie}, nil},
		{"IKE_SA_INIT response INVALID_KE_PAYLOAD", init, resp, outer, Payloads{invKE}, nil},
		{"IKE_SA_INIT response NO_PROPOSAL_CHOSEN", init, resp, outer, Payloads{noProp, v}, nil},
		{"IKE_SA_INIT response without Nonce", init, resp, outer, Payloads{sa, ke}, &want{missing: []PayloadType{PayloadNonce}}},
		{"IKE_SA_INIT response empty", init, resp, outer, nil, &want{missing: []PayloadType{PayloadNotify}}},
		{"IKE_SA_INIT has nothing encrypted", init, req, in, nil, nil},
		{"IKE_SA_INIT payload inside SK", init, resp, in, Payloads{nonce}, &want{unexpected: []PayloadType{PayloadNonce}}},

		// outside SK
		{"IKE_AUTH request SK", ikeau, req, outer, Payloads{sk}, nil},
		{"IKE_AUTH request SKF", ikeau, req, outer, Payloads{skf}, nil},
		{"CREATE_CHILD_SA response SK", child, resp, outer, Payloads{sk}, nil},
		{"INFORMATIONAL request SK", info, req, outer, Payloads{sk}, nil},
		{"IKE_AUTH request in clear", ikeau, req, outer, Payloads{idi, auth}, &want{missing: []PayloadType{PayloadSK}, unexpected: []PayloadType{PayloadIDi, PayloadAuth}}},
		{"INFORMATIONAL request without SK", info, req, outer, nil, &want{missing: []PayloadType{PayloadSK}}},
		{"IKE_AUTH request V before SK", ikeau, req, outer, Payloads{v, sk}, &want{unexpected: []PayloadType{PayloadVendorID}}},

		// IKE_AUTH request
		{"IKE_AUTH request, certificate", ikeau, req, in, Payloads{idi, cert, cert, certreq, natd, idr, auth, cp, sa, tsi, tsr, v}, nil},
		{"IKE_AUTH request, Windows without IDr", ikeau, req, in, Payloads{idi, cert, certreq, auth, natd, cp, sa, tsi, tsr}, nil},
		{"IKE_AUTH request, asking for EAP", ikeau, req, in, Payloads{idi, idr, cp, sa, tsi, tsr, natd}, nil},
		{"IKE_AUTH request, childless", ikeau, req, in, Payloads{idi, auth}, nil},
		{"IKE_AUTH request, EAP round", ikeau, req, in, Payloads{eap}, nil},
		{"IKE_AUTH request, AUTH after EAP", ikeau, req, in, Payloads{auth}, nil},
		{"IKE_AUTH request, AUTH without IDi", ikeau, req, in, Payloads{auth, sa, tsi, tsr}, &want{missing: []PayloadType{PayloadIDi}}},
		{"IKE_AUTH request, IDi twice", ikeau, req, in, Payloads{idi, idi, auth}, &want{tooMany: []PayloadType{PayloadIDi}}},
		{"IKE_AUTH request, SA without TS", ikeau, req, in, Payloads{idi, auth, sa}, &want{missing: []PayloadType{PayloadTSi, PayloadTSr}}},
		{"IKE_AUTH request, KE", ikeau, req, in, Payloads{idi, auth, ke, sa, tsi, tsr}, &want{unexpected: []PayloadType{PayloadKE}}},
		{"IKE_AUTH request, EAP with IDi", ikeau, req, in, Payloads{idi, eap}, &want{unexpected: []PayloadType{PayloadEAP}}},
		{"IKE_AUTH request, error alone", ikeau, req, in, Payloads{authErr}, &want{missing: []PayloadType{PayloadIDi}}},

		// IKE_AUTH response
		{"IKE_AUTH response, certificate", ikeau, resp, in, Payloads{idr, cert, auth, cp, sa, tsi, tsr, natd}, nil},
		{"IKE_AUTH response, Child SA refused", ikeau, resp, in, Payloads{idr, auth, noProp}, nil},
		{"IKE_AUTH response, EAP start", ikeau, resp, in, Payloads{idr, cert, auth, eap}, nil},
		{"IKE_AUTH response, EAP-only start", ikeau, resp, in, Payloads{idr, eap}, nil},
		{"IKE_AUTH response, EAP round", ikeau, resp, in, Payloads{eap}, nil},
		{"IKE_AUTH response, after EAP", ikeau, resp, in, Payloads{auth, cp, sa, tsi, tsr}, nil},
		{"IKE_AUTH response, AUTHENTICATION_FAILED", ikeau, resp, in, Payloads{authErr}, nil},
		{"IKE_AUTH response, without AUTH", ikeau, resp, in, Payloads{idr, cert, sa, tsi, tsr}, &want{missing: []PayloadType{PayloadAuth}}},
		{"IKE_AUTH response, IDi", ikeau, resp, in, Payloads{idi, idr, auth, sa, tsi, tsr}, &want{unexpected: []PayloadType{PayloadIDi}}},
		{"IKE_AUTH response, status notify alone", ikeau, resp, in, Payloads{natd}, &want{missing: []PayloadType{PayloadEAP}}},

		// CREATE_CHILD_SA
		{"CREATE_CHILD_SA new Child SA", child, req, in, Payloads{sa, nonce, tsi, tsr}, nil},
		{"CREATE_CHILD_SA Child SA rekey with PFS", child, req, in, Payloads{rekey, sa, nonce, ke, tsi, tsr}, nil},
		{"CREATE_CHILD_SA IKE SA rekey", child, req, in, Payloads{sa, nonce, ke}, nil},
		{"CREATE_CHILD_SA request without SA", child, req, in, Payloads{nonce, ke}, &want{missing: []PayloadType{PayloadSA}}},
		{"CREATE_CHILD_SA request without Nonce", child, req, in, Payloads{sa, ke, tsi, tsr}, &want{missing: []PayloadType{PayloadNonce}}},
		{"CREATE_CHILD_SA IKE rekey without KE", child, req, in, Payloads{sa, nonce}, &want{missing: []PayloadType{PayloadKE}}},
		{"CREATE_CHILD_SA request with AUTH", child, req, in, Payloads{auth, sa, nonce, ke}, &want{unexpected: []PayloadType{PayloadAuth}}},
		{"CREATE_CHILD_SA response", child, resp, in, Payloads{sa, nonce, tsi, tsr}, nil},
		{"CREATE_CHILD_SA response INVALID_KE_PAYLOAD", child, resp, in, Payloads{invKE}, nil},
		{"CREATE_CHILD_SA response two Nonces", child, resp, in, Payloads{sa, nonce, nonce, ke}, &want{tooMany: []PayloadType{PayloadNonce}}},

		// INFORMATIONAL
		{"INFORMATIONAL liveness check", info, req, in, nil, nil},
		{"INFORMATIONAL delete", info, req, in, Payloads{del, del}, nil},
		{"INFORMATIONAL MOBIKE update", info, req, in, Payloads{natd, natd, &Notify{NotifyType: NotifyUpdateSAAddresses}}, nil},
		{"INFORMATIONAL error report", info, req, in, Payloads{authErr}, nil},
		{"INFORMATIONAL empty response", info, resp, in, nil, nil},
		{"INFORMATIONAL with SA", info, req, in, Payloads{sa, del}, &want{unexpected: []PayloadType{PayloadSA}}},
		{"INFORMATIONAL with two CPs", info, resp, in, Payloads{cp, cp}, &want{tooMany: []PayloadType{PayloadCP}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.x, tc.response, tc.encrypted, tc.ps)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("legal message refused: %v", err)
				}
				return
			}
			var re *RuleError
			if !errors.As(err, &re) || !errors.Is(err, ErrSyntax) {
				t.Fatalf("err = %v, want a *RuleError", err)
			}
			got := want{re.Missing, re.Unexpected, re.TooMany}
			if !reflect.DeepEqual(got, *tc.want) {
				t.Fatalf("got missing %v unexpected %v too many %v\nwant missing %v unexpected %v too many %v (%v)",
					got.missing, got.unexpected, got.tooMany, tc.want.missing, tc.want.unexpected, tc.want.tooMany, err)
			}
			if re.Exchange != tc.x || re.Response != tc.response || re.Encrypted != tc.encrypted {
				t.Fatalf("error context %+v", re)
			}
			for _, pt := range append(append(got.missing, got.unexpected...), got.tooMany...) {
				if !strings.Contains(err.Error(), pt.String()) {
					t.Fatalf("error %q does not name %v", err, pt)
				}
			}
		})
	}
}

func TestCheckUnknownExchange(t *testing.T) {
	err := Check(ExchangeType(43), false, true, nil)
	var re *RuleError
	if !errors.Is(err, ErrSyntax) || errors.As(err, &re) {
		t.Fatalf("err = %v", err)
	}
}

func TestRuleErrorMessage(t *testing.T) {
	err := Check(ExchangeIKEAuth, false, true, Payloads{&Auth{}, &SA{}, &TSi{}, &TSr{}, &KE{}})
	const want = "ike/message: IKE_AUTH request (inside SK): missing IDi: unexpected KE (closest legal form: IKE_AUTH request)"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

// TestRulesTableCoversEveryExchange guards the table itself: four entries per exchange.
func TestRulesTableCoversEveryExchange(t *testing.T) {
	for _, x := range []ExchangeType{ExchangeIKESAInit, ExchangeIKEAuth, ExchangeCreateChildSA, ExchangeInformational} {
		for _, response := range []bool{false, true} {
			for _, encrypted := range []bool{false, true} {
				if lookupRules(x, response, encrypted) == nil {
					t.Errorf("no rules for %v response=%v encrypted=%v", x, response, encrypted)
				}
			}
		}
	}
}

package message

import (
	"fmt"
	"strings"
)

// Which payloads each exchange may carry, as data. Sources: RFC 7296 §1.2 (IKE_SA_INIT,
// IKE_AUTH), §1.3 (CREATE_CHILD_SA), §1.4 (INFORMATIONAL), §1.5 and §2.21 (error answers),
// §2.6 (COOKIE), §2.16 (EAP rounds), §3.14 (SK is last and alone outside); RFC 7383 (SKF),
// RFC 5998 (EAP-only: the responder's first IKE_AUTH response may lack AUTH), RFC 6023
// (childless: SA, TSi and TSr together absent); cross-checked with strongSwan's
// src/libcharon/encoding/message.c tables, which also allow CP in CREATE_CHILD_SA.
//
// A message is legal if its payloads fit one of the shapes listed for its exchange, direction
// and level (outside SK, or inside it). Notify and Vendor ID payloads are allowed in any
// number wherever the RFC shows [N+] or [V+]; non-critical unknown payloads are ignored. A
// response whose only payloads are notifies, one of them an error, is legal everywhere
// (errorAlone): that is how requests are refused.

// rule bounds how many payloads of one type a shape allows.
type rule struct {
	t        PayloadType
	min, max int
}

func one(t PayloadType) rule  { return rule{t, 1, 1} }           // X
func opt(t PayloadType) rule  { return rule{t, 0, 1} }           // [X]
func some(t PayloadType) rule { return rule{t, 0, MaxPayloads} } // [X+]

// shape is one legal set of payloads.
type shape struct {
	name  string
	rules []rule
	// together lists types that are all present or all absent (a Child SA's SA, TSi, TSr).
	together []PayloadType
}

// exchangeRules are the shapes of one exchange, direction and level.
type exchangeRules struct {
	exchange   ExchangeType
	response   bool
	encrypted  bool // inside SK, rather than after the IKE header
	errorAlone bool // a response of error notifies only is legal
	shapes     []shape
}

// exchangeTable is the table; the short names keep its rows readable.
var exchangeTable = func() []exchangeRules {
	const (
		sa, ke, nonce, n, v = PayloadSA, PayloadKE, PayloadNonce, PayloadNotify, PayloadVendorID
		idi, idr, auth, eap = PayloadIDi, PayloadIDr, PayloadAuth, PayloadEAP
		cert, certreq, cp   = PayloadCert, PayloadCertReq, PayloadCP
		tsi, tsr, del       = PayloadTSi, PayloadTSr, PayloadDelete
	)

	// childSA are the payloads that create a Child SA; IKE_AUTH carries them all or none.
	childSA := []PayloadType{sa, tsi, tsr}

	// sealedOnly is the outside of every exchange after IKE_SA_INIT: one SK, or one SKF fragment.
	sealedOnly := []shape{
		{name: "SK", rules: []rule{one(PayloadSK)}},
		{name: "SKF", rules: []rule{one(PayloadSKF)}},
	}

	// nothing is the inside of IKE_SA_INIT, which has no SK.
	nothing := []shape{{name: "no encrypted payloads"}}

	return []exchangeRules{
		// HDR, SAi1, KEi, Ni, [N+], [V+] -->   (N(COOKIE) first on a retry, §2.6)
		{ExchangeIKESAInit, false, false, false, []shape{
			{name: "IKE_SA_INIT request", rules: []rule{one(sa), one(ke), one(nonce), some(n), some(v)}},
		}},
		// <-- HDR, SAr1, KEr, Nr, [CERTREQ+], [N+], [V+]
		// <-- HDR, N(COOKIE) | N(INVALID_KE_PAYLOAD) | N(NO_PROPOSAL_CHOSEN) | N(REDIRECT), [V+]
		{ExchangeIKESAInit, true, false, true, []shape{
			{name: "IKE_SA_INIT response", rules: []rule{one(sa), one(ke), one(nonce), some(certreq), some(n), some(v)}},
			{name: "IKE_SA_INIT notify-only response", rules: []rule{{n, 1, MaxPayloads}, some(v)}},
		}},
		{ExchangeIKESAInit, false, true, false, nothing},
		{ExchangeIKESAInit, true, true, false, nothing},

		{ExchangeIKEAuth, false, false, false, sealedOnly},
		{ExchangeIKEAuth, true, false, false, sealedOnly},
		// HDR, SK {IDi, [CERT+], [CERTREQ+], [IDr], [AUTH], [CP], [SA, TSi, TSr], [N+], [V+]} -->
		//   (no AUTH: the initiator asks for EAP, §2.16; no SA/TSi/TSr: childless, RFC 6023)
		// HDR, SK {EAP, [N+]} -->               an EAP round
		// HDR, SK {AUTH, [N+]} -->              AUTH from the EAP MSK, last round
		{ExchangeIKEAuth, false, true, false, []shape{
			{name: "IKE_AUTH request", together: childSA, rules: []rule{
				one(idi), some(cert), some(certreq), opt(idr), opt(auth), opt(cp),
				opt(sa), opt(tsi), opt(tsr), some(n), some(v)}},
			{name: "IKE_AUTH request, EAP round", rules: []rule{one(eap), some(n), some(v)}},
			{name: "IKE_AUTH request, AUTH after EAP", rules: []rule{one(auth), some(n), some(v)}},
		}},
		// <-- HDR, SK {IDr, [CERT+], AUTH, [CP], [SA, TSi, TSr], [N+], [V+]}
		//   (no SA/TSi/TSr: childless, or the Child SA failed and an error notify says why)
		// <-- HDR, SK {IDr, [CERT+], [AUTH], EAP, [N+], [V+]}   EAP starts (no AUTH: RFC 5998)
		// <-- HDR, SK {EAP, [N+], [V+]}                         an EAP round, EAP-Success
		// <-- HDR, SK {AUTH, [CP], [SA, TSi, TSr], [N+], [V+]}  after EAP
		{ExchangeIKEAuth, true, true, true, []shape{
			{name: "IKE_AUTH response", together: childSA, rules: []rule{
				one(idr), some(cert), one(auth), opt(cp), opt(sa), opt(tsi), opt(tsr), some(n), some(v)}},
			{name: "IKE_AUTH response, EAP start", rules: []rule{
				one(idr), some(cert), opt(auth), one(eap), some(n), some(v)}},
			{name: "IKE_AUTH response, EAP round", rules: []rule{one(eap), some(n), some(v)}},
			{name: "IKE_AUTH response, AUTH after EAP", together: childSA, rules: []rule{
				one(auth), opt(cp), opt(sa), opt(tsi), opt(tsr), some(n), some(v)}},
		}},

		{ExchangeCreateChildSA, false, false, false, sealedOnly},
		{ExchangeCreateChildSA, true, false, false, sealedOnly},
		// HDR, SK {[N(REKEY_SA)], [N+], SA, Ni, [KEi], TSi, TSr} -->   new or rekeyed Child SA
		// HDR, SK {SA, Ni, KEi} -->                                    IKE SA rekey
		{ExchangeCreateChildSA, false, true, false, []shape{
			{name: "CREATE_CHILD_SA request for a Child SA", rules: []rule{
				one(sa), one(nonce), opt(ke), one(tsi), one(tsr), opt(cp), some(n), some(v)}},
			{name: "CREATE_CHILD_SA request to rekey the IKE SA", rules: []rule{
				one(sa), one(nonce), one(ke), some(n), some(v)}},
		}},
		// <-- HDR, SK {SA, Nr, [KEr], TSi, TSr, [N+]}
		// <-- HDR, SK {SA, Nr, KEr}
		{ExchangeCreateChildSA, true, true, true, []shape{
			{name: "CREATE_CHILD_SA response for a Child SA", rules: []rule{
				one(sa), one(nonce), opt(ke), one(tsi), one(tsr), opt(cp), some(n), some(v)}},
			{name: "CREATE_CHILD_SA response to rekey the IKE SA", rules: []rule{
				one(sa), one(nonce), one(ke), some(n), some(v)}},
		}},

		{ExchangeInformational, false, false, false, sealedOnly},
		{ExchangeInformational, true, false, false, sealedOnly},
		// HDR, SK {[N+], [D+], [CP], [V+]} <-->   (empty: a liveness check)
		{ExchangeInformational, false, true, false, []shape{
			{name: "INFORMATIONAL request", rules: []rule{some(n), some(del), opt(cp), some(v)}},
		}},
		{ExchangeInformational, true, true, true, []shape{
			{name: "INFORMATIONAL response", rules: []rule{some(n), some(del), opt(cp), some(v)}},
		}},
	}
}()

// RuleError reports a message whose payloads fit no legal shape of its exchange. It names the
// closest shape and what the message lacks or has in excess against it. It matches ErrSyntax
// under errors.Is: the answer is INVALID_SYNTAX.
type RuleError struct {
	Exchange   ExchangeType
	Response   bool
	Encrypted  bool
	Closest    string        // the name of the closest legal shape
	Missing    []PayloadType // mandatory payloads absent
	Unexpected []PayloadType // payloads the shape does not allow
	TooMany    []PayloadType // payloads present more often than allowed
}

func (e *RuleError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ike/message: %v %s", e.Exchange, direction(e.Response))
	if e.Encrypted {
		b.WriteString(" (inside SK)")
	}
	for _, part := range []struct {
		what  string
		types []PayloadType
	}{{"missing", e.Missing}, {"unexpected", e.Unexpected}, {"too many", e.TooMany}} {
		if len(part.types) > 0 {
			fmt.Fprintf(&b, ": %s %s", part.what, typeList(part.types))
		}
	}
	if e.Closest != "" {
		fmt.Fprintf(&b, " (closest legal form: %s)", e.Closest)
	}
	return b.String()
}

// Unwrap returns ErrSyntax.
func (e *RuleError) Unwrap() error { return ErrSyntax }

func (e *RuleError) problems() int { return len(e.Missing) + len(e.Unexpected) + len(e.TooMany) }

func direction(response bool) string {
	if response {
		return "response"
	}
	return "request"
}

func typeList(ts []PayloadType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.String()
	}
	return strings.Join(s, ", ")
}

// Check reports whether payloads may appear in a message of the exchange, direction and level
// given: encrypted false for the payloads after the IKE header (Message.Payloads), true for the
// inner payloads of the SK payload (or of the reassembled SKF fragments). It returns nil, a
// *RuleError naming the missing, unexpected or excess payloads, or, for an exchange type the
// table does not know, an error wrapping ErrSyntax. *Unknown payloads are ignored: the decoder
// only keeps non-critical ones, which the receiver must skip.
//
// Check knows nothing of state: that an IKE_AUTH request carries AUTH is legal both in the
// first round and after EAP; the state machine checks which round it is in.
func Check(exchange ExchangeType, isResponse, encrypted bool, payloads []Payload) error {
	er := lookupRules(exchange, isResponse, encrypted)
	if er == nil {
		return fmt.Errorf("ike/message: no payload rules for exchange %v: %w", exchange, ErrSyntax)
	}
	counts, order := countPayloads(payloads)
	if er.errorAlone && errorsAlone(payloads) {
		return nil
	}
	var best *RuleError
	for i := range er.shapes {
		e := matchShape(&er.shapes[i], counts, order)
		if e == nil {
			return nil
		}
		if best == nil || e.problems() < best.problems() {
			best = e
		}
	}
	best.Exchange, best.Response, best.Encrypted = exchange, isResponse, encrypted
	return best
}

func lookupRules(exchange ExchangeType, response, encrypted bool) *exchangeRules {
	for i := range exchangeTable {
		er := &exchangeTable[i]
		if er.exchange == exchange && er.response == response && er.encrypted == encrypted {
			return er
		}
	}
	return nil
}

// countPayloads counts the payloads of each known type and lists the types in the order they
// first appear, so errors name them in message order.
func countPayloads(ps []Payload) (map[PayloadType]int, []PayloadType) {
	counts := make(map[PayloadType]int)
	var order []PayloadType
	for _, p := range ps {
		if _, ok := p.(*Unknown); ok {
			continue
		}
		t := p.Type()
		if counts[t] == 0 {
			order = append(order, t)
		}
		counts[t]++
	}
	return counts, order
}

// errorsAlone reports whether ps holds notifies only (besides unknown payloads), at least one
// of them an error.
func errorsAlone(ps []Payload) bool {
	sawError := false
	for _, p := range ps {
		switch p := p.(type) {
		case *Notify:
			sawError = sawError || p.NotifyType.IsError()
		case *Unknown:
		default:
			return false
		}
	}
	return sawError
}

// matchShape returns nil if the counts fit s, else what is wrong.
func matchShape(s *shape, counts map[PayloadType]int, order []PayloadType) *RuleError {
	e := &RuleError{Closest: s.name}
	allowed := make(map[PayloadType]bool, len(s.rules))
	for _, r := range s.rules {
		allowed[r.t] = true
		switch c := counts[r.t]; {
		case c < r.min:
			e.Missing = append(e.Missing, r.t)
		case c > r.max:
			e.TooMany = append(e.TooMany, r.t)
		}
	}
	present := 0
	for _, t := range s.together {
		if counts[t] > 0 {
			present++
		}
	}
	if present > 0 && present < len(s.together) {
		for _, t := range s.together {
			if counts[t] == 0 {
				e.Missing = append(e.Missing, t)
			}
		}
	}
	for _, t := range order {
		if !allowed[t] {
			e.Unexpected = append(e.Unexpected, t)
		}
	}
	if e.problems() == 0 {
		return nil
	}
	return e
}

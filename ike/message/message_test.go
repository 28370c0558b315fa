package message

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// sampleMessages are whole messages built from the sample payloads.
func sampleMessages() []struct {
	name string
	m    *Message
} {
	init := testHeader
	init.Exchange, init.MessageID, init.SPIr = ExchangeIKESAInit, 0, 0
	sk := testHeader
	return []struct {
		name string
		m    *Message
	}{
		{"IKE_SA_INIT request", &Message{Header: init, Payloads: Payloads{
			samplePayloads()[0].p, &KE{Group: 19, Data: seq(0, 64)}, &Nonce{Data: seq(0, 32)},
			&Notify{NotifyType: NotifyNATDetectionSourceIP, Data: seq(1, 20)},
			&Notify{NotifyType: NotifyNATDetectionDestinationIP, Data: seq(2, 20)},
			&Notify{NotifyType: NotifyIKEv2FragmentationSupported},
			SignatureHashAlgorithms(HashSHA256, HashSHA384), &VendorID{Data: seq(3, 16)},
		}}},
		{"every payload unencrypted", &Message{Header: init, Payloads: innerChain()}},
		{"no payloads", &Message{Header: init}},
		{"SK", &Message{Header: sk, Payloads: Payloads{&SK{NextPayload: PayloadIDi, Body: seq(0, 96)}}}},
		{"SK after a vendor ID", &Message{Header: sk, Payloads: Payloads{&VendorID{Data: seq(0, 4)}, &SK{NextPayload: PayloadNone, Body: seq(0, 32)}}}},
		{"SKF", &Message{Header: sk, Payloads: Payloads{&SKF{NextPayload: PayloadIDi, FragmentNumber: 1, TotalFragments: 3, Body: seq(0, 64)}}}},
	}
}

func TestMessageRoundTrip(t *testing.T) {
	for _, tc := range sampleMessages() {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.m.Append([]byte("prefix"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b, []byte("prefix")) {
				t.Fatal("Append did not append")
			}
			b = b[len("prefix"):]
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			want := *tc.m
			want.NextPayload, want.Length = tc.m.Payloads.First(), uint32(len(b))
			if !reflect.DeepEqual(got, &want) {
				t.Fatalf("round trip:\n got %+v %v\nwant %+v %v", got.Header, got.Payloads, want.Header, want.Payloads)
			}
		})
	}
}

func TestMessageEncodeErrors(t *testing.T) {
	sk := &SK{Body: seq(0, 16)}
	cases := []struct {
		name string
		ps   Payloads
		want error
	}{
		{"SK not last", Payloads{sk, &VendorID{}}, ErrSyntax},
		{"nil payload", Payloads{&VendorID{}, nil}, ErrSyntax},
		{"too many payloads", make(Payloads, MaxPayloads+1), ErrTooMany},
		{"over 64 KiB", Payloads{&VendorID{Data: make([]byte, 40000)}, &VendorID{Data: make([]byte, 40000)}}, ErrTooLarge},
	}
	for i := range cases[2].ps {
		cases[2].ps[i] = &VendorID{}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := (&Message{Header: testHeader, Payloads: tc.ps}).Append(nil)
			if !errors.Is(err, tc.want) || len(b) != 0 {
				t.Fatalf("err = %v (%d bytes), want %v", err, len(b), tc.want)
			}
		})
	}
	if _, err := AppendPayloads(nil, []Payload{sk}); !errors.Is(err, ErrSyntax) {
		t.Fatalf("SK in an inner chain: %v", err)
	}
}

func TestDecodeMessageErrors(t *testing.T) {
	h := testHeader
	nonce := rawPayload(PayloadNone, false, seq(0, 16))
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"SK not last", rawMessage(h, PayloadSK, append(rawPayload(PayloadNonce, false, seq(0, 16)), nonce...)), ErrSyntax},
		{"SKF fragment 2 of 1", rawMessage(h, PayloadSKF, rawPayload(PayloadNone, false, []byte{0, 2, 0, 1})), ErrSyntax},
		{"SKF cut", rawMessage(h, PayloadSKF, rawPayload(PayloadNone, false, []byte{0, 1, 0})), ErrTruncated},
		{"payload past the message", rawMessage(h, PayloadNonce, nonce[:10]), ErrTruncated},
		{"bytes after the chain", rawMessage(h, PayloadNonce, append(bytes.Clone(nonce), 1)), ErrBadLength},
		{"critical unknown", rawMessage(h, 99, rawPayload(PayloadNone, true, nil)), ErrUnsupportedCritical},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Decode(tc.b); !errors.Is(err, tc.want) {
				t.Fatalf("Decode: err = %v, want %v", err, tc.want)
			}
			if _, err := DecodeSealed(tc.b); !errors.Is(err, tc.want) {
				t.Fatalf("DecodeSealed: err = %v, want %v", err, tc.want)
			}
		})
	}
}

// truncationInputs are valid datagrams: the captures and the sample messages.
func truncationInputs(t *testing.T) map[string][]byte {
	in := make(map[string][]byte)
	for _, name := range captureNames {
		in[name] = readTestdata(t, name)
	}
	for _, tc := range sampleMessages() {
		b, err := tc.m.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		in[tc.name] = b
	}
	return in
}

// TestTruncatedEverywhere cuts every valid message at every length, once as is (the header's
// length check catches it) and once with the length field patched to agree, so the cut lands
// in the payload decoders. Every cut must fail, none may panic.
func TestTruncatedEverywhere(t *testing.T) {
	for name, full := range truncationInputs(t) {
		t.Run(name, func(t *testing.T) {
			if _, err := Decode(full); err != nil {
				t.Fatalf("the whole message fails: %v", err)
			}
			for i := range len(full) {
				cut := bytes.Clone(full[:i])
				if _, err := Decode(cut); err == nil {
					t.Fatalf("cut at %d: no error", i)
				}
				if i < HeaderLen {
					continue
				}
				binary.BigEndian.PutUint32(cut[offLength:], uint32(i))
				if m, err := Decode(cut); err == nil {
					t.Fatalf("cut at %d with a matching length field: no error, %v", i, m.Payloads)
				}
				if _, err := DecodeSealed(cut); err == nil {
					t.Fatalf("DecodeSealed, cut at %d with a matching length field: no error", i)
				}
			}
		})
	}
	chain := mustAppend(t, innerChain()...)
	for i := range len(chain) {
		if _, err := DecodePayloads(innerChain().First(), chain[:i]); err == nil {
			t.Fatalf("inner chain cut at %d: no error", i)
		}
	}
}

func TestLimits(t *testing.T) {
	manyTransforms := func(n int) []Transform {
		ts := make([]Transform, n)
		for i := range ts {
			ts[i] = Transform{Type: TransformDH, ID: uint16(i)}
		}
		return ts
	}
	manyProposals := func(n int) []Proposal {
		ps := make([]Proposal, n)
		for i := range ps {
			ps[i] = Proposal{Number: uint8(i + 1), Protocol: ProtocolIKE, Transforms: manyTransforms(1)}
		}
		return ps
	}
	manyAttrs := make([]Attribute, MaxTransformAttributes+1)
	for i := range manyAttrs {
		manyAttrs[i] = KeyLengthAttribute(128)
	}
	manyCP := make([]CPAttribute, MaxCPAttributes+1)
	for i := range manyCP {
		manyCP[i] = CPAttribute{Type: CPInternalIP4DNS}
	}
	manySelectors := make([]Selector, MaxSelectors+1)
	for i := range manySelectors {
		manySelectors[i] = Selector{Type: TSIPv4AddrRange, StartAddr: testAddr("10.0.0.1"), EndAddr: testAddr("10.0.0.1")}
	}
	cases := []struct {
		name    string
		atLimit Payload
		over    Payload
	}{
		{"proposals", &SA{Proposals: manyProposals(MaxProposals)}, &SA{Proposals: manyProposals(MaxProposals + 1)}},
		{"transforms",
			&SA{Proposals: []Proposal{{Number: 1, Protocol: ProtocolIKE, Transforms: manyTransforms(MaxTransforms)}}},
			&SA{Proposals: []Proposal{{Number: 1, Protocol: ProtocolIKE, Transforms: manyTransforms(MaxTransforms + 1)}}}},
		{"transform attributes",
			&SA{Proposals: []Proposal{{Number: 1, Protocol: ProtocolIKE, Transforms: []Transform{{Attributes: manyAttrs[:MaxTransformAttributes]}}}}},
			&SA{Proposals: []Proposal{{Number: 1, Protocol: ProtocolIKE, Transforms: []Transform{{Attributes: manyAttrs}}}}}},
		{"CP attributes", &CP{Attributes: manyCP[:MaxCPAttributes]}, &CP{Attributes: manyCP}},
		{"selectors", &TSi{Selectors: manySelectors[:MaxSelectors]}, &TSi{Selectors: manySelectors}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := mustAppend(t, tc.atLimit)
			if _, err := DecodePayloads(tc.atLimit.Type(), b); err != nil {
				t.Fatalf("at the limit: %v", err)
			}
			if _, err := AppendPayloads(nil, []Payload{tc.over}); !errors.Is(err, ErrTooMany) {
				t.Fatalf("encode over the limit: %v, want ErrTooMany", err)
			}
		})
	}

	// Over-limit bytes, built by hand since the encoder refuses them.
	t.Run("decode limits", func(t *testing.T) {
		transform := []byte{3, 0, 0, 8, 4, 0, 0, 19}
		proposal := func(num byte, last byte, transforms int) []byte {
			body := bytes.Repeat(transform, transforms)
			body[len(body)-8] = 0
			n := proposalHeaderLen + len(body)
			return append([]byte{last, 0, byte(n >> 8), byte(n), num, 1, 0, byte(transforms)}, body...)
		}
		var sa []byte
		for i := range MaxProposals + 1 {
			last := byte(moreProposals)
			if i == MaxProposals {
				last = 0
			}
			sa = append(sa, proposal(byte(i+1), last, 1)...)
		}
		attr := []byte{0x80, 14, 0, 128}
		tr := append([]byte{0, 0, 0, byte(8 + 4*(MaxTransformAttributes+1)), 1, 0, 0, 12}, bytes.Repeat(attr, MaxTransformAttributes+1)...)
		attrs := append([]byte{0, 0, 0, byte(8 + len(tr)), 1, 1, 0, 1}, tr...)
		cp := append([]byte{1, 0, 0, 0}, bytes.Repeat([]byte{0, 3, 0, 0}, MaxCPAttributes+1)...)
		for _, c := range []struct {
			name string
			t    PayloadType
			body []byte
		}{
			{"proposals", PayloadSA, sa},
			{"transforms", PayloadSA, proposal(1, 0, MaxTransforms+1)},
			{"attributes", PayloadSA, attrs},
			{"CP attributes", PayloadCP, cp},
		} {
			if _, err := DecodePayloads(c.t, rawPayload(PayloadNone, false, c.body)); !errors.Is(err, ErrTooMany) {
				t.Errorf("%s: err = %v, want ErrTooMany", c.name, err)
			}
		}
		var chain []byte
		for range MaxPayloads {
			chain = append(chain, rawPayload(PayloadVendorID, false, nil)...)
		}
		chain = append(chain, rawPayload(PayloadNone, false, nil)...)
		if _, err := DecodePayloads(PayloadVendorID, chain); !errors.Is(err, ErrTooMany) {
			t.Errorf("%d payloads: err = %v, want ErrTooMany", MaxPayloads+1, err)
		}
		if _, err := Decode(rawMessage(testHeader, PayloadVendorID, chain)); !errors.Is(err, ErrTooMany) {
			t.Errorf("%d payloads in a message: err = %v, want ErrTooMany", MaxPayloads+1, err)
		}
		if _, err := DecodePayloads(PayloadVendorID, chain[PayloadHeaderLen:]); err != nil {
			t.Errorf("%d payloads: %v", MaxPayloads, err)
		}
	})
}

func TestPayloadsHelpers(t *testing.T) {
	nat := &Notify{NotifyType: NotifyNATDetectionSourceIP}
	cookie := &Notify{NotifyType: NotifyCookie}
	failed := &Notify{NotifyType: NotifyAuthenticationFailed}
	ps := Payloads{&Nonce{Data: seq(0, 16)}, nat, &VendorID{}, cookie, failed, &VendorID{}, &SKF{FragmentNumber: 2, TotalFragments: 3}}
	if ps.First() != PayloadNonce || (Payloads{}).First() != PayloadNone {
		t.Error("First")
	}
	if ps.Find(PayloadVendorID) != ps[2] || ps.Find(PayloadSA) != nil {
		t.Error("Find")
	}
	if all := ps.FindAll(PayloadVendorID); len(all) != 2 || all[1] != ps[5] {
		t.Error("FindAll")
	}
	if ns := ps.Notifies(); !reflect.DeepEqual(ns, []*Notify{nat, cookie, failed}) {
		t.Error("Notifies")
	}
	if ps.Notify(NotifyCookie) != cookie || ps.Notify(NotifyRekeySA) != nil {
		t.Error("Notify")
	}
	if ps.ErrorNotify() != failed || (Payloads{nat}).ErrorNotify() != nil {
		t.Error("ErrorNotify")
	}
	want := "Nonce N(NAT_DETECTION_SOURCE_IP) V N(COOKIE) N(AUTHENTICATION_FAILED) V SKF(2/3)"
	if got := ps.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if !strings.Contains(Payloads{&Unknown{PayloadType: 77}}.String(), "77") {
		t.Error("String of an unknown payload lacks its number")
	}
}

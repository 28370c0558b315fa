package message

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
)

func TestPayloadRoundTrip(t *testing.T) {
	for _, tc := range samplePayloads() {
		t.Run(tc.name, func(t *testing.T) {
			b := mustAppend(t, tc.p)
			got, err := DecodePayloads(tc.p.Type(), b)
			if err != nil {
				t.Fatalf("decode: %v\n% x", err, b)
			}
			if want := (Payloads{tc.p}); !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip:\n got %#v\nwant %#v", got[0], tc.p)
			}
			again := mustAppend(t, got...)
			if !bytes.Equal(again, b) {
				t.Fatalf("re-encoding differs:\n% x\n% x", again, b)
			}
		})
	}
}

func TestChainRoundTrip(t *testing.T) {
	chain := innerChain()
	b := mustAppend(t, chain...)
	got, err := DecodePayloads(chain.First(), b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, chain) {
		t.Fatalf("chain round trip:\n got %v\nwant %v", got, chain)
	}
}

func TestEmptyChain(t *testing.T) {
	ps, err := DecodePayloads(PayloadNone, nil)
	if err != nil || len(ps) != 0 {
		t.Fatalf("DecodePayloads(None, nil) = %v, %v; want empty, nil", ps, err)
	}
	if _, err := DecodePayloads(PayloadNone, []byte{0}); !errors.Is(err, ErrBadLength) {
		t.Fatalf("trailing byte after an empty chain: %v, want ErrBadLength", err)
	}
}

func TestDecodedPayloadsOwnTheirMemory(t *testing.T) {
	b := mustAppend(t, &Nonce{Data: seq(0, 32)}, &VendorID{Data: seq(1, 4)})
	ps, err := DecodePayloads(PayloadNonce, b)
	if err != nil {
		t.Fatal(err)
	}
	clear(b)
	if got := ps[0].(*Nonce).Data; !bytes.Equal(got, seq(0, 32)) {
		t.Fatalf("nonce changed with the input buffer: % x", got)
	}
	if v := ps[1].(*VendorID); cap(v.Data) != len(v.Data) {
		t.Fatalf("decoded field has spare capacity %d > %d: an append would overwrite the next field", cap(v.Data), len(v.Data))
	}
}

// TestPayloadBodyErrors feeds one malformed body per rule to the decoder of each payload type.
func TestPayloadBodyErrors(t *testing.T) {
	u16 := func(v int) []byte { return binary.BigEndian.AppendUint16(nil, uint16(v)) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	transform := func(last byte, length int) []byte { return cat([]byte{last, 0}, u16(length), []byte{1, 0, 0, 12}) }
	proposal := func(last, num, proto, spiLen, count byte, rest []byte) []byte {
		return cat([]byte{last, 0}, u16(proposalHeaderLen+len(rest)), []byte{num, proto, spiLen, count}, rest)
	}
	goodTransform := transform(0, 8)
	selector4 := func(length int) []byte { return cat([]byte{7, 0}, u16(length), make([]byte, 12)) }

	cases := []struct {
		name string
		t    PayloadType
		body []byte
		want error
	}{
		{"SA empty", PayloadSA, nil, ErrSyntax},
		{"SA proposal header cut", PayloadSA, []byte{0, 0, 0}, ErrTruncated},
		{"SA proposal length below header", PayloadSA, cat([]byte{0, 0}, u16(7), []byte{1, 1, 0, 0}), ErrBadLength},
		{"SA proposal length past payload", PayloadSA, cat([]byte{0, 0}, u16(20), []byte{1, 1, 0, 0}), ErrTruncated},
		{"SA proposal marked more but last", PayloadSA, proposal(2, 1, 1, 0, 1, goodTransform), ErrSyntax},
		{"SA proposal marked last but more follow", PayloadSA, cat(proposal(0, 1, 1, 0, 1, goodTransform), proposal(0, 2, 1, 0, 1, goodTransform)), ErrSyntax},
		{"SA proposal number 0", PayloadSA, proposal(0, 0, 1, 0, 1, goodTransform), ErrSyntax},
		{"SA proposal numbers skip", PayloadSA, cat(proposal(2, 1, 1, 0, 1, goodTransform), proposal(0, 3, 1, 0, 1, goodTransform)), ErrSyntax},
		{"SA IKE SPI of 4", PayloadSA, proposal(0, 1, 1, 4, 1, cat(seq(0, 4), goodTransform)), ErrSyntax},
		{"SA ESP SPI of 0", PayloadSA, proposal(0, 1, 3, 0, 1, goodTransform), ErrSyntax},
		{"SA SPI past proposal", PayloadSA, proposal(0, 1, 3, 4, 0, seq(0, 2)), ErrTruncated},
		{"SA transform count too high", PayloadSA, proposal(0, 1, 1, 0, 2, goodTransform), ErrSyntax},
		{"SA transform header cut", PayloadSA, proposal(0, 1, 1, 0, 1, goodTransform[:5]), ErrTruncated},
		{"SA transform length below header", PayloadSA, proposal(0, 1, 1, 0, 1, transform(0, 7)), ErrBadLength},
		{"SA transform length past proposal", PayloadSA, proposal(0, 1, 1, 0, 1, transform(0, 12)), ErrTruncated},
		{"SA transform marked more but last", PayloadSA, proposal(0, 1, 1, 0, 1, transform(3, 8)), ErrSyntax},
		{"SA attribute header cut", PayloadSA, proposal(0, 1, 1, 0, 1, cat(transform(0, 10), []byte{0x80, 14})), ErrTruncated},
		{"SA TLV attribute past transform", PayloadSA, proposal(0, 1, 1, 0, 1, cat(transform(0, 13), []byte{0, 1, 0, 9, 1})), ErrTruncated},
		{"KE cut", PayloadKE, []byte{0, 19, 0}, ErrTruncated},
		{"IDi cut", PayloadIDi, []byte{2, 0, 0}, ErrTruncated},
		{"IDi IPv4 of 5 bytes", PayloadIDi, cat([]byte{1, 0, 0, 0}, seq(0, 5)), ErrBadLength},
		{"IDr IPv6 of 4 bytes", PayloadIDr, cat([]byte{5, 0, 0, 0}, seq(0, 4)), ErrBadLength},
		{"CERT without encoding", PayloadCert, nil, ErrTruncated},
		{"CERTREQ without encoding", PayloadCertReq, nil, ErrTruncated},
		{"CERTREQ X.509 hashes of 19 bytes", PayloadCertReq, cat([]byte{4}, seq(0, 19)), ErrBadLength},
		{"AUTH cut", PayloadAuth, []byte{2, 0, 0}, ErrTruncated},
		{"Nonce of 15 bytes", PayloadNonce, seq(0, 15), ErrBadLength},
		{"Nonce of 257 bytes", PayloadNonce, seq(0, 257), ErrBadLength},
		{"N cut", PayloadNotify, []byte{0, 0, 0x40}, ErrTruncated},
		{"N SPI past payload", PayloadNotify, cat([]byte{3, 4}, u16(16393), seq(0, 2)), ErrTruncated},
		{"D cut", PayloadDelete, []byte{3, 4, 0}, ErrTruncated},
		{"D ESP SPIs short", PayloadDelete, cat([]byte{3, 4}, u16(2), seq(0, 7)), ErrBadLength},
		{"D ESP SPIs long", PayloadDelete, cat([]byte{3, 4}, u16(1), seq(0, 5)), ErrBadLength},
		{"D ESP SPI size 8", PayloadDelete, cat([]byte{3, 8}, u16(1), seq(0, 8)), ErrSyntax},
		{"D IKE with an SPI", PayloadDelete, cat([]byte{1, 8}, u16(1), seq(0, 8)), ErrSyntax},
		{"D unknown protocol", PayloadDelete, cat([]byte{9, 4}, u16(1), seq(0, 4)), ErrSyntax},
		{"TSi cut", PayloadTSi, []byte{1, 0, 0}, ErrTruncated},
		{"TSi zero selectors", PayloadTSi, []byte{0, 0, 0, 0}, ErrSyntax},
		{"TSi selector header cut", PayloadTSi, cat([]byte{1, 0, 0, 0}, []byte{7, 0, 0}), ErrTruncated},
		{"TSi IPv4 selector length 17", PayloadTSi, cat([]byte{1, 0, 0, 0}, selector4(17), []byte{0}), ErrBadLength},
		{"TSr IPv6 selector length 16", PayloadTSr, cat([]byte{1, 0, 0, 0}, []byte{8, 0}, u16(16), make([]byte, 12)), ErrBadLength},
		{"TSi selector past payload", PayloadTSi, cat([]byte{1, 0, 0, 0}, selector4(16)[:12]), ErrTruncated},
		{"TSi fewer selectors than announced", PayloadTSi, cat([]byte{2, 0, 0, 0}, selector4(16)), ErrTruncated},
		{"TSi more selectors than announced", PayloadTSi, cat([]byte{1, 0, 0, 0}, selector4(16), selector4(16)), ErrBadLength},
		{"TSr unknown selector type", PayloadTSr, cat([]byte{1, 0, 0, 0}, []byte{9, 0}, u16(16), make([]byte, 12)), ErrSyntax},
		{"CP cut", PayloadCP, []byte{1, 0, 0}, ErrTruncated},
		{"CP attribute header cut", PayloadCP, cat([]byte{1, 0, 0, 0}, []byte{0, 1, 0}), ErrTruncated},
		{"CP attribute past payload", PayloadCP, cat([]byte{1, 0, 0, 0}, []byte{0, 1}, u16(4), seq(0, 3)), ErrTruncated},
		{"CP IPv4 address of 3 bytes", PayloadCP, cat([]byte{2, 0, 0, 0}, []byte{0, 1}, u16(3), seq(0, 3)), ErrBadLength},
		{"CP IPv6 address of 16 bytes", PayloadCP, cat([]byte{2, 0, 0, 0}, []byte{0, 8}, u16(16), seq(0, 16)), ErrBadLength},
		{"CP supported attributes odd", PayloadCP, cat([]byte{2, 0, 0, 0}, []byte{0, 14}, u16(3), seq(0, 3)), ErrBadLength},
		{"EAP cut", PayloadEAP, []byte{1, 1, 0}, ErrTruncated},
		{"EAP length field disagrees", PayloadEAP, []byte{1, 1, 0, 6, 1}, ErrBadLength},
		{"EAP request without type", PayloadEAP, []byte{1, 1, 0, 4}, ErrTruncated},
		{"EAP success with data", PayloadEAP, []byte{3, 1, 0, 5, 0}, ErrBadLength},
		{"EAP unknown code", PayloadEAP, []byte{5, 1, 0, 4}, ErrSyntax},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodePayloads(tc.t, rawPayload(PayloadNone, false, tc.body))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestGenericHeaderErrors(t *testing.T) {
	nonce := rawPayload(PayloadNone, false, seq(0, 16))
	cases := []struct {
		name  string
		first PayloadType
		b     []byte
		want  error
	}{
		{"header cut", PayloadNonce, nonce[:3], ErrTruncated},
		{"length below header", PayloadNonce, []byte{0, 0, 0, 3}, ErrBadLength},
		{"length past data", PayloadNonce, nonce[:len(nonce)-1], ErrTruncated},
		{"next payload announced but missing", PayloadNonce, rawPayload(PayloadVendorID, false, seq(0, 16)), ErrTruncated},
		{"bytes after the last payload", PayloadNonce, append(bytes.Clone(nonce), 0, 0, 0, 4), ErrBadLength},
		{"SK inside SK", PayloadSK, rawPayload(PayloadNone, false, seq(0, 32)), ErrSyntax},
		{"SKF inside SK", PayloadSKF, rawPayload(PayloadNone, false, []byte{0, 1, 0, 1}), ErrSyntax},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodePayloads(tc.first, tc.b); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestUnknownPayloads(t *testing.T) {
	v := &VendorID{Data: []byte("v")}
	t.Run("critical is reported with its type", func(t *testing.T) {
		b := mustAppend(t, v, &Unknown{PayloadType: 201, Critical: true, Data: seq(0, 3)}, v)
		_, err := DecodePayloads(PayloadVendorID, b)
		var uc *UnsupportedCriticalError
		if !errors.As(err, &uc) || uc.Type != 201 || !errors.Is(err, ErrUnsupportedCritical) {
			t.Fatalf("err = %v, want *UnsupportedCriticalError for type 201", err)
		}
	})
	t.Run("non-critical is skipped and kept", func(t *testing.T) {
		u := &Unknown{PayloadType: 201, Data: seq(0, 3)}
		ps, err := DecodePayloads(PayloadVendorID, mustAppend(t, v, u, v))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ps, Payloads{v, u, v}) {
			t.Fatalf("got %v", ps)
		}
		if err := Check(ExchangeInformational, false, true, ps); err != nil {
			t.Fatalf("Check does not ignore the unknown payload: %v", err)
		}
	})
	t.Run("critical bit ignored on known types", func(t *testing.T) {
		b := rawPayload(PayloadNone, true, seq(0, 20))
		ps, err := DecodePayloads(PayloadNonce, b)
		if err != nil || len(ps) != 1 {
			t.Fatalf("got %v, %v", ps, err)
		}
	})
	t.Run("an Unknown of a known type is not encoded", func(t *testing.T) {
		if _, err := AppendPayloads(nil, []Payload{&Unknown{PayloadType: PayloadSA}}); !errors.Is(err, ErrSyntax) {
			t.Fatalf("err = %v, want ErrSyntax", err)
		}
	})
}

func TestEncodeRefusesWhatDecodeRefuses(t *testing.T) {
	addr4 := testAddr("198.19.0.1")
	cases := []struct {
		name string
		p    Payload
		want error
	}{
		{"SA without proposals", &SA{}, ErrSyntax},
		{"SA numbered from 0", &SA{Proposals: []Proposal{{Number: 0, Protocol: ProtocolIKE}}}, ErrSyntax},
		{"SA ESP without SPI", &SA{Proposals: []Proposal{{Number: 1, Protocol: ProtocolESP}}}, ErrSyntax},
		{"SA TV attribute of 3 bytes", &SA{Proposals: []Proposal{{Number: 1, Protocol: ProtocolIKE, Transforms: []Transform{
			{Type: TransformEncr, ID: 12, Attributes: []Attribute{{Type: AttrKeyLength, TV: true, Value: seq(0, 3)}}}}}}}, ErrBadLength},
		{"SA attribute type over 15 bits", &SA{Proposals: []Proposal{{Number: 1, Protocol: ProtocolIKE, Transforms: []Transform{
			{Type: TransformEncr, ID: 12, Attributes: []Attribute{{Type: 0x8000}}}}}}}, ErrSyntax},
		{"IDi IPv4 of 16 bytes", &IDi{IDType: IDIPv4Addr, Data: seq(0, 16)}, ErrBadLength},
		{"CERTREQ hashes of 21 bytes", &CertReq{Encoding: CertX509Signature, Authorities: seq(0, 21)}, ErrBadLength},
		{"Nonce of 8 bytes", &Nonce{Data: seq(0, 8)}, ErrBadLength},
		{"N SPI of 256 bytes", &Notify{SPI: seq(0, 256)}, ErrBadLength},
		{"D IKE with SPIs", &Delete{Protocol: ProtocolIKE, SPIs: []uint32{1}}, ErrSyntax},
		{"D protocol 0", &Delete{}, ErrSyntax},
		{"TSi without selectors", &TSi{}, ErrSyntax},
		{"TSi IPv6 address in IPv4 selector", &TSi{Selectors: []Selector{{Type: TSIPv4AddrRange, StartAddr: addr4, EndAddr: testAddr("::1")}}}, ErrSyntax},
		{"TSi zero address", &TSi{Selectors: []Selector{{Type: TSIPv4AddrRange, StartAddr: addr4}}}, ErrSyntax},
		{"TSi zoned address", &TSr{Selectors: []Selector{{Type: TSIPv6AddrRange, StartAddr: testAddr("fe80::1%eth0"), EndAddr: testAddr("fe80::2")}}}, ErrSyntax},
		{"TSi unknown type", &TSi{Selectors: []Selector{{Type: 9, StartAddr: addr4, EndAddr: addr4}}}, ErrSyntax},
		{"CP netmask of 2 bytes", &CP{CFGType: CPReply, Attributes: []CPAttribute{{Type: CPInternalIP4Netmask, Value: seq(0, 2)}}}, ErrBadLength},
		{"CP attribute type over 15 bits", &CP{CFGType: CPReply, Attributes: []CPAttribute{{Type: 0x8001}}}, ErrSyntax},
		{"EAP empty", &EAP{}, ErrTruncated},
		{"SKF fragment 0", &SKF{TotalFragments: 1}, ErrSyntax},
		{"VendorID too large", &VendorID{Data: make([]byte, maxPayloadLen)}, ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte("keep")
			b, err := AppendPayloads(prefix, []Payload{tc.p})
			if _, ok := tc.p.(*SKF); ok {
				b, err = (&Message{Header: testHeader, Payloads: Payloads{tc.p}}).Append(prefix)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if string(b) != "keep" {
				t.Fatalf("failed encode changed the buffer to % x", b)
			}
		})
	}
}

func TestAccessors(t *testing.T) {
	tr := Transform{Type: TransformEncr, ID: 12, Attributes: []Attribute{{Type: 1, Value: seq(0, 2)}, KeyLengthAttribute(192)}}
	if bits, ok := tr.KeyLength(); !ok || bits != 192 {
		t.Errorf("KeyLength() = %d, %v", bits, ok)
	}
	if _, ok := (&Transform{}).KeyLength(); ok {
		t.Error("KeyLength() found an attribute in an empty transform")
	}
	algs, err := SignatureHashAlgorithms(HashSHA256, HashIdentity).HashAlgorithms()
	if err != nil || !reflect.DeepEqual(algs, []HashAlgorithm{HashSHA256, HashIdentity}) {
		t.Errorf("HashAlgorithms() = %v, %v", algs, err)
	}
	if _, err := (&Notify{NotifyType: NotifySignatureHashAlgorithms, Data: seq(0, 3)}).HashAlgorithms(); !errors.Is(err, ErrBadLength) {
		t.Errorf("odd hash list: %v", err)
	}
	if _, err := (&Notify{NotifyType: NotifyCookie}).HashAlgorithms(); !errors.Is(err, ErrSyntax) {
		t.Errorf("hash list of a COOKIE: %v", err)
	}
	if g, err := InvalidKEPayload(19).Group(); err != nil || g != 19 {
		t.Errorf("Group() = %d, %v", g, err)
	}
	if _, err := (&Notify{NotifyType: NotifyInvalidKEPayload, Data: seq(0, 3)}).Group(); !errors.Is(err, ErrBadLength) {
		t.Errorf("INVALID_KE_PAYLOAD of 3 bytes: %v", err)
	}
	cr := &CertReq{Encoding: CertX509Signature, Authorities: seq(0, 2*CAHashLen)}
	if hs := cr.Hashes(); len(hs) != 2 || !bytes.Equal(hs[1], seq(CAHashLen, CAHashLen)) {
		t.Errorf("Hashes() = % x", hs)
	}
	cp := &CP{Attributes: []CPAttribute{{Type: CPInternalIP4DNS, Value: seq(1, 4)}, {Type: CPInternalIP4DNS, Value: seq(5, 4)}}}
	if a, ok := cp.Attribute(CPInternalIP4DNS); !ok || !bytes.Equal(a.Value, seq(1, 4)) {
		t.Errorf("Attribute() = %v, %v", a, ok)
	}
	e := &EAP{Data: []byte{EAPRequest, 42, 0, 5, 1}}
	if e.Code() != EAPRequest || e.Identifier() != 42 || (&EAP{}).Code() != 0 {
		t.Errorf("EAP accessors: code %d id %d", e.Code(), e.Identifier())
	}
}

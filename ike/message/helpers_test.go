package message

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seq returns n bytes counting up from start, so fields are told apart in failures.
func seq(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

type namedPayload struct {
	name string
	p    Payload
}

// samplePayloads has every payload type with every field set, plus edge values.
func samplePayloads() []namedPayload {
	addr := netip.MustParseAddr
	return []namedPayload{
		{"SA IKE two proposals", &SA{Proposals: []Proposal{
			{Number: 1, Protocol: ProtocolIKE, Transforms: []Transform{
				{Type: TransformEncr, ID: 12, Attributes: []Attribute{KeyLengthAttribute(256)}},
				{Type: TransformPRF, ID: 5},
				{Type: TransformInteg, ID: 12},
				{Type: TransformDH, ID: 19},
				{Type: TransformDH, ID: 14},
			}},
			{Number: 2, Protocol: ProtocolIKE, Transforms: []Transform{
				{Type: TransformEncr, ID: 20, Attributes: []Attribute{KeyLengthAttribute(128)}},
				{Type: TransformPRF, ID: 7},
				{Type: TransformDH, ID: 31},
			}},
		}}},
		{"SA ESP response with SPI", &SA{Proposals: []Proposal{
			{Number: 3, Protocol: ProtocolESP, SPI: seq(0xc0, 4), Transforms: []Transform{
				{Type: TransformEncr, ID: 20, Attributes: []Attribute{KeyLengthAttribute(256)}},
				{Type: TransformESN, ID: 0},
			}},
		}}},
		{"SA IKE rekey 8-byte SPI", &SA{Proposals: []Proposal{
			{Number: 1, Protocol: ProtocolIKE, SPI: seq(0x10, 8), Transforms: []Transform{{Type: TransformEncr, ID: 28}}},
		}}},
		{"SA TLV attribute and unknown protocol", &SA{Proposals: []Proposal{
			{Number: 1, Protocol: 9, SPI: seq(1, 3), Transforms: []Transform{
				{Type: 9, ID: 0xffff, Attributes: []Attribute{{Type: 0x7fff, Value: seq(0, 5)}, {Type: 1}}},
			}},
		}}},
		{"SA proposal without transforms", &SA{Proposals: []Proposal{{Number: 1, Protocol: ProtocolESP, SPI: seq(9, 4)}}}},
		{"KE", &KE{Group: 19, Data: seq(0x40, 64)}},
		{"KE without data", &KE{Group: 31}},
		{"IDi FQDN", &IDi{IDType: IDFQDN, Data: []byte("client.example.net")}},
		{"IDi IPv4", &IDi{IDType: IDIPv4Addr, Data: []byte{198, 18, 0, 2}}},
		{"IDi unknown type empty", &IDi{IDType: 200}},
		{"IDr IPv6", &IDr{IDType: IDIPv6Addr, Data: seq(0x20, 16)}},
		{"IDr DN", &IDr{IDType: IDDERASN1DN, Data: seq(0x30, 40)}},
		{"CERT X.509", &Cert{Encoding: CertX509Signature, Data: seq(0x30, 300)}},
		{"CERT empty", &Cert{Encoding: CertCRL}},
		{"CERTREQ two hashes", &CertReq{Encoding: CertX509Signature, Authorities: seq(1, 2*CAHashLen)}},
		{"CERTREQ empty", &CertReq{Encoding: CertX509Signature}},
		{"CERTREQ other encoding", &CertReq{Encoding: CertHashURLX509, Authorities: seq(1, 7)}},
		{"AUTH PSK", &Auth{Method: AuthPSK, Data: seq(0x50, 32)}},
		{"AUTH digital signature", &Auth{Method: AuthDigitalSignature, Data: seq(0x0c, 80)}},
		{"Nonce shortest", &Nonce{Data: seq(0, MinNonceLen)}},
		{"Nonce longest", &Nonce{Data: seq(0, MaxNonceLen)}},
		{"N NAT-D", &Notify{NotifyType: NotifyNATDetectionSourceIP, Data: seq(0x70, 20)}},
		{"N REKEY_SA with SPI", &Notify{Protocol: ProtocolESP, SPI: seq(0xa0, 4), NotifyType: NotifyRekeySA}},
		{"N without data", &Notify{NotifyType: NotifyMOBIKESupported}},
		{"N hash algorithms", SignatureHashAlgorithms(HashSHA256, HashSHA384, HashSHA512)},
		{"N invalid KE", InvalidKEPayload(14)},
		{"D IKE SA", &Delete{Protocol: ProtocolIKE}},
		{"D ESP SPIs", &Delete{Protocol: ProtocolESP, SPIs: []uint32{0xc0010203, 0xc0040506}}},
		{"V", &VendorID{Data: []byte("MS NT5 ISAKMPOAKLEY\x00\x00\x00\x09")}},
		{"V empty", &VendorID{}},
		{"TSi IPv4 any", &TSi{Selectors: []Selector{
			{Type: TSIPv4AddrRange, EndPort: 0xffff, StartAddr: addr("0.0.0.0"), EndAddr: addr("255.255.255.255")},
		}}},
		{"TSr mixed families", &TSr{Selectors: []Selector{
			{Type: TSIPv4AddrRange, IPProtocol: 17, StartPort: 53, EndPort: 53, StartAddr: addr("198.19.0.0"), EndAddr: addr("198.19.255.255")},
			{Type: TSIPv6AddrRange, EndPort: 0xffff, StartAddr: addr("2001:db8::"), EndAddr: addr("2001:db8::ffff")},
			{Type: TSIPv4AddrRange, StartPort: 0xffff, EndPort: 0, StartAddr: addr("100.64.0.7"), EndAddr: addr("100.64.0.7")},
		}}},
		{"CP request as Windows sends", &CP{CFGType: CPRequest, Attributes: []CPAttribute{
			{Type: CPInternalIP4Address}, {Type: CPInternalIP4DNS}, {Type: CPInternalIP4NBNS},
			{Type: CPInternalIP4Server}, {Type: CPInternalIP6Address}, {Type: CPInternalIP6DNS},
			{Type: CPInternalIP6Server},
		}}},
		{"CP reply", &CP{CFGType: CPReply, Attributes: []CPAttribute{
			{Type: CPInternalIP4Address, Value: []byte{100, 64, 0, 7}},
			{Type: CPInternalIP4Netmask, Value: []byte{255, 255, 0, 0}},
			{Type: CPInternalIP4DNS, Value: []byte{198, 19, 0, 53}},
			{Type: CPInternalIP4Subnet, Value: []byte{198, 19, 0, 0, 255, 255, 0, 0}},
			{Type: CPInternalIP6Address, Value: append(seq(0x20, 16), 64)},
			{Type: CPSupportedAttributes, Value: []byte{0, 1, 0, 3}},
			{Type: CPApplicationVersion, Value: []byte("p2sgw")},
			{Type: CPInternalDNSDomain, Value: []byte("corp.example")},
		}}},
		{"CP empty", &CP{CFGType: CPAck}},
		{"EAP identity request", &EAP{Data: []byte{EAPRequest, 7, 0, 5, 1}}},
		{"EAP MSCHAPv2 response", &EAP{Data: append([]byte{EAPResponse, 8, 0, 10, 26}, seq(0, 5)...)}},
		{"EAP success", &EAP{Data: []byte{EAPSuccess, 9, 0, 4}}},
		{"unknown non-critical", &Unknown{PayloadType: 200, Data: seq(0, 9)}},
		{"unknown empty", &Unknown{PayloadType: 1}},
	}
}

// innerChain is every sample payload in one chain.
func innerChain() Payloads {
	var ps Payloads
	for _, np := range samplePayloads() {
		ps = append(ps, np.p)
	}
	return ps
}

// mustAppend encodes ps as an inner chain or fails the test.
func mustAppend(t testing.TB, ps ...Payload) []byte {
	t.Helper()
	b, err := AppendPayloads(nil, ps)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawPayload builds one payload with a generic header around body, length computed.
func rawPayload(next PayloadType, critical bool, body []byte) []byte {
	flags := byte(0)
	if critical {
		flags = criticalBit
	}
	n := PayloadHeaderLen + len(body)
	return append([]byte{byte(next), flags, byte(n >> 8), byte(n)}, body...)
}

// rawMessage puts a header with the right length in front of chain.
func rawMessage(h Header, first PayloadType, chain []byte) []byte {
	h.NextPayload, h.Length = first, uint32(HeaderLen+len(chain))
	return append(AppendHeader(nil, h), chain...)
}

var testHeader = Header{
	SPIi:      0x0102030405060708,
	SPIr:      0x1112131415161718,
	Exchange:  ExchangeIKEAuth,
	Flags:     FlagInitiator,
	MessageID: 1,
}

func testAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

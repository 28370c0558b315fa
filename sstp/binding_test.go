package sstp

import (
	"bytes"
	"crypto/hmac"
	"testing"
)

// The crypto binding examples of MS-SSTP §4.7: a CALL_CONNECTED, the HLAK it was made with,
// and the server certificate hash. The Compound MAC in each packet is the known answer.
var bindingExamples = []struct {
	name          string
	hash          HashProtocol
	ack           string // the CALL_CONNECT_ACK
	callConnected string
	hlak          string
	certHash      string
}{
	{
		name: "SHA256",
		hash: HashSHA256,
		ack: `10 01 00 30 00 02 00 01 00 04 00 28 00 00 00 02
			41 2B 48 9A EB D7 EC C7 D0 89 66 F2 6B E7 CD 72
			B2 31 A0 E9 21 0D 7C 91 B3 08 86 2B 03 44 C4 35`,
		callConnected: `10 01 00 70 00 04 00 01 00 03 00 68 00 00 00 02
			41 2B 48 9A EB D7 EC C7 D0 89 66 F2 6B E7 CD 72
			B2 31 A0 E9 21 0D 7C 91 B3 08 86 2B 03 44 C4 35
			79 93 EF 31 4C 49 3D AC E9 F0 2D 60 E7 E6 1C 84
			B6 69 0A AF E9 D7 AE EA 92 CB BE 8A D5 99 42 2D
			52 A6 8E FD 8C FF BF 52 77 0B 8F 0F E8 EC 73 71
			65 83 AF 6D 61 1E B6 D1 79 B3 B2 08 40 98 54 49`,
		hlak: `2A 1B B4 0D 55 AB 0F 5E F3 2F 06 F2 B3 CC 73 C4
			8F D3 FA C4 1D 7A 13 15 A1 92 28 D9 02 4C A1 64`,
		certHash: `79 93 EF 31 4C 49 3D AC E9 F0 2D 60 E7 E6 1C 84
			B6 69 0A AF E9 D7 AE EA 92 CB BE 8A D5 99 42 2D`,
	},
	{
		name: "SHA1",
		hash: HashSHA1,
		ack: `10 01 00 30 00 02 00 01 00 04 00 28 00 00 00 01
			0F 1A 2D 58 D4 A3 E3 00 0F AD 3C E4 90 6E 07 B7
			07 AA 9E 44 1C CE AC 5C BD 7B 2C C1 C9 D8 6C DF`,
		callConnected: `10 01 00 70 00 04 00 01 00 03 00 68 00 00 00 01
			0F 1A 2D 58 D4 A3 E3 00 0F AD 3C E4 90 6E 07 B7
			07 AA 9E 44 1C CE AC 5C BD 7B 2C C1 C9 D8 6C DF
			58 26 B6 29 BD A5 9B 8E 6F D8 DC D2 62 2F D3 4C
			53 48 05 A5 00 00 00 00 00 00 00 00 00 00 00 00
			69 91 5D D5 83 D8 06 2F EF 16 F6 1D B2 F0 32 90
			EC 27 CB 6C 00 00 00 00 00 00 00 00 00 00 00 00`,
		hlak: `4B 31 28 F4 39 25 D9 00-6E EF B1 C4 E8 65 15 A1
			D8 8E 56 BA B3 CA 2B DF-03 73 B7 F5 A8 A1 3B 19`,
		certHash: `58 26 B6 29 BD A5 9B 8E 6F D8 DC D2 62 2F D3 4C 53 48 05 A5`,
	},
}

func TestCompoundMACExamples(t *testing.T) {
	for _, ex := range bindingExamples {
		t.Run(ex.name, func(t *testing.T) {
			pkt := unhex(t, ex.callConnected)
			hlak := unhex(t, ex.hlak)
			p, err := ReadPacket(reader(pkt))
			if err != nil {
				t.Fatal(err)
			}
			m, err := ParseControl(p.Data)
			if err != nil || m.Type != MsgCallConnected || len(m.Attributes) != 1 {
				t.Fatalf("%+v, %v", m, err)
			}
			cb, err := ParseCryptoBinding(m.Attributes[0].Value)
			if err != nil {
				t.Fatal(err)
			}
			if cb.Hash != ex.hash || !bytes.Equal(cb.CertHash, unhex(t, ex.certHash)) {
				t.Fatalf("binding %+v", cb)
			}

			mac := CompoundMAC(ex.hash, CMK(ex.hash, hlak), pkt)
			if !bytes.Equal(mac, cb.MAC) {
				t.Fatalf("Compound MAC\n got % x\nwant % x", mac, cb.MAC)
			}

			// The ACK's nonce is the one echoed, and building the packet anew gives the
			// spec's bytes exactly.
			ack, _ := ReadPacket(reader(unhex(t, ex.ack)))
			am, err := ParseControl(ack.Data)
			if err != nil {
				t.Fatal(err)
			}
			req, err := ParseCryptoBindingRequest(am.Attributes[0].Value)
			if err != nil || req.Nonce != cb.Nonce || req.Hashes != uint8(ex.hash) {
				t.Fatalf("ACK %+v, %v", req, err)
			}
			built := appendCallConnected(nil, CryptoBinding{Hash: ex.hash, Nonce: req.Nonce, CertHash: cb.CertHash}, hlak, nil)
			if !bytes.Equal(built, pkt) {
				t.Fatalf("built\n% x\nwant\n% x", built, pkt)
			}
			if got := ControlMessage.Append(am, nil); !bytes.Equal(append(unhex(t, "10 01 00 30"), got...), unhex(t, ex.ack)) {
				t.Fatal("ACK does not re-encode")
			}
		})
	}
}

// The little-endian length in PRF+ is what makes the examples pass; a big-endian one (the
// obvious reading of RFC 4306) must not.
func TestCMKLengthIsLittleEndian(t *testing.T) {
	ex := bindingExamples[0]
	hlak := unhex(t, ex.hlak)
	pkt := unhex(t, ex.callConnected)
	cmk := CMK(HashSHA256, hlak)
	if len(cmk) != 32 || len(CMK(HashSHA1, hlak)) != 20 || CMK(3, hlak) != nil {
		t.Fatal("CMK lengths")
	}
	bigEndian := hmacSum(HashSHA256, hlak, []byte(cmkSeed), []byte{0, 32, 1})
	if bytes.Equal(CompoundMAC(HashSHA256, bigEndian, pkt), CompoundMAC(HashSHA256, cmk, pkt)) {
		t.Fatal("big-endian length gives the same MAC")
	}
}

func hmacSum(h HashProtocol, key []byte, parts ...[]byte) []byte {
	m := hmac.New(h.new(), key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

func TestCompoundMACIgnoresMACField(t *testing.T) {
	ex := bindingExamples[1]
	pkt := unhex(t, ex.callConnected)
	cmk := CMK(HashSHA1, unhex(t, ex.hlak))
	want := CompoundMAC(HashSHA1, cmk, pkt)
	orig := bytes.Clone(pkt)
	for i := callConnectedMACOff; i < len(pkt); i++ {
		pkt[i] = 0xee
	}
	if !bytes.Equal(CompoundMAC(HashSHA1, cmk, pkt), want) {
		t.Fatal("MAC field not ignored")
	}
	pkt = orig
	if !bytes.Equal(pkt, orig) || CompoundMAC(HashSHA1, cmk, pkt[:111]) != nil || CompoundMAC(0, cmk, pkt) != nil {
		t.Fatal("CompoundMAC accepted a bad length or hash")
	}
}

func TestHLAK(t *testing.T) {
	a := bytes.Repeat([]byte{1}, 16)
	b := bytes.Repeat([]byte{2}, 16)
	for _, tc := range []struct {
		name string
		keys [][]byte
		want []byte
	}{
		{"PAP", nil, make([]byte, 32)},
		{"empty key", [][]byte{{}}, make([]byte, 32)},
		{"MS-CHAPv2 recv‖send", [][]byte{a, b}, append(bytes.Clone(a), b...)},
		{"short", [][]byte{{7}}, append([]byte{7}, make([]byte, 31)...)},
		{"MSK cut", [][]byte{bytes.Repeat([]byte{3}, 64)}, bytes.Repeat([]byte{3}, 32)},
		{"second key cut", [][]byte{a, bytes.Repeat([]byte{2}, 40)}, append(bytes.Clone(a), b...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := HLAK(tc.keys...); !bytes.Equal(got, tc.want) {
				t.Fatalf("got % x", got)
			}
		})
	}
}

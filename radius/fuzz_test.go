package radius

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"testing"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"
)

var (
	fuzzSecret = []byte("fuzz-secret")
	fuzzAuth   = [16]byte{0xa, 0xb, 0xc, 0xd, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	fuzzReq    = &radius.Packet{Code: radius.CodeAccessRequest, Identifier: 7, Authenticator: fuzzAuth, Secret: fuzzSecret}
)

// responseSeeds are authentic answers to fuzzReq covering every attribute decodeAccess reads.
func responseSeeds() [][]byte {
	key := seq(1, 32)
	eap := radius.Attributes{
		{Type: rfc2869.EAPMessage_Type, Attribute: append([]byte{1, 3, 1, 4, 13}, make([]byte, 248)...)},
		{Type: rfc2869.EAPMessage_Type, Attribute: make([]byte, 7)},
	}
	return [][]byte{
		signAnswer(fuzzReq, radius.CodeAccessAccept, radius.Attributes{
			mppeVSA(msMPPERecvKey, encryptMPPEKey(key, [2]byte{0x80, 1}, fuzzSecret, fuzzAuth)),
			mppeVSA(msMPPESendKey, encryptMPPEKey(key, [2]byte{0x80, 2}, fuzzSecret, fuzzAuth)),
			{Type: rfc2865.FramedIPAddress_Type, Attribute: []byte{10, 1, 0, 9}},
			{Type: rfc2865.SessionTimeout_Type, Attribute: radius.NewInteger(60)},
			{Type: rfc2865.Class_Type, Attribute: []byte("class")},
		}, answerOpts{}),
		signAnswer(fuzzReq, radius.CodeAccessChallenge, append(eap, &radius.AVP{Type: rfc2865.State_Type, Attribute: []byte("state")}), answerOpts{}),
		signAnswer(fuzzReq, radius.CodeAccessReject, radius.Attributes{{Type: rfc2865.ReplyMessage_Type, Attribute: []byte("no")}}, answerOpts{}),
		signAnswer(fuzzReq, radius.CodeAccessAccept, nil, answerOpts{noMA: true}),
	}
}

// FuzzResponse feeds datagrams to the answer path: verify and decodeAccess must never panic.
// Since a mutated datagram almost never carries valid authenticators, each input is also
// re-signed (Length, Identifier and Code fixed, Message-Authenticator and Response
// Authenticator recomputed) so the decoding behind the checks is reached; a re-signed packet
// must verify, and what decodes must be consistent.
func FuzzResponse(f *testing.F) {
	for _, b := range responseSeeds() {
		f.Add(b)
	}
	rfc, _ := hex.DecodeString("0200002686fe220e7624ba2a1005f6bf9b55e0b2060600000001" + "0f06000000000e06c0a80103")
	f.Add(rfc)
	f.Add([]byte{2, 7, 0, 20})
	f.Fuzz(func(t *testing.T, datagram []byte) {
		out := []sent{{id: fuzzReq.Identifier, auth: fuzzAuth}}
		verify(datagram, out, accessAnswers, true, fuzzSecret)
		verify(datagram, out, acctAnswers, false, fuzzSecret)
		decodeAccess(datagram, &fuzzAuth, fuzzSecret)

		b, ok := resign(datagram)
		if !ok {
			return
		}
		p, _, why := verify(b, out, accessAnswers, true, fuzzSecret)
		if why != dropNone {
			t.Fatalf("a re-signed answer was dropped: %v", why)
		}
		resp, state, err := decodeAccess(p, &fuzzAuth, fuzzSecret)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("decodeAccess: %v is not ErrMalformed", err)
			}
			return
		}
		checkResponse(t, resp, state)
	})
}

// resign makes datagram an authentic answer to fuzzReq if its attributes parse and it has a
// Message-Authenticator.
func resign(datagram []byte) ([]byte, bool) {
	if len(datagram) < headerLen {
		return nil, false
	}
	b := bytes.Clone(datagram[:min(len(datagram), maxPacketLen)])
	b[0] = byte(accessAnswers[int(b[0])%len(accessAnswers)])
	b[1] = fuzzReq.Identifier
	binary.BigEndian.PutUint16(b[offLength:], uint16(len(b)))
	ma, why := findMA(b)
	if why != dropNone || ma < 0 {
		return nil, false
	}
	sum := messageAuthenticator(b, ma, &fuzzAuth, fuzzSecret)
	copy(b[ma:], sum[:])
	sum = responseAuthenticator(b, &fuzzAuth, fuzzSecret)
	copy(b[offAuth:], sum[:])
	return b, true
}

func checkResponse(t *testing.T, resp *Response, state []byte) {
	t.Helper()
	if resp.EAPMessage != nil && int(binary.BigEndian.Uint16(resp.EAPMessage[2:])) != len(resp.EAPMessage) {
		t.Fatalf("EAP-Message of %d octets with Length %x", len(resp.EAPMessage), resp.EAPMessage[2:4])
	}
	if resp.MSK != nil && resp.Code != CodeAccessAccept {
		t.Fatalf("MSK on a %v", resp.Code)
	}
	if resp.FramedIP.IsValid() && !assignedAddr(resp.FramedIP) {
		t.Fatalf("FramedIP %v", resp.FramedIP)
	}
	if state != nil && len(state) == 0 {
		t.Fatal("empty State")
	}
}

// FuzzDecryptMPPE: decryptMPPEKey never panics, what it accepts re-encrypts to the same octets
// (so it accepts exactly the canonical encoding), and every key it is given encrypted comes
// back.
func FuzzDecryptMPPE(f *testing.F) {
	recv, _ := hex.DecodeString(katRecv)
	f.Add(recv, katSecret, katAuth[:])
	f.Add(encryptMPPEKey(seq(0, 239), [2]byte{0xff, 0xff}, []byte("s"), katAuth), []byte("s"), katAuth[:])
	f.Add([]byte{0x80, 0}, []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, v, secret, authIn []byte) {
		var auth [16]byte
		copy(auth[:], authIn)
		if key, err := decryptMPPEKey(v, &auth, secret); err == nil {
			if again := encryptMPPEKey(key, [2]byte(v[:2]), secret, auth); !bytes.Equal(again, v) {
				t.Fatalf("decrypted %x, which encrypts to %x, not %x", key, again, v)
			}
		}
		if n := len(v); n >= 1 && n <= 239 {
			enc := encryptMPPEKey(v, [2]byte{0x80 | auth[0], auth[1]}, secret, auth)
			if key, err := decryptMPPEKey(enc, &auth, secret); err != nil || !bytes.Equal(key, v) {
				t.Fatalf("key %x came back as %x, %v", v, key, err)
			}
		}
	})
}

// FuzzEAPMessage: an EAP packet split into an Access-Request's EAP-Message attributes joins
// back to itself, and so does one carried in an answer.
func FuzzEAPMessage(f *testing.F) {
	f.Add(eapPacket(4))
	f.Add(eapPacket(253))
	f.Add(eapPacket(254))
	f.Add(eapPacket(1000))
	f.Fuzz(func(t *testing.T, eap []byte) {
		if len(eap) < eapHeaderLen || len(eap) > 3800 {
			return
		}
		binary.BigEndian.PutUint16(eap[2:], uint16(len(eap)))
		r := sent{id: 7, auth: fuzzAuth}
		b, err := buildAccessRequest(r, fuzzSecret, "gw", Request{UserName: "u", EAPMessage: eap}, nil)
		if err != nil {
			t.Fatal(err)
		}
		p, err := radius.Parse(b, fuzzSecret)
		if err != nil {
			t.Fatal(err)
		}
		var joined []byte
		var parts radius.Attributes
		for _, a := range p.Attributes {
			if a.Type == rfc2869.EAPMessage_Type {
				if len(a.Attribute) == 0 || len(a.Attribute) > maxAttrValue {
					t.Fatalf("EAP-Message of %d octets", len(a.Attribute))
				}
				joined = append(joined, a.Attribute...)
				parts = append(parts, a)
			}
		}
		if !bytes.Equal(joined, eap) {
			t.Fatal("the request's EAP-Message attributes do not join into the packet")
		}
		resp, _, err := decodeAccess(signAnswer(p, radius.CodeAccessChallenge, parts, answerOpts{}), &fuzzAuth, fuzzSecret)
		if err != nil || !bytes.Equal(resp.EAPMessage, eap) {
			t.Fatalf("the answer's EAP-Message: %v", err)
		}
	})
}

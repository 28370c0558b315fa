package radius

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"testing"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"
)

// eapPacket returns an EAP packet of n ≥ 4 octets with a correct Length field: an
// EAP-Response/EAP-TLS if n > 4.
func eapPacket(n int) []byte {
	b := make([]byte, n)
	b[0], b[1], b[2], b[3] = 2, 7, byte(n>>8), byte(n)
	for i := 4; i < n; i++ {
		b[i] = byte(i)
	}
	if n > 4 {
		b[4] = 13
	}
	return b
}

// TestAccessRequestLayout: Access-Request { Message-Authenticator, User-Name, EAP-Message ×4,
// NAS-Identifier, NAS-Port-Type, Service-Type, Calling-Station-Id, State } with the
// Message-Authenticator first and verifying, computed here without the package's code.
func TestAccessRequestLayout(t *testing.T) {
	secret := []byte("s3cret")
	eap := eapPacket(1000)
	r := sent{id: 42, auth: newAuthenticator()}
	b, err := buildAccessRequest(r, secret, "gw-1", Request{UserName: "alice", EAPMessage: eap, CallingStationID: "198.18.1.1"}, []byte("st"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := radius.Parse(b, secret)
	if err != nil {
		t.Fatal(err)
	}
	if p.Code != radius.CodeAccessRequest || p.Identifier != 42 || p.Authenticator != r.auth {
		t.Fatalf("header %v %d %x", p.Code, p.Identifier, p.Authenticator)
	}
	if p.Attributes[0].Type != rfc2869.MessageAuthenticator_Type || len(p.Attributes[0].Attribute) != 16 {
		t.Fatalf("first attribute is type %d, want Message-Authenticator", p.Attributes[0].Type)
	}
	zeroed := bytes.Clone(b)
	clear(zeroed[22:38])
	m := hmac.New(md5.New, secret)
	m.Write(zeroed)
	if !bytes.Equal(m.Sum(nil), b[22:38]) {
		t.Fatal("Message-Authenticator does not verify")
	}

	var parts [][]byte
	for _, a := range p.Attributes {
		if a.Type == rfc2869.EAPMessage_Type {
			parts = append(parts, a.Attribute)
		}
	}
	if len(parts) != 4 || len(parts[0]) != 253 || len(parts[3]) != 1000-3*253 {
		t.Fatalf("EAP-Message split into %d attributes", len(parts))
	}
	if !bytes.Equal(bytes.Join(parts, nil), eap) {
		t.Fatal("EAP-Message attributes do not join into the EAP packet")
	}
	for _, tc := range []struct {
		name string
		got  any
		want any
	}{
		{"User-Name", rfc2865.UserName_GetString(p), "alice"},
		{"NAS-Identifier", rfc2865.NASIdentifier_GetString(p), "gw-1"},
		{"NAS-Port-Type", rfc2865.NASPortType_Get(p), rfc2865.NASPortType(NASPortTypeVirtual)},
		{"Service-Type", rfc2865.ServiceType_Get(p), rfc2865.ServiceType(ServiceTypeFramed)},
		{"Calling-Station-Id", rfc2865.CallingStationID_GetString(p), "198.18.1.1"},
		{"State", rfc2865.State_GetString(p), "st"},
		{"no User-Password", len(rfc2865.UserPassword_Get(p)), 0},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v; want %v", tc.name, tc.got, tc.want)
		}
	}
}

// TestPAPHiding checks User-Password hiding (RFC 2865 §5.2) against the example of RFC 2865
// §7.1 and by decoding with layeh.com/radius.
func TestPAPHiding(t *testing.T) {
	t.Run("RFC 2865 §7.1", func(t *testing.T) {
		r := sent{id: 0}
		hex.Decode(r.auth[:], []byte("0f403f9473978057bd83d5cb98f4227a"))
		b, err := buildAccessRequest(r, []byte("xyzzy5461"), "gw", Request{UserName: "nemo", Password: []byte("arctangent")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := radius.Parse(b, []byte("xyzzy5461"))
		want, _ := hex.DecodeString("0dbe708d93d413ce3196e43f782a0aee")
		if got := rfc2865.UserPassword_Get(p); !bytes.Equal([]byte(p.Get(rfc2865.UserPassword_Type)), want) || string(got) != "arctangent" {
			t.Fatalf("User-Password %x (%q); want %x", p.Get(rfc2865.UserPassword_Type), got, want)
		}
	})
	for _, n := range []int{1, 15, 16, 17, 100, 128} {
		pw := bytes.Repeat([]byte{'x'}, n)
		r := sent{auth: newAuthenticator()}
		b, err := buildAccessRequest(r, []byte("k"), "gw", Request{Password: pw}, nil)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := radius.Parse(b, []byte("k"))
		if got := rfc2865.UserPassword_Get(p); !bytes.Equal(got, pw) {
			t.Errorf("%d-octet password decodes to %q", n, got)
		}
	}
}

func TestRequestCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  Request
	}{
		{"nothing", Request{UserName: "a"}},
		{"EAP and password", Request{EAPMessage: eapPacket(5), Password: []byte("p")}},
		{"long password", Request{Password: make([]byte, 129)}},
		{"long user name", Request{UserName: string(make([]byte, 254)), Password: []byte("p")}},
		{"MS-CHAPv2 and password", Request{MSCHAPChallenge: make([]byte, 16), MSCHAP2Response: make([]byte, 50), Password: []byte("p")}},
		{"MS-CHAPv2 short response", Request{MSCHAPChallenge: make([]byte, 16), MSCHAP2Response: make([]byte, 49)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.req.check(); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	r := sent{auth: newAuthenticator()}
	if _, err := buildAccessRequest(r, []byte("k"), "gw", Request{EAPMessage: eapPacket(4100)}, nil); err == nil {
		t.Fatal("a request over 4096 octets was built")
	}
}

// TestResponseAuthenticatorRFC2865 checks the Response Authenticator against the Access-Accept
// of RFC 2865 §7.1, which has no Message-Authenticator: taken without one required, dropped
// with it required.
func TestResponseAuthenticatorRFC2865(t *testing.T) {
	resp, _ := hex.DecodeString("0200002686fe220e7624ba2a1005f6bf9b55e0b2060600000001" + "0f06000000000e06c0a80103")
	out := []sent{{id: 0}}
	hex.Decode(out[0].auth[:], []byte("0f403f9473978057bd83d5cb98f4227a"))
	secret := []byte("xyzzy5461")
	if _, _, why := verify(resp, out, accessAnswers, false, secret); why != dropNone {
		t.Fatalf("RFC example dropped: %v", why)
	}
	if _, _, why := verify(resp, out, accessAnswers, true, secret); why != dropNoMA {
		t.Fatalf("RFC example without Message-Authenticator: %v; want %v", why, dropNoMA)
	}
}

// TestVerify drops every answer that is not authentic, for a reason that says why.
func TestVerify(t *testing.T) {
	secret := []byte("s3cret")
	reqAuth := newAuthenticator()
	req := &radius.Packet{Code: radius.CodeAccessRequest, Identifier: 9, Authenticator: reqAuth, Secret: secret}
	out := []sent{{id: 9, auth: reqAuth}}
	good := signAnswer(req, radius.CodeAccessAccept, nil, answerOpts{})
	twoMA := signAnswer(req, radius.CodeAccessAccept, radius.Attributes{{Type: rfc2869.MessageAuthenticator_Type, Attribute: make([]byte, 16)}}, answerOpts{})
	shortMA := signAnswer(req, radius.CodeAccessAccept, nil, answerOpts{noMA: true})
	shortMA = append(shortMA, 80, 4, 0, 0)
	shortMA[3] += 4
	badAttr := bytes.Clone(good)
	badAttr[21] = 40 // the MA's length runs past the end
	for _, tc := range []struct {
		name string
		b    []byte
		want dropReason
	}{
		{"good", good, dropNone},
		{"padding after Length", append(bytes.Clone(good), 0, 1, 2), dropNone},
		{"no MA", signAnswer(req, radius.CodeAccessAccept, nil, answerOpts{noMA: true}), dropNoMA},
		{"bad MA", signAnswer(req, radius.CodeAccessAccept, nil, answerOpts{badMA: true}), dropMA},
		{"bad Response Authenticator", signAnswer(req, radius.CodeAccessAccept, nil, answerOpts{badRespAuth: true}), dropResponseAuth},
		{"other secret", signAnswer(req, radius.CodeAccessAccept, nil, answerOpts{secret: []byte("other")}), dropMA},
		{"wrong Identifier", signAnswer(req, radius.CodeAccessAccept, nil, answerOpts{wrongID: true}), dropIdentifier},
		{"wrong Code", signAnswer(req, radius.CodeAccountingResponse, nil, answerOpts{}), dropCode},
		{"two MAs", twoMA, dropManyMA},
		{"MA of 2 octets", shortMA, dropMA},
		{"attribute past the end", badAttr, dropAttributes},
		{"short", good[:19], dropTruncated},
		{"truncated", good[:len(good)-1], dropTruncated},
		{"Length 19", append([]byte{2, 9, 0, 19}, good[4:]...), dropBadLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, why := verify(tc.b, out, accessAnswers, true, secret); why != tc.want {
				t.Fatalf("verify: %v; want %v", why, tc.want)
			}
		})
	}
}

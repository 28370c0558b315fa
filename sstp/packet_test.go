package sstp

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

// The CALL_CONNECT_REQUEST of MS-SSTP §4.7.
const connectRequestHex = "10 01 00 0E 00 01 00 01 00 01 00 06 00 01"

func TestConnectRequestExample(t *testing.T) {
	wire := unhex(t, connectRequestHex)
	p, err := ReadPacket(reader(wire))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseControl(p.Data)
	if err != nil {
		t.Fatal(err)
	}
	want := ControlMessage{Type: MsgCallConnectRequest, Attributes: []Attribute{encapsulatedProtocol()}}
	if !p.Control || !reflect.DeepEqual(m, want) {
		t.Fatalf("got %v %+v, want control %+v", p.Control, m, want)
	}
	if got, _ := AppendPacket(nil, Packet{Control: true, Data: m.Append(nil)}); !bytes.Equal(got, wire) {
		t.Fatalf("re-encoded % x, want % x", got, wire)
	}
	if bad := checkConnectRequest(m); len(bad) != 0 {
		t.Fatalf("spec example refused: %v", bad)
	}
}

func TestPacketRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Packet
	}{
		{"empty data", Packet{Data: []byte{}}},
		{"ppp frame", Packet{Data: []byte{0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4}}},
		{"largest", Packet{Data: bytes.Repeat([]byte{0xaa}, MaxFrameLen)}},
		{"control", Packet{Control: true, Data: ControlMessage{Type: MsgEchoRequest}.Append(nil)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := AppendPacket([]byte{9}, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			r := reader(b[1:])
			got, err := ReadPacket(r)
			if err != nil {
				t.Fatal(err)
			}
			if got.Control != tc.p.Control || !bytes.Equal(got.Data, tc.p.Data) {
				t.Fatalf("got %+v", got)
			}
			if _, err := ReadPacket(r); err != io.EOF {
				t.Fatalf("after the packet: %v, want io.EOF", err)
			}
		})
	}
	if _, err := AppendPacket(nil, Packet{Data: make([]byte, MaxFrameLen+1)}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized packet: %v", err)
	}
}

func TestReadPacketRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		wire string
		want error
	}{
		{"version 1.1", "11 00 00 04", ErrMalformed},
		{"version 2.0", "20 01 00 08 00 08 00 00", ErrMalformed},
		{"length 0", "10 00 00 00", ErrMalformed},
		{"length 3", "10 00 00 03", ErrMalformed},
		{"length beyond the stream", "10 00 00 10 ff 03", io.ErrUnexpectedEOF},
		{"header cut", "10 00", io.ErrUnexpectedEOF},
		{"empty stream", "", io.EOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadPacket(reader(unhex(t, tc.wire)))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// The 4 reserved bits above the length are ignored, so the length can never exceed 4095.
func TestReadPacketReservedBits(t *testing.T) {
	p, err := ReadPacket(reader(unhex(t, "10 fe f0 06 ff 03")))
	if err != nil {
		t.Fatal(err)
	}
	if p.Control || !bytes.Equal(p.Data, []byte{0xff, 0x03}) {
		t.Fatalf("got %+v", p)
	}
}

func TestParseControlRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
	}{
		{"short", "00 08 00"},
		{"attribute overruns the body", "00 01 00 01 00 01 00 08 00 01"},
		{"attribute length below header", "00 01 00 01 00 01 00 03 00 01"},
		{"more attributes than sent", "00 01 00 02 00 01 00 06 00 01"},
		{"fewer attributes than sent", "00 01 00 00 00 01 00 06 00 01"},
		{"trailing bytes", "00 08 00 00 00"},
		{"count beyond any body", "00 01 ff ff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if m, err := ParseControl(unhex(t, tc.body)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %+v, %v; want ErrMalformed", m, err)
			}
		})
	}
}

func TestAttributeValues(t *testing.T) {
	s := StatusInfo{Attr: AttrEncapsulatedProtocolID, Status: StatusValueNotSupported, Value: []byte{0, 2}}
	a := s.Attribute()
	if want := unhex(t, "000000 01 00000004 0002"); !bytes.Equal(a.Value, want) {
		t.Fatalf("status info % x, want % x", a.Value, want)
	}
	if got, err := ParseStatusInfo(a.Value); err != nil || !reflect.DeepEqual(got, s) {
		t.Fatalf("parsed %+v, %v", got, err)
	}
	if long := (StatusInfo{Value: make([]byte, 100)}).Attribute(); len(long.Value) != 8+64 {
		t.Fatalf("status value not cut to 64: %d", len(long.Value))
	}
	if _, err := ParseStatusInfo(make([]byte, 7)); !errors.Is(err, ErrMalformed) {
		t.Fatal("short status info accepted")
	}
	if _, err := ParseCryptoBindingRequest(make([]byte, 35)); !errors.Is(err, ErrMalformed) {
		t.Fatal("short binding request accepted")
	}
	v := make([]byte, cryptoBindingLen)
	v[3] = 3
	if _, err := ParseCryptoBinding(v); !errors.Is(err, ErrMalformed) {
		t.Fatal("binding with hash 3 accepted")
	}
}

func TestIsControlFrame(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame string
		want  bool
	}{
		{"LCP with FF03", "ff 03 c0 21 01 01 00 04", true},
		{"LCP without FF03", "c0 21 01 01 00 04", true},
		{"EAP", "c2 27 01", true},
		{"IPCP", "80 21 01", true},
		{"IPv6CP", "ff 03 80 57 01", true},
		{"IPv4", "ff 03 00 21 45 00", false},
		{"IPv4 without FF03", "00 21 45", false},
		{"IPv4 with PFC", "21 45 00", false},
		{"PFC byte above 0x80", "fd 45 00", false},
		{"invalid protocol", "c0 20", false},
		{"bare FF03", "ff 03", false},
		{"one byte", "c0", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsControlFrame(unhex(t, tc.frame)); got != tc.want {
				t.Fatalf("got %v", got)
			}
		})
	}
}

func TestStrings(t *testing.T) {
	for got, want := range map[string]string{
		MsgCallConnected.String():         "CALL_CONNECTED",
		MessageType(10).String():          "MessageType(10)",
		AttrCryptoBindingReq.String():     "CRYPTO_BINDING_REQ",
		AttributeID(9).String():           "AttributeID(9)",
		StatusNegotiationTimeout.String(): "NEGOTIATION_TIMEOUT",
		Status(0xc).String():              "Status(0xc)",
		HashSHA256.String():               "SHA256",
		stateDisconnectLinger.String():    "disconnect-linger",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

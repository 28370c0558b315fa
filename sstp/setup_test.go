package sstp

import (
	"bufio"
	"context"
	"errors"
	"net"
	"reflect"
	"testing"
)

func TestCheckConnectRequest(t *testing.T) {
	proto := func(v ...byte) Attribute { return Attribute{ID: AttrEncapsulatedProtocolID, Value: v} }
	for _, tc := range []struct {
		name  string
		attrs []Attribute
		want  []StatusInfo
	}{
		{"PPP", []Attribute{proto(0, 1)}, nil},
		{"PPP with a NO_ERROR status", []Attribute{proto(0, 1), StatusInfo{}.Attribute()}, nil},
		{"no attribute", nil, []StatusInfo{{Attr: AttrEncapsulatedProtocolID, Status: StatusRequiredAttributeMissing}}},
		{"protocol 2", []Attribute{proto(0, 2)}, []StatusInfo{{Attr: AttrEncapsulatedProtocolID, Status: StatusValueNotSupported, Value: []byte{0, 2}}}},
		{"long value", []Attribute{proto(0, 1, 0)}, []StatusInfo{{Attr: AttrEncapsulatedProtocolID, Status: StatusInvalidAttribValueLength, Value: []byte{0, 1, 0}}}},
		{"duplicate", []Attribute{proto(0, 1), proto(0, 1)}, []StatusInfo{{Attr: AttrEncapsulatedProtocolID, Status: StatusDuplicateAttribute}}},
		{"unknown attribute", []Attribute{proto(0, 1), {ID: 9}}, []StatusInfo{{Attr: 9, Status: StatusUnrecognizedAttribute}}},
		{"error status", []Attribute{proto(0, 1), StatusInfo{Status: StatusInvalidFrameReceived}.Attribute()}, []StatusInfo{{Attr: AttrStatusInfo, Status: StatusStatusInfoNotSupportedInMsg}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := checkConnectRequest(ControlMessage{Type: MsgCallConnectRequest, Attributes: tc.attrs})
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	many := make([]Attribute, 100)
	for i := range many {
		many[i] = Attribute{ID: 7}
	}
	if got := checkConnectRequest(ControlMessage{Attributes: many}); len(got) != maxNakStatus {
		t.Fatalf("%d statuses in one NAK", len(got))
	}
}

// rawClient speaks to Accept over a plain pipe, packet by packet.
type rawClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func newRawClient(t *testing.T, cfg ServerConfig) (*rawClient, chan error) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	errc := make(chan error, 1)
	go func() {
		_, err := Accept(context.Background(), a, cfg)
		errc <- err
		a.Close()
	}()
	rc := &rawClient{t: t, c: b, br: bufio.NewReaderSize(b, readBufferSize)}
	if _, err := b.Write([]byte(goodRequest)); err != nil {
		t.Fatal(err)
	}
	if err := readResponse(rc.br); err != nil {
		t.Fatal(err)
	}
	return rc, errc
}

func (rc *rawClient) send(m ControlMessage) {
	rc.t.Helper()
	b, err := appendControlPacket(nil, m)
	if err != nil {
		rc.t.Fatal(err)
	}
	if _, err := rc.c.Write(b); err != nil {
		rc.t.Fatal(err)
	}
}

func (rc *rawClient) recv() ControlMessage {
	rc.t.Helper()
	p, err := ReadPacket(rc.br)
	if err != nil {
		rc.t.Fatal(err)
	}
	m, err := ParseControl(p.Data)
	if err != nil || !p.Control {
		rc.t.Fatalf("%+v, %v", p, err)
	}
	return m
}

// A refused CALL_CONNECT_REQUEST gets a NAK naming the attribute; the client may try again,
// three times, and the fourth refusal aborts.
func TestConnectRequestNak(t *testing.T) {
	bad := ControlMessage{Type: MsgCallConnectRequest, Attributes: []Attribute{{ID: AttrEncapsulatedProtocolID, Value: []byte{0, 2}}}}
	good := ControlMessage{Type: MsgCallConnectRequest, Attributes: []Attribute{encapsulatedProtocol()}}
	cfg := ServerConfig{CertHashSHA1: make([]byte, 20)}

	t.Run("retry succeeds", func(t *testing.T) {
		rc, errc := newRawClient(t, cfg)
		// CALL_CONNECT_REQUEST { ENCAPSULATED_PROTOCOL_ID(2) } -->
		rc.send(bad)
		// <-- CALL_CONNECT_NAK { STATUS_INFO(ENCAPSULATED_PROTOCOL_ID, VALUE_NOT_SUPPORTED, 0002) }
		nak := rc.recv()
		want := StatusInfo{Attr: AttrEncapsulatedProtocolID, Status: StatusValueNotSupported, Value: []byte{0, 2}}
		if nak.Type != MsgCallConnectNak || !reflect.DeepEqual(statusOf(nak), want) {
			t.Fatalf("got %v %+v", nak, statusOf(nak))
		}
		rc.send(good)
		ack := rc.recv()
		a, ok := ack.Attribute(AttrCryptoBindingReq)
		if ack.Type != MsgCallConnectAck || !ok {
			t.Fatalf("got %v", ack)
		}
		req, err := ParseCryptoBindingRequest(a.Value)
		if err != nil || req.Hashes != uint8(HashSHA1) || req.Nonce == [NonceLen]byte{} {
			t.Fatalf("%+v, %v", req, err)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	})
	t.Run("retries exhausted", func(t *testing.T) {
		rc, errc := newRawClient(t, cfg)
		for range maxNaks {
			rc.send(bad)
			if m := rc.recv(); m.Type != MsgCallConnectNak {
				t.Fatalf("got %v", m)
			}
		}
		rc.send(bad)
		if m := rc.recv(); m.Type != MsgCallAbort || statusOf(m).Status != StatusRetryCountExceeded {
			t.Fatalf("got %v %v", m, statusOf(m))
		}
		if err := <-errc; !errors.Is(err, ErrProtocol) {
			t.Fatalf("Accept: %v", err)
		}
	})
	for _, tc := range []struct {
		name string
		pkt  Packet
	}{
		{"data first", Packet{Data: lcpFrame}},
		{"CALL_CONNECTED first", Packet{Control: true, Data: ControlMessage{Type: MsgCallConnected}.Append(nil)}},
		{"malformed", Packet{Control: true, Data: []byte{0, 1, 0, 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, errc := newRawClient(t, cfg)
			b, _ := AppendPacket(nil, tc.pkt)
			if _, err := rc.c.Write(b); err != nil {
				t.Fatal(err)
			}
			if m := rc.recv(); m.Type != MsgCallAbort {
				t.Fatalf("got %v", m)
			}
			if err := <-errc; !errors.Is(err, ErrProtocol) {
				t.Fatalf("Accept: %v", err)
			}
		})
	}
}

// Dial follows NAKs and reports an abort.
func TestDialRefused(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	go func() {
		br := bufio.NewReaderSize(a, readBufferSize)
		if _, err := ReadRequest(br); err != nil {
			return
		}
		_, _ = a.Write(appendResponse(nil, 200, testTime))
		w := &writer{w: a}
		for range maxNaks {
			if _, err := ReadPacket(br); err != nil {
				return
			}
			_ = w.writeControl(ControlMessage{Type: MsgCallConnectNak, Attributes: []Attribute{StatusInfo{Attr: 1, Status: StatusValueNotSupported}.Attribute()}})
		}
		_, _ = ReadPacket(br)
		_ = w.writeControl(ControlMessage{Type: MsgCallAbort, Attributes: []Attribute{StatusInfo{Status: StatusRetryCountExceeded}.Attribute()}})
	}()
	if _, err := Dial(context.Background(), b, "vpn.example.com"); !errors.Is(err, ErrAborted) {
		t.Fatalf("Dial: %v", err)
	}
}

package sstp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"reflect"
	"strings"
	"testing"
)

// FuzzReadPacket feeds streams to ReadPacket. It must not panic; a packet it accepts must
// re-encode to the bytes it came from, apart from the reserved bits.
func FuzzReadPacket(f *testing.F) {
	f.Add(unhex(f, connectRequestHex))
	for _, ex := range bindingExamples {
		f.Add(unhex(f, ex.ack))
		f.Add(unhex(f, ex.callConnected))
	}
	f.Add([]byte{0x10, 0x00, 0x00, 0x0c, 0xff, 0x03, 0xc0, 0x21, 0x01, 0x01, 0x00, 0x04})
	f.Add([]byte{0x10, 0xff, 0xff, 0xff})
	f.Add([]byte{0x10, 0x00, 0x00, 0x03})
	f.Fuzz(func(t *testing.T, stream []byte) {
		r := bufio.NewReaderSize(bytes.NewReader(stream), readBufferSize)
		off := 0
		for {
			p, err := ReadPacket(r)
			if err != nil {
				if !errors.Is(err, ErrMalformed) && err != io.EOF && err != io.ErrUnexpectedEOF {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			b, err := AppendPacket(nil, p)
			if err != nil {
				t.Fatal(err)
			}
			orig := stream[off : off+len(b)]
			if b[0] != orig[0] || b[1] != orig[1]&flagControl || !bytes.Equal(b[4:], orig[4:]) ||
				binary.BigEndian.Uint16(b[2:]) != binary.BigEndian.Uint16(orig[2:])&lengthMask {
				t.Fatalf("re-encoded % x from % x", b, orig)
			}
			off += len(b)
			if p.Control {
				_, _ = ParseControl(p.Data)
			}
		}
	})
}

// FuzzParseControl feeds control message bodies to ParseControl and the attribute decoders.
// Nothing may panic; a message ParseControl accepts must re-encode to a body that parses to
// the same message and encodes the same again.
func FuzzParseControl(f *testing.F) {
	for _, s := range []string{connectRequestHex, bindingExamples[0].ack, bindingExamples[0].callConnected, bindingExamples[1].callConnected} {
		f.Add(unhex(f, s)[HeaderLen:])
	}
	f.Add(ControlMessage{Type: MsgCallAbort, Attributes: []Attribute{StatusInfo{Attr: 3, Status: StatusValueNotSupported}.Attribute()}}.Append(nil))
	f.Add(ControlMessage{Type: MsgCallConnectNak, Attributes: []Attribute{StatusInfo{Attr: 1, Status: 4, Value: []byte{0, 2}}.Attribute(), {ID: 9}}}.Append(nil))
	f.Add(ControlMessage{Type: MsgEchoRequest}.Append(nil))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := ParseControl(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		for _, a := range m.Attributes {
			_, _ = ParseStatusInfo(a.Value)
			_, _ = ParseCryptoBindingRequest(a.Value)
			_, _ = ParseCryptoBinding(a.Value)
		}
		_ = checkConnectRequest(m)
		_ = m.String()
		b := m.Append(nil)
		if len(b) != len(body) {
			t.Fatalf("re-encoded %d bytes from %d", len(b), len(body))
		}
		m2, err := ParseControl(b)
		if err != nil {
			t.Fatalf("re-encoded message does not parse: %v", err)
		}
		if len(m.Attributes) == 0 {
			m.Attributes = nil
		}
		if len(m2.Attributes) == 0 {
			m2.Attributes = nil
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip differs:\n%+v\n%+v", m, m2)
		}
		if !bytes.Equal(m2.Append(nil), b) {
			t.Fatal("encoding not stable")
		}
	})
}

// FuzzHTTPRequest feeds requests to ReadRequest. It must not panic, must return an
// *HTTPError or a read error, and what it accepts must be sane.
func FuzzHTTPRequest(f *testing.F) {
	f.Add([]byte(goodRequest))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	f.Add([]byte("\r\n\r\nSSTP_DUPLEX_POST " + URI + " HTTP/1.1\nHost: a\n\n"))
	f.Add([]byte("SSTP_DUPLEX_POST " + URI + " HTTP/1.1\r\nHost: a\r\n b\r\n\r\n"))
	f.Fuzz(func(t *testing.T, req []byte) {
		r, err := ReadRequest(bufio.NewReaderSize(bytes.NewReader(req), readBufferSize))
		if err != nil {
			var he *HTTPError
			if !errors.As(err, &he) && err != io.EOF && err != io.ErrUnexpectedEOF {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !validCorrelationID(r.CorrelationID) || strings.ContainsAny(r.Host, "\r\n") {
			t.Fatalf("accepted %+v", r)
		}
		if !bytes.Contains(req, []byte(Method+" "+URI+" HTTP/1.1")) {
			t.Fatalf("accepted without the SSTP request line: %q", req)
		}
	})
}

// FuzzServerStream feeds a server, after a good call setup, whatever a client might send:
// the server must not panic or hang, and must end the call once the stream ends.
func FuzzServerStream(f *testing.F) {
	connected := appendCallConnected(nil, CryptoBinding{Hash: HashSHA256, CertHash: make([]byte, 32)}, nil, nil)
	f.Add(append(append([]byte{}, connected...), 0x10, 0, 0, 8, 0x00, 0x21, 0x45, 0))
	f.Add(append(unhex(f, "10 00 00 0c ff 03 c0 21 01 01 00 04"), unhex(f, "10 01 00 08 00 08 00 00")...))
	f.Add(unhex(f, "10 01 00 0c 00 06 00 01 00 02 00 0c"))
	f.Add(unhex(f, "10 01 00 08 00 05 00 00 10 01 00 08 00 07 00 00"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		a, b := net.Pipe()
		defer b.Close()
		srvc := make(chan *ServerConn, 1)
		go func() {
			s, err := Accept(context.Background(), a, ServerConfig{CertHashSHA256: make([]byte, 32), HelloInterval: -1})
			if err != nil {
				t.Error(err)
			}
			srvc <- s
		}()
		br := bufio.NewReaderSize(b, readBufferSize)
		req, _ := appendControlPacket([]byte(goodRequest), ControlMessage{Type: MsgCallConnectRequest, Attributes: []Attribute{encapsulatedProtocol()}})
		if _, err := b.Write(req); err != nil {
			t.Fatal(err)
		}
		if err := readResponse(br); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadPacket(br); err != nil {
			t.Fatal(err)
		}
		srv := <-srvc
		if srv == nil {
			return
		}
		srv.SetHLAK(nil)
		done := make(chan error, 1)
		go func() {
			for {
				if _, err := srv.ReadFrame(nil); err != nil {
					done <- err
					return
				}
			}
		}()
		go func() { _, _ = io.Copy(io.Discard, br) }()
		_, _ = b.Write(stream)
		b.Close()
		if err := <-done; err == nil {
			t.Fatal("no error")
		}
		srv.Close()
	})
}

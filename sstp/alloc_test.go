package sstp

import (
	"bufio"
	"context"
	"io"
	"net"
	"testing"
)

// connectedRaw returns a server call, connected, over a plain pipe, and the client's end.
func connectedRaw(t *testing.T) (*ServerConn, net.Conn, *bufio.Reader) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
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
	must(t, write(b, req))
	must(t, readResponse(br))
	p, err := ReadPacket(br)
	must(t, err)
	m, _ := ParseControl(p.Data)
	a2, _ := m.Attribute(AttrCryptoBindingReq)
	cbr, _ := ParseCryptoBindingRequest(a2.Value)
	srv := <-srvc
	srv.SetHLAK(nil)
	go func() { _, _ = srv.ReadFrame(nil) }()
	must(t, write(b, appendCallConnected(nil, CryptoBinding{Hash: HashSHA256, Nonce: cbr.Nonce, CertHash: make([]byte, 32)}, nil, nil)))
	<-srv.Connected()
	return srv, b, br
}

func write(w io.Writer, b []byte) error { _, err := w.Write(b); return err }

// The data path allocates nothing per frame.
func TestDataPathAllocs(t *testing.T) {
	srv, b, br := connectedRaw(t)
	go func() { _, _ = io.Copy(io.Discard, br) }()
	frame := append([]byte{0x00, 0x21}, make([]byte, 1400)...)
	if n := testing.AllocsPerRun(100, func() { _ = srv.WriteFrame(frame) }); n != 0 {
		t.Errorf("WriteFrame: %v allocations", n)
	}
	frames := [][]byte{frame, frame, frame}
	if n := testing.AllocsPerRun(100, func() { _ = srv.WriteFrames(frames) }); n != 0 {
		t.Errorf("WriteFrames: %v allocations", n)
	}

	pkt, _ := AppendPacket(nil, Packet{Data: frame})
	var stream []byte
	for range 200 { // AllocsPerRun reads 101; connectedRaw's reader takes one
		stream = append(stream, pkt...)
	}
	go func() { _ = write(b, stream) }()
	buf := make([]byte, 0, MaxFrameLen)
	if n := testing.AllocsPerRun(100, func() { _, _ = srv.ReadFrame(buf) }); n != 0 {
		t.Errorf("ReadFrame: %v allocations", n)
	}
}

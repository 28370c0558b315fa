package eap

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// TLSClient runs one EAP-TLS authentication (RFC 5216) as the peer: p2sgw's own test clients
// and, later, `p2sgw connect`. Pass every request of the server to Next and send what it
// returns; after Success, MSK holds the key. It is not safe for concurrent use; it runs
// crypto/tls in a goroutine of its own, which Close ends.
type TLSClient struct {
	conn    *engineConn
	tls     *tls.Conn
	done    chan error
	doneErr error
	ended   bool

	in      []byte // the server's fragmented message being reassembled
	pending []byte // our TLS data not sent yet (fragments)
	started bool

	// MSK is the master session key once the server sent Success: 64 octets.
	MSK []byte
}

// NewTLSClient prepares an EAP-TLS peer with cfg: its certificate, and how it verifies the
// server's. TLS 1.2 is the most it negotiates, as NewTLSServer.
func NewTLSClient(cfg *tls.Config) *TLSClient {
	c := cfg.Clone()
	c.MaxVersion = tls.VersionTLS12
	conn := newEngineConn()
	return &TLSClient{conn: conn, tls: tls.Client(conn, c), done: make(chan error, 1)}
}

// Close ends the TLS goroutine.
func (c *TLSClient) Close() { c.conn.Close() }

// Next takes one request of the server (or its Success or Failure) and returns the response
// to send; after Success it returns a zero Packet and sets MSK. A Failure, or a request that
// makes no sense, is an error.
func (c *TLSClient) Next(req Packet) (Packet, error) {
	switch {
	case req.Code == CodeSuccess:
		if !c.ended || c.doneErr != nil {
			return Packet{}, errors.New("eap: Success before the TLS handshake ended")
		}
		st := c.tls.ConnectionState()
		msk, err := st.ExportKeyingMaterial(mskLabel, nil, 128)
		if err != nil {
			return Packet{}, fmt.Errorf("eap: EAP-TLS keys: %w", err)
		}
		c.MSK = msk[:64]
		c.Close()
		return Packet{}, nil
	case req.Code == CodeFailure:
		c.Close()
		return Packet{}, errors.New("eap: the server sent EAP Failure")
	case req.Code != CodeRequest || req.Type != TypeTLS || len(req.Data) < 1:
		return Packet{}, fmt.Errorf("%w: not an EAP-TLS request (code %d, type %d)", ErrMalformed, req.Code, req.Type)
	}
	flags, data := req.Data[0], req.Data[1:]
	respond := func(out []byte) Packet {
		c.pending = out
		return c.fragment(req.Identifier)
	}
	if flags&flagStart != 0 {
		if c.started {
			return Packet{}, errors.New("eap: a second EAP-TLS Start")
		}
		c.started = true
		go func() { c.done <- c.tls.Handshake() }()
		out, err := c.feed(nil)
		if err != nil {
			return Packet{}, err
		}
		return respond(out), nil
	}
	if flags&flagLength != 0 {
		if len(data) < 4 {
			return Packet{}, fmt.Errorf("%w: EAP-TLS length missing", ErrMalformed)
		}
		data = data[4:]
	}
	if len(c.pending) > 0 {
		if len(data) != 0 {
			return Packet{}, fmt.Errorf("%w: server data while we were sending fragments", ErrMalformed)
		}
		return c.fragment(req.Identifier), nil // its ACK: our next fragment
	}
	if len(c.in)+len(data) > maxTLSMessage {
		return Packet{}, fmt.Errorf("%w: EAP-TLS message over %d octets", ErrMalformed, maxTLSMessage)
	}
	c.in = append(c.in, data...)
	if flags&flagMore != 0 {
		return Packet{Code: CodeResponse, Identifier: req.Identifier, Type: TypeTLS, Data: []byte{0}}, nil // ACK
	}
	msg := c.in
	c.in = nil
	out, err := c.feed(msg)
	if err != nil {
		return Packet{}, err
	}
	return respond(out), nil
}

// fragment is the response carrying the next fragment of c.pending, or an empty
// acknowledgement when nothing is pending (our last flight was sent).
func (c *TLSClient) fragment(id uint8) Packet {
	n := min(len(c.pending), fragmentSize)
	var flags byte
	var data []byte
	if len(c.pending) > fragmentSize {
		flags |= flagMore
		data = binary.BigEndian.AppendUint32(data, uint32(len(c.pending)))
		flags |= flagLength
	}
	data = append([]byte{flags}, append(data, c.pending[:n]...)...)
	c.pending = c.pending[n:]
	return Packet{Code: CodeResponse, Identifier: id, Type: TypeTLS, Data: data}
}

// feed gives the TLS engine the server's data and returns what it wrote in answer, once it
// waits for more or has finished the handshake.
func (c *TLSClient) feed(data []byte) ([]byte, error) {
	if c.ended {
		return nil, errors.New("eap: TLS data after the handshake")
	}
	answered := make(chan struct{})
	select {
	case c.conn.feed <- feedReq{data, answered}:
	case err := <-c.done:
		c.ended, c.doneErr = true, err
		return nil, fmt.Errorf("eap: TLS handshake: %w", err)
	}
	select {
	case <-answered:
	case err := <-c.done:
		c.ended, c.doneErr = true, err
		if err != nil {
			return nil, fmt.Errorf("eap: TLS handshake: %w", err)
		}
	case <-time.After(10 * time.Second):
		return nil, errors.New("eap: TLS engine stuck")
	}
	return c.conn.takeOutput(), nil
}

package message

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"testing"
)

// FuzzDecode feeds datagrams to Decode and DecodeSealed. Neither may panic; whatever Decode
// accepts must re-encode, and the re-encoding must decode to the same message and re-encode to
// the same bytes. Check must not panic on anything decoded.
func FuzzDecode(f *testing.F) {
	for _, name := range captureNames {
		f.Add(readTestdata(f, name))
	}
	for _, tc := range sampleMessages() {
		b, err := tc.m.Append(nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(rawMessage(testHeader, 200, rawPayload(PayloadNone, true, nil)))
	f.Fuzz(func(t *testing.T, datagram []byte) {
		roundTripDatagram(t, datagram)
		// Mutations rarely keep the length field right; fix it so the payload decoders are
		// reached, not only the header check.
		if len(datagram) >= HeaderLen {
			fixed := bytes.Clone(datagram)
			binary.BigEndian.PutUint32(fixed[offLength:], uint32(len(fixed)))
			roundTripDatagram(t, fixed)
		}
	})
}

func roundTripDatagram(t *testing.T, datagram []byte) {
	t.Helper()
	s, err := DecodeSealed(datagram)
	if err == nil {
		checkSealedOffsets(t, datagram, s)
	}
	m, err := Decode(datagram)
	if err != nil {
		return
	}
	b, err := m.Append(nil)
	if err != nil {
		t.Fatalf("decoded message does not re-encode: %v\n%v", err, m.Payloads)
	}
	m2, err := Decode(b)
	if err != nil {
		t.Fatalf("re-encoded message does not decode: %v", err)
	}
	if !reflect.DeepEqual(m2, m) {
		t.Fatalf("round trip differs:\n got %+v %v\nwant %+v %v", m2.Header, m2.Payloads, m.Header, m.Payloads)
	}
	if b2, _ := m2.Append(nil); !bytes.Equal(b2, b) {
		t.Fatal("encoding is not stable")
	}
	for _, x := range []ExchangeType{m.Exchange, ExchangeIKEAuth} {
		_ = Check(x, m.IsResponse(), false, m.Payloads)
		_ = Check(x, m.IsResponse(), true, m.Payloads)
	}
}

func checkSealedOffsets(t *testing.T, datagram []byte, s *Sealed) {
	t.Helper()
	if s.SKOffset < HeaderLen || s.BodyOffset > len(datagram) || !bytes.Equal(s.Body, datagram[s.BodyOffset:]) {
		t.Fatalf("offsets %d, %d of %d bytes", s.SKOffset, s.BodyOffset, len(datagram))
	}
	want := PayloadSK
	if s.Fragment {
		want = PayloadSKF
	}
	if got := binary.BigEndian.Uint16(datagram[s.SKOffset+2:]); int(got) != len(datagram)-s.SKOffset || datagram[s.SKOffset] != byte(s.Inner) {
		t.Fatalf("SK header at %d: length %d, next %d", s.SKOffset, got, datagram[s.SKOffset])
	}
	if s.SKOffset == HeaderLen && datagram[offNextPayload] != byte(want) {
		t.Fatalf("header next payload %d, want %v", datagram[offNextPayload], want)
	}
}

// FuzzDecodeInner feeds a first payload type and a plaintext to DecodePayloads, with the same
// round-trip demands as FuzzDecode.
func FuzzDecodeInner(f *testing.F) {
	for _, np := range samplePayloads() {
		b, err := AppendPayloads(nil, []Payload{np.p})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(byte(np.p.Type()), b)
	}
	chain := innerChain()
	f.Add(byte(chain.First()), mustAppend(f, chain...))
	f.Add(byte(PayloadNone), []byte{})
	f.Fuzz(func(t *testing.T, first byte, plaintext []byte) {
		ps, err := DecodePayloads(PayloadType(first), plaintext)
		if err != nil {
			return
		}
		b, err := AppendPayloads(nil, ps)
		if err != nil {
			t.Fatalf("decoded chain does not re-encode: %v\n%v", err, ps)
		}
		ps2, err := DecodePayloads(ps.First(), b)
		if err != nil {
			t.Fatalf("re-encoded chain does not decode: %v", err)
		}
		if !reflect.DeepEqual(ps2, ps) {
			t.Fatalf("round trip differs:\n got %v\nwant %v", ps2, ps)
		}
		for _, x := range []ExchangeType{ExchangeIKEAuth, ExchangeCreateChildSA, ExchangeInformational} {
			_ = Check(x, false, true, ps)
			_ = Check(x, true, true, ps)
		}
	})
}

package message

import (
	"errors"
	"testing"
)

func TestHeaderRoundTrip(t *testing.T) {
	h := Header{
		SPIi: 0xfedcba9876543210, SPIr: 0x0123456789abcdef, NextPayload: PayloadSK,
		MinorVersion: 1, Exchange: ExchangeCreateChildSA, Flags: FlagResponse | FlagVersion | 0x01,
		MessageID: 0xdeadbeef, Length: HeaderLen,
	}
	b := AppendHeader(nil, h)
	if len(b) != HeaderLen || b[offVersion] != 0x21 {
		t.Fatalf("encoded % x", b)
	}
	got, err := DecodeHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	if got != h {
		t.Fatalf("got %+v\nwant %+v", got, h)
	}
	if !got.IsResponse() || got.IsInitiator() {
		t.Fatalf("flags %v", got.Flags)
	}
}

func TestDecodeHeaderErrors(t *testing.T) {
	valid := AppendHeader(nil, Header{Exchange: ExchangeIKESAInit, Length: HeaderLen})
	withLength := func(n uint32, extra int) []byte {
		b := AppendHeader(nil, Header{Exchange: ExchangeIKESAInit, Length: n})
		return append(b, make([]byte, extra)...)
	}
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"27 bytes", valid[:HeaderLen-1], ErrTruncated},
		{"length field below header", withLength(27, 0), ErrBadLength},
		{"length field past datagram", withLength(40, 8), ErrTruncated},
		{"datagram past length field", withLength(HeaderLen, 4), ErrBadLength},
		{"datagram over 64 KiB", withLength(MaxMessageLen+1, MaxMessageLen+1-HeaderLen), ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, err := DecodeHeader(tc.b)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if h != (Header{}) {
				t.Fatalf("header returned with error: %+v", h)
			}
		})
	}
}

func TestDecodeHeaderVersion(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version byte
	}{{"IKEv1", 0x10}, {"version 3", 0x30}, {"version 0", 0x00}} {
		t.Run(tc.name, func(t *testing.T) {
			b := AppendHeader(nil, Header{SPIi: 7, MessageID: 9, Exchange: ExchangeIKESAInit, Length: HeaderLen})
			b[offVersion] = tc.version
			h, err := DecodeHeader(b)
			if !errors.Is(err, ErrUnsupportedVersion) {
				t.Fatalf("err = %v, want ErrUnsupportedVersion", err)
			}
			if h.SPIi != 7 || h.MessageID != 9 {
				t.Fatalf("header not returned for the INVALID_MAJOR_VERSION answer: %+v", h)
			}
			if _, err := Decode(b); !errors.Is(err, ErrUnsupportedVersion) {
				t.Fatalf("Decode: %v", err)
			}
		})
	}
	b := AppendHeader(nil, Header{Exchange: ExchangeIKESAInit, Length: HeaderLen})
	b[offVersion] = 0x2f
	if h, err := DecodeHeader(b); err != nil || h.MinorVersion != 15 {
		t.Fatalf("minor version 15 must be accepted: %+v, %v", h, err)
	}
}

func TestFlagsString(t *testing.T) {
	for f, want := range map[Flags]string{
		0:                            "0x00",
		FlagInitiator:                "I",
		FlagResponse:                 "R",
		FlagInitiator | FlagVersion:  "I|V",
		FlagResponse | 0x41:          "R|0x41",
		FlagInitiator | FlagResponse: "I|R",
	} {
		if got := f.String(); got != want {
			t.Errorf("Flags(%#x).String() = %q, want %q", uint8(f), got, want)
		}
	}
}

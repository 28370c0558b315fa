package message

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
)

// sealCBC builds an encrypted message in one buffer the way the package comment describes,
// with AES-CBC and HMAC-SHA2-256-128 as ike/transform will: reserve the header, write IV and
// plaintext after it, pad, fill the header with AppendSKHeader (or AppendSKFHeader) into the
// reserved bytes, encrypt in place, append the ICV.
func sealCBC(t *testing.T, k captureKeys, h Header, inner Payloads, frag *SKF) []byte {
	t.Helper()
	enc, integ := mustHex(t, k.enc), mustHex(t, k.integ)
	offset := SKBodyOffset
	if frag != nil {
		offset = SKFBodyOffset
	}
	buf := make([]byte, offset, 512)
	buf = append(buf, bytes.Repeat([]byte{0x11}, aes.BlockSize)...) // IV
	ptStart := len(buf)
	buf, err := AppendPayloads(buf, inner)
	if err != nil {
		t.Fatal(err)
	}
	pad := aes.BlockSize - (len(buf)-ptStart+1)%aes.BlockSize
	buf = append(buf, make([]byte, pad)...)
	buf = append(buf, byte(pad))
	ptEnd := len(buf)
	buf = buf[:len(buf)+cbcICVLen]
	bodyLen := len(buf) - offset
	if frag == nil {
		_, err = AppendSKHeader(buf[:0], h, inner.First(), bodyLen)
	} else {
		_, err = AppendSKFHeader(buf[:0], h, frag.NextPayload, frag.FragmentNumber, frag.TotalFragments, bodyLen)
	}
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(enc)
	cipher.NewCBCEncrypter(block, buf[offset:ptStart]).CryptBlocks(buf[ptStart:ptEnd], buf[ptStart:ptEnd])
	mac := hmac.New(sha256.New, integ)
	mac.Write(buf[:ptEnd])
	copy(buf[ptEnd:], mac.Sum(nil)[:cbcICVLen])
	return buf
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b := make([]byte, len(s)/2)
	for i := range b {
		var v byte
		for _, c := range s[2*i : 2*i+2] {
			v <<= 4
			switch {
			case '0' <= c && c <= '9':
				v |= byte(c - '0')
			case 'a' <= c && c <= 'f':
				v |= byte(c - 'a' + 10)
			default:
				t.Fatalf("bad hex %q", s)
			}
		}
		b[i] = v
	}
	return b
}

func TestSealInPlaceRoundTrip(t *testing.T) {
	inner := Payloads{
		&IDr{IDType: IDFQDN, Data: []byte("gw.example.net")},
		&Auth{Method: AuthPSK, Data: seq(0, 32)},
		&CP{CFGType: CPReply, Attributes: []CPAttribute{{Type: CPInternalIP4Address, Value: []byte{100, 64, 0, 7}}}},
	}
	h := testHeader
	h.Flags = FlagResponse
	t.Run("SK", func(t *testing.T) {
		msg := sealCBC(t, sa1Responder, h, inner, nil)
		got, err := Decode(msg)
		if err != nil {
			t.Fatal(err)
		}
		if got.NextPayload != PayloadSK || got.Length != uint32(len(msg)) || got.MessageID != h.MessageID {
			t.Fatalf("header %+v", got.Header)
		}
		s, plain := openCBC(t, sa1Responder, msg)
		if s.Inner != PayloadIDr {
			t.Fatalf("inner type %v", s.Inner)
		}
		ps, err := DecodePayloads(s.Inner, plain)
		if err != nil || !reflect.DeepEqual(ps, inner) {
			t.Fatalf("inner %v, %v", ps, err)
		}
	})
	t.Run("SKF", func(t *testing.T) {
		msg := sealCBC(t, sa1Responder, h, inner, &SKF{NextPayload: PayloadIDr, FragmentNumber: 1, TotalFragments: 2})
		s, plain := openCBC(t, sa1Responder, msg)
		if !s.Fragment || s.FragmentNumber != 1 || s.TotalFragments != 2 || s.BodyOffset != SKFBodyOffset {
			t.Fatalf("sealed %+v", s)
		}
		if ps, err := DecodePayloads(s.Inner, plain); err != nil || !reflect.DeepEqual(ps, inner) {
			t.Fatalf("inner %v, %v", ps, err)
		}
	})
	t.Run("empty inner chain", func(t *testing.T) {
		s, plain := openCBC(t, sa1Responder, sealCBC(t, sa1Responder, h, nil, nil))
		if ps, err := DecodePayloads(s.Inner, plain); err != nil || len(ps) != 0 {
			t.Fatalf("inner %v, %v", ps, err)
		}
	})
}

// TestSealAEAD checks the associated data: sealed with AES-GCM over the prefix that
// AppendSKHeader wrote, opened with DecodeSealed's datagram[:BodyOffset].
func TestSealAEAD(t *testing.T) {
	block, _ := aes.NewCipher(seq(0, 16))
	gcm, _ := cipher.NewGCM(block)
	salt := seq(0x40, 4)
	iv := seq(0x50, 8)
	inner := Payloads{&Delete{Protocol: ProtocolESP, SPIs: []uint32{0xc1c2c3c4}}}
	for _, frag := range []bool{false, true} {
		offset := SKBodyOffset
		if frag {
			offset = SKFBodyOffset
		}
		plain := mustAppend(t, inner...)
		bodyLen := len(iv) + len(plain) + 1 + gcm.Overhead() // no padding, pad length 0
		msg := make([]byte, offset, offset+bodyLen)
		msg = append(msg, iv...)
		msg = append(msg, plain...)
		msg = append(msg, 0)
		var err error
		if frag {
			_, err = AppendSKFHeader(msg[:0], testHeader, inner.First(), 1, 1, bodyLen)
		} else {
			_, err = AppendSKHeader(msg[:0], testHeader, inner.First(), bodyLen)
		}
		if err != nil {
			t.Fatal(err)
		}
		nonce := append(bytes.Clone(salt), iv...)
		pt := msg[offset+len(iv):]
		msg = gcm.Seal(msg[:offset+len(iv)], nonce, pt, msg[:offset])

		s, err := DecodeSealed(msg)
		if err != nil {
			t.Fatal(err)
		}
		opened, err := gcm.Open(nil, nonce, s.Body[len(iv):], msg[:s.BodyOffset])
		if err != nil {
			t.Fatalf("fragment %v: AEAD open with the reported associated data: %v", frag, err)
		}
		ps, err := DecodePayloads(s.Inner, opened[:len(opened)-1])
		if err != nil || !reflect.DeepEqual(ps, inner) {
			t.Fatalf("inner %v, %v", ps, err)
		}
	}
}

func TestAppendSKHeader(t *testing.T) {
	h := testHeader
	h.NextPayload, h.Length = PayloadAuth, 1 // ignored
	b, err := AppendSKHeader([]byte{0xaa}, h, PayloadIDi, 100)
	if err != nil {
		t.Fatal(err)
	}
	b = b[1:]
	if len(b) != SKBodyOffset {
		t.Fatalf("appended %d bytes", len(b))
	}
	if b[offNextPayload] != byte(PayloadSK) || binary.BigEndian.Uint32(b[offLength:]) != SKBodyOffset+100 {
		t.Fatalf("header % x", b[:HeaderLen])
	}
	if want := []byte{byte(PayloadIDi), 0, 0, 104}; !bytes.Equal(b[HeaderLen:], want) {
		t.Fatalf("SK header % x, want % x", b[HeaderLen:], want)
	}
	b, err = AppendSKFHeader(nil, h, PayloadNone, 3, 4, 50)
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0, 0, 0, 58, 0, 3, 0, 4}; b[offNextPayload] != byte(PayloadSKF) || !bytes.Equal(b[HeaderLen:], want) {
		t.Fatalf("SKF header % x", b)
	}
}

func TestAppendSKHeaderErrors(t *testing.T) {
	cases := []struct {
		name string
		f    func() ([]byte, error)
		want error
	}{
		{"negative body", func() ([]byte, error) { return AppendSKHeader(nil, testHeader, PayloadIDi, -1) }, ErrBadLength},
		{"message over 64 KiB", func() ([]byte, error) {
			return AppendSKHeader(nil, testHeader, PayloadIDi, MaxMessageLen-SKBodyOffset+1)
		}, ErrTooLarge},
		{"largest message", func() ([]byte, error) { return AppendSKHeader(nil, testHeader, PayloadIDi, MaxMessageLen-SKBodyOffset) }, nil},
		{"SK inside SK", func() ([]byte, error) { return AppendSKHeader(nil, testHeader, PayloadSK, 10) }, ErrSyntax},
		{"fragment 0", func() ([]byte, error) { return AppendSKFHeader(nil, testHeader, PayloadIDi, 0, 1, 10) }, ErrSyntax},
		{"fragment 3 of 2", func() ([]byte, error) { return AppendSKFHeader(nil, testHeader, PayloadIDi, 3, 2, 10) }, ErrSyntax},
		{"SKF message over 64 KiB", func() ([]byte, error) {
			return AppendSKFHeader(nil, testHeader, PayloadIDi, 1, 1, MaxMessageLen-SKFBodyOffset+1)
		}, ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.f()
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err != nil && len(b) != 0 {
				t.Fatalf("appended %d bytes on error", len(b))
			}
		})
	}
}

func TestDecodeSealedOuterPayloads(t *testing.T) {
	m := &Message{Header: testHeader, Payloads: Payloads{&VendorID{Data: seq(0, 4)}, &SK{NextPayload: PayloadNone, Body: seq(0, 32)}}}
	b, err := m.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := DecodeSealed(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Outer) != 1 || s.SKOffset != HeaderLen+PayloadHeaderLen+4 || s.BodyOffset != s.SKOffset+SKHeaderLen ||
		!bytes.Equal(s.Body, seq(0, 32)) || s.Inner != PayloadNone {
		t.Fatalf("sealed %+v", s)
	}
}

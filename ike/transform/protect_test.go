package transform

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"testing/iotest"
)

// protectSuites are the IKE SA suites with every ENCR/INTEG combination implemented.
var protectSuites = []Suite{
	{Protocol: ProtocolIKE, Encr: EncrAESGCM16, KeyLen: 128, PRF: PRFHMACSHA256, DH: DHECP256},
	{Protocol: ProtocolIKE, Encr: EncrAESGCM16, KeyLen: 256, PRF: PRFHMACSHA384, DH: DHECP384},
	{Protocol: ProtocolIKE, Encr: EncrAESCBC, KeyLen: 128, Integ: IntegHMACSHA196, PRF: PRFHMACSHA1, DH: DHMODP1024},
	{Protocol: ProtocolIKE, Encr: EncrAESCBC, KeyLen: 128, Integ: IntegHMACSHA256128, PRF: PRFHMACSHA256, DH: DHMODP2048},
	{Protocol: ProtocolIKE, Encr: EncrAESCBC, KeyLen: 256, Integ: IntegHMACSHA196, PRF: PRFHMACSHA256, DH: DHMODP2048},
	{Protocol: ProtocolIKE, Encr: EncrAESCBC, KeyLen: 256, Integ: IntegHMACSHA256128, PRF: PRFHMACSHA256, DH: DHMODP2048},
	{Protocol: ProtocolIKE, Encr: EncrAESCBC, KeyLen: 256, Integ: IntegHMACSHA384192, PRF: PRFHMACSHA384, DH: DHECP384},
	{Protocol: ProtocolIKE, Encr: EncrAESCBC, KeyLen: 256, Integ: IntegHMACSHA512256, PRF: PRFHMACSHA512, DH: DHCurve25519},
}

// testProtector keys a protector for s from a fixed stream.
func testProtector(t testing.TB, s Suite) Protector {
	t.Helper()
	enc, integ := make([]byte, s.EncrKeySize()), make([]byte, s.IntegKeySize())
	st := stream(7)
	st.Read(enc)
	st.Read(integ)
	p, err := NewProtector(s, enc, integ)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// testAAD stands for an IKE header and an SK payload header.
var testAAD = []byte("IKE header 28 octets long...SK h")

// TestGCMVector opens test cases 4 (AES-128) and 16 (AES-256) of the GCM specification
// (McGrew & Viega), with the 12-octet IV split as RFC 5282 §4 builds the nonce: salt cafebabe
// from the end of SK_e, explicit IV facedbaddecaf888 at the start of the body. The plaintext's
// last octet, 0x39, reads as a Pad Length of 57, leaving two octets of payload.
func TestGCMVector(t *testing.T) {
	plain := unhex(t, "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"+
		"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39")
	aad := unhex(t, "feedfacedeadbeeffeedfacedeadbeefabaddad2")
	for _, tc := range []struct {
		keyLen  uint16
		key, ct string
		tag     string
	}{
		{128, "feffe9928665731c6d6a8f9467308308",
			"42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
			"5bc94fbc3221a5db94fae95ae7121a47"},
		{256, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
			"522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
			"76fc6ece0f4e1768cddf8853bb2d551b"},
	} {
		t.Run(fmt.Sprint(tc.keyLen), func(t *testing.T) {
			s := Suite{Protocol: ProtocolIKE, Encr: EncrAESGCM16, KeyLen: tc.keyLen, PRF: PRFHMACSHA256, DH: DHECP256}
			p, err := NewProtector(s, unhex(t, tc.key+"cafebabe"), nil)
			if err != nil {
				t.Fatal(err)
			}
			body := unhex(t, "facedbaddecaf888"+tc.ct+tc.tag)
			got, err := p.Open(nil, body, aad)
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "payloads", got, plain[:2])
			body[len(body)-1] ^= 1
			if _, err := p.Open(nil, body, aad); !errors.Is(err, ErrAuthentication) {
				t.Errorf("tampered tag: %v", err)
			}
		})
	}
}

// TestCBCVector opens RFC 3602 §4 case #3 (AES-128-CBC), its ICV the truncated HMAC-SHA-256 of
// aad | IV | ciphertext. The last plaintext octet, ')', reads as a Pad Length of 41.
func TestCBCVector(t *testing.T) {
	s := Suite{Protocol: ProtocolIKE, Encr: EncrAESCBC, KeyLen: 128, Integ: IntegHMACSHA256128, PRF: PRFHMACSHA256, DH: DHECP256}
	integKey := bytes.Repeat([]byte{0x0b}, 32)
	p, err := NewProtector(s, unhex(t, "6c3ea0477630ce21a2ce334aa746c2cd"), integKey)
	if err != nil {
		t.Fatal(err)
	}
	ivct := unhex(t, "c782dc4c098c66cbd9cd27d825682c81"+
		"d0a02b3836451753d493665d33f0e8862dea54cdb293abc7506939276772f8d5021c19216bad525c8579695d83ba2684")
	mac := hmac.New(sha256.New, integKey)
	mac.Write(testAAD)
	mac.Write(ivct)
	body := append(ivct, mac.Sum(nil)[:16]...)
	got, err := p.Open(nil, body, testAAD)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "payloads", got, []byte("This i"))
}

func TestSealOpen(t *testing.T) {
	for _, s := range protectSuites {
		t.Run(s.String(), func(t *testing.T) {
			p := testProtector(t, s)
			for _, n := range []int{0, 1, 15, 16, 17, 100, 1400} {
				plain := make([]byte, n)
				stream(uint64(n)).Read(plain)
				prefix := []byte("prefix")
				body, err := p.Seal(prefix, plain, testAAD, rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(body[:len(prefix)], prefix) || len(body)-len(prefix) != p.SealedLen(n) {
					t.Fatalf("%d octets: sealed %d, SealedLen %d", n, len(body)-len(prefix), p.SealedLen(n))
				}
				body = body[len(prefix):]
				got, err := p.Open([]byte("dst"), body, testAAD)
				if err != nil {
					t.Fatalf("%d octets: %v", n, err)
				}
				equal(t, "opened", got, append([]byte("dst"), plain...))
			}
		})
	}
}

// TestTamper flips every bit of aad | body, truncates and extends the body: Open must refuse
// each, and never panic.
func TestTamper(t *testing.T) {
	for _, s := range protectSuites {
		t.Run(s.String(), func(t *testing.T) {
			p := testProtector(t, s)
			body, err := p.Seal(nil, []byte("IDi CERT AUTH SA TSi TSr"), testAAD, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			msg := append(append([]byte(nil), testAAD...), body...)
			for bit := range 8 * len(msg) {
				m := append([]byte(nil), msg...)
				m[bit/8] ^= 1 << (bit % 8)
				if _, err := p.Open(nil, m[len(testAAD):], m[:len(testAAD)]); err == nil {
					t.Fatalf("bit %d flipped: opened", bit)
				}
			}
			for n := range len(body) {
				if _, err := p.Open(nil, body[:n], testAAD); err == nil {
					t.Fatalf("truncated to %d: opened", n)
				}
			}
			for _, extra := range [][]byte{{0}, make([]byte, 16)} {
				if _, err := p.Open(nil, append(append([]byte(nil), body...), extra...), testAAD); err == nil {
					t.Fatalf("%d octets appended: opened", len(extra))
				}
			}
		})
	}
}

// TestPadding: the recipient accepts any Pad Length that fits, up to 255 (RFC 7296 §3.14,
// RFC 5282 §3), and refuses, after a good ICV, one longer than the decrypted data.
func TestPadding(t *testing.T) {
	for _, s := range protectSuites[1:4] {
		t.Run(s.String(), func(t *testing.T) {
			p := testProtector(t, s)
			block := aes.BlockSize // AES-GCM needs no alignment
			if s.AEAD() {
				block = 1
			}
			for _, pad := range []int{0, 1, 15, 16, 100, 255} {
				n := roundUp(10+pad+1, block) - pad - 1 // payload length that keeps alignment
				padded := make([]byte, n+pad+1)
				stream(9).Read(padded[:n])
				padded[len(padded)-1] = byte(pad)
				got, err := p.Open(nil, sealRaw(t, p, padded), testAAD)
				if err != nil {
					t.Fatalf("Pad Length %d: %v", pad, err)
				}
				equal(t, "payloads", got, padded[:n])
			}
			bad := make([]byte, roundUp(8, block))
			bad[len(bad)-1] = byte(len(bad)) // one more than is there
			if _, err := p.Open(nil, sealRaw(t, p, bad), testAAD); !errors.Is(err, ErrMalformed) {
				t.Errorf("Pad Length too long: got %v, want ErrMalformed", err)
			}
		})
	}
}

// sealRaw encrypts and authenticates padded exactly as given, padding included.
func sealRaw(t *testing.T, p Protector, padded []byte) []byte {
	t.Helper()
	switch p := p.(type) {
	case *gcmProtector:
		iv := []byte("8 octets")
		nonce := p.nonce(iv)
		return p.aead.Seal(iv, nonce[:], padded, testAAD)
	case *cbcProtector:
		iv := []byte("16 octets of IV.")
		body := append([]byte(nil), iv...)
		ct := make([]byte, len(padded))
		cipher.NewCBCEncrypter(p.block, iv).CryptBlocks(ct, padded)
		body = append(body, ct...)
		return append(body, p.icv(testAAD, body)...)
	}
	t.Fatalf("unknown protector %T", p)
	return nil
}

// TestSealInPlace follows the documented use: the message so far is both dst and aad, and the
// two ends of an IKE SA open what the other sealed.
func TestSealInPlace(t *testing.T) {
	s := Suite{Protocol: ProtocolIKE, Encr: EncrAESGCM16, KeyLen: 256, PRF: PRFHMACSHA256, DH: DHCurve25519}
	k, err := DeriveIKEKeys(s, []byte("Ni................"), []byte("Nr................"), []byte("g^ir"), 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	iSend, iRecv, err := k.Protectors(s, true)
	if err != nil {
		t.Fatal(err)
	}
	rSend, rRecv, err := k.Protectors(s, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]Protector{{iSend, rRecv}, {rSend, iRecv}} {
		msg := make([]byte, 0, 256)
		msg = append(msg, testAAD...)
		msg, err := pair[0].Seal(msg, []byte("inner payloads"), msg, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pair[1].Open(nil, msg[len(testAAD):], msg[:len(testAAD)])
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "opened", got, []byte("inner payloads"))
	}
	// Each direction has its own keys.
	body, _ := iSend.Seal(nil, []byte("x"), testAAD, rand.Reader)
	if _, err := iRecv.Open(nil, body, testAAD); !errors.Is(err, ErrAuthentication) {
		t.Errorf("opened own message with the other direction's keys: %v", err)
	}
}

func TestNewProtectorErrors(t *testing.T) {
	gcm := protectSuites[1]
	cbc := protectSuites[5]
	esp := Suite{Protocol: ProtocolESP, Encr: EncrAESGCM16, KeyLen: 256}
	for _, tc := range []struct {
		name       string
		s          Suite
		enc, integ int
		want       error
	}{
		{"GCM key without salt", gcm, 32, 0, ErrKeyLength},
		{"GCM with integrity key", gcm, 36, 32, ErrKeyLength},
		{"CBC short integrity key", cbc, 32, 16, ErrKeyLength},
		{"CBC key with salt", cbc, 36, 32, ErrKeyLength},
		{"ESP suite", esp, 36, 0, ErrUnsupported},
		{"unknown cipher", Suite{Protocol: ProtocolIKE, Encr: EncrAESCTR, KeyLen: 128, Integ: IntegHMACSHA256128, PRF: PRFHMACSHA256, DH: DHECP256}, 16, 32, ErrUnsupported},
	} {
		if _, err := NewProtector(tc.s, make([]byte, tc.enc), make([]byte, tc.integ)); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	for _, s := range []Suite{gcm, cbc} {
		p := testProtector(t, s)
		if _, err := p.Seal(nil, []byte("x"), nil, iotest.ErrReader(errors.New("no entropy"))); err == nil {
			t.Errorf("%s: sealed without an IV", s)
		}
	}
}

// TestOpenCBCTruncatedBlocks: a CBC body whose ciphertext is not whole blocks is malformed.
func TestOpenCBCTruncatedBlocks(t *testing.T) {
	p := testProtector(t, protectSuites[5])
	for _, n := range []int{0, 16 + 16 - 1, 16 + 16, 16 + 17 + 16, 16 + 16 + 16 + 1} {
		if _, err := p.Open(nil, make([]byte, n), testAAD); err == nil {
			t.Errorf("%d-octet body opened", n)
		}
	}
	if got := p.SealedLen(0); got != aes.BlockSize+aes.BlockSize+16 {
		t.Errorf("SealedLen(0) = %d", got)
	}
}

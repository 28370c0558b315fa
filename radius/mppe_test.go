package radius

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"strings"
	"testing"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
)

// encryptMPPEKey is RFC 2548 §2.4.2 written out for the tests, apart from the package's
// decryption: P = Key-Length ‖ Key ‖ zero padding to a multiple of 16;
// c(1) = p(1) ⊕ MD5(S ‖ R ‖ A), c(i) = p(i) ⊕ MD5(S ‖ c(i-1)); String = A ‖ C.
func encryptMPPEKey(key []byte, salt [2]byte, secret []byte, auth [16]byte) []byte {
	p := append([]byte{byte(len(key))}, key...)
	for len(p)%16 != 0 {
		p = append(p, 0)
	}
	out := salt[:]
	prev := append(auth[:], salt[:]...)
	for i := 0; i < len(p); i += 16 {
		b := md5.Sum(append(bytes.Clone(secret), prev...))
		c := make([]byte, 16)
		for j := range c {
			c[j] = p[i+j] ^ b[j]
		}
		out = append(out, c...)
		prev = c
	}
	return out
}

// mppeVSA wraps an MS-MPPE key in a Microsoft Vendor-Specific attribute.
func mppeVSA(typ byte, v []byte) *radius.AVP {
	a, err := radius.NewVendorSpecific(microsoftVendorID, append([]byte{typ, byte(2 + len(v))}, v...))
	if err != nil {
		panic(err)
	}
	return &radius.AVP{Type: rfc2865.VendorSpecific_Type, Attribute: a}
}

// katAuth, katSecret and the strings below are a known-answer vector computed with an
// independent implementation (Python's hashlib, from the RFC's text): the Recv-Key
// 0x10…0x2f under salt 0x8001 and the Send-Key 0x40…0x5f under salt 0x8002.
var (
	katSecret = []byte("kat-secret")
	katAuth   = [16]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	katRecv   = "8001657ab0892acddd32157d2a34e8fe3b10fea7c261a200c053c8173b44f9ea3cfe894e820c120ecd1e0cbea7113cec48c4"
	katSend   = "8002407199ee9d32a36c5b3063ed6957a12afa074050a4fc965d7643eaa2a8a5fed7345b6f8bdab8a7a6518b750550c064ed"
)

func seq(from, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(from + i)
	}
	return b
}

func TestMPPEKnownAnswer(t *testing.T) {
	recv, _ := hex.DecodeString(katRecv)
	send, _ := hex.DecodeString(katSend)
	msk, err := decryptMSK(recv, send, &katAuth, katSecret)
	if err != nil {
		t.Fatal(err)
	}
	want := append(seq(0x10, 32), seq(0x40, 32)...)
	if !bytes.Equal(msk, want) {
		t.Fatalf("MSK %x\nwant %x (Recv ‖ Send)", msk, want)
	}
	if got := encryptMPPEKey(seq(0x10, 32), [2]byte{0x80, 1}, katSecret, katAuth); !bytes.Equal(got, recv) {
		t.Fatal("the test encoder disagrees with the known answer")
	}
	// A wrong secret or Request Authenticator does not yield the key.
	for _, tc := range []struct {
		name   string
		secret []byte
		auth   [16]byte
	}{
		{"wrong secret", []byte("kat-secreT"), katAuth},
		{"wrong Request Authenticator", katSecret, [16]byte{1}},
	} {
		if k, err := decryptMPPEKey(recv, &tc.auth, tc.secret); err == nil && bytes.Equal(k, seq(0x10, 32)) {
			t.Errorf("%s: decrypted the key", tc.name)
		}
	}
}

// TestMPPERoundTrip decrypts what the test encoder and layeh.com/radius's Tunnel-Password
// encoder (the same construction, RFC 2868 §3.5) encrypt.
func TestMPPERoundTrip(t *testing.T) {
	secret := []byte("s")
	auth := newAuthenticator()
	for _, n := range []int{1, 14, 15, 16, 32, 64, 239} {
		key := seq(n, n)
		v := encryptMPPEKey(key, [2]byte{0x91, 0x23}, secret, auth)
		if got, err := decryptMPPEKey(v, &auth, secret); err != nil || !bytes.Equal(got, key) {
			t.Errorf("%d-octet key: %x, %v", n, got, err)
		}
		if n > 249 {
			continue
		}
		lv, err := radius.NewTunnelPassword(key, []byte{0x91, 0x23}, secret, auth[:])
		if err != nil {
			t.Fatal(err)
		}
		if got, err := decryptMPPEKey(lv, &auth, secret); err != nil || !bytes.Equal(got, key) {
			t.Errorf("%d-octet key from layeh: %x, %v", n, got, err)
		}
	}
}

func TestMPPEGarbage(t *testing.T) {
	secret := []byte("s")
	var auth [16]byte
	good := encryptMPPEKey(seq(1, 32), [2]byte{0x80, 0}, secret, auth)
	// withPlain encrypts an arbitrary plaintext, to reach the checks after decryption.
	withPlain := func(p []byte) []byte {
		c := []byte{0x80, 0}
		prev := append(auth[:], 0x80, 0)
		for i := 0; i < len(p); i += 16 {
			b := md5.Sum(append(bytes.Clone(secret), prev...))
			for j := range 16 {
				b[j] ^= p[i+j]
			}
			c = append(c, b[:]...)
			prev = b[:]
		}
		return c
	}
	block := func(b ...byte) []byte { return append(b, make([]byte, 16-len(b))...) }
	for _, tc := range []struct {
		name string
		v    []byte
		want string
	}{
		{"empty", nil, "encrypted key of 0 octets"},
		{"salt only", good[:2], "encrypted key of 2 octets"},
		{"not whole blocks", good[:len(good)-1], "encrypted key of 49 octets"},
		{"salt high bit clear", append([]byte{0x7f, 0}, good[2:]...), "salt"},
		{"zero Key-Length", withPlain(block(0)), "empty key"},
		{"Key-Length past the end", withPlain(block(16, 1, 2)), "key length 16 in 16 octets"},
		{"non-zero padding", withPlain(block(2, 1, 2, 9)), "padding is not zero"},
		{"a block of padding too many", withPlain(append(block(2, 1, 2), make([]byte, 16)...)), "key length 2 in 32 octets"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := decryptMPPEKey(tc.v, &auth, secret)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("decrypted %x, %v; want an error about %q", k, err, tc.want)
			}
		})
	}
}

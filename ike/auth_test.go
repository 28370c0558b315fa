package ike

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"testing"

	"github.com/p2sgw/p2sgw/ike/message"
)

func TestAuthSignVerify(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	octets := []byte("RealMessage | Nonce | prf(SK_p, IDx')")
	rfc7427 := []message.HashAlgorithm{message.HashSHA256, message.HashSHA384, message.HashSHA512}

	tests := []struct {
		name       string
		key        crypto.Signer
		peerHashes []message.HashAlgorithm
		wantMethod message.AuthMethod
	}{
		{"RSA for a peer without RFC 7427 (Windows)", rsaKey, nil, message.AuthRSA},
		{"RSA with RFC 7427", rsaKey, rfc7427, message.AuthDigitalSignature},
		{"P-256 for a peer without RFC 7427", p256, nil, message.AuthECDSA256},
		{"P-256 with RFC 7427", p256, rfc7427, message.AuthDigitalSignature},
		{"P-384 for a peer without RFC 7427", p384, nil, message.AuthECDSA384},
		{"P-384 with RFC 7427", p384, rfc7427, message.AuthDigitalSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := signAuth(tt.key, octets, tt.peerHashes, nil)
			if err != nil {
				t.Fatal(err)
			}
			if a.Method != tt.wantMethod {
				t.Fatalf("method = %s, want %s", a.Method, tt.wantMethod)
			}
			if err := verifyAuth(a, tt.key.Public(), octets); err != nil {
				t.Fatalf("verify: %v", err)
			}
			if err := verifyAuth(a, tt.key.Public(), append(octets, 'x')); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("verify of other octets = %v, want ErrBadSignature", err)
			}
			other := p256.Public()
			if tt.key == p256 {
				other = p384.Public()
			}
			if err := verifyAuth(a, other, octets); err == nil {
				t.Fatal("verified with another key")
			}
		})
	}
}

func TestAuthVerifyPSSAndRefusals(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	octets := []byte("signed octets")
	d := digest(crypto.SHA256, octets)
	sig, err := rsa.SignPSS(rand.Reader, rsaKey, crypto.SHA256, d, &rsa.PSSOptions{SaltLength: 32})
	if err != nil {
		t.Fatal(err)
	}
	// RSASSA-PSS AlgorithmIdentifier with SHA-256, MGF1-SHA-256, salt 32 (RFC 7427 Appendix A).
	pssAlgID := []byte{
		0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a,
		0x30, 0x34, 0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
		0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08,
		0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
		0xa2, 0x03, 0x02, 0x01, 0x20,
	}
	a := AuthData{message.AuthDigitalSignature, method14(pssAlgID, sig)}
	if err := verifyAuth(a, rsaKey.Public(), octets); err != nil {
		t.Fatalf("RSASSA-PSS: %v", err)
	}

	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecSig, _ := signAuth(p256, octets, nil, nil) // method 9
	for _, tc := range []struct {
		name string
		a    AuthData
		pub  crypto.PublicKey
		want error
	}{
		{"PSK is not a certificate method", AuthData{message.AuthPSK, []byte{1}}, rsaKey.Public(), ErrAuthMethodUnsupported},
		{"RSA method with an ECDSA key", AuthData{message.AuthRSA, sig}, p256.Public(), ErrAuthMismatch},
		{"ECDSA method with an RSA key", ecSig, rsaKey.Public(), ErrAuthMismatch},
		{"truncated RFC 7427 data", AuthData{message.AuthDigitalSignature, []byte{0x40, 0x30}}, rsaKey.Public(), ErrBadSignature},
		{"SHA-1 RFC 7427 refused", AuthData{message.AuthDigitalSignature, method14([]byte{0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05, 0x05, 0x00}, sig)}, rsaKey.Public(), ErrAuthMethodUnsupported},
		{"wrong ECDSA length", AuthData{message.AuthECDSA256, ecSig.Data[:10]}, p256.Public(), ErrBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := verifyAuth(tc.a, tc.pub, octets); !errors.Is(err, tc.want) {
				t.Fatalf("verifyAuth = %v, want %v", err, tc.want)
			}
		})
	}
}

func FuzzVerifyAuth(f *testing.F) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	octets := []byte("octets")
	for _, k := range []crypto.Signer{p256, rsaKey} {
		for _, h := range [][]message.HashAlgorithm{nil, {message.HashSHA256}} {
			a, _ := signAuth(k, octets, h, nil)
			f.Add(uint8(a.Method), a.Data)
		}
	}
	f.Fuzz(func(t *testing.T, method uint8, data []byte) {
		a := AuthData{message.AuthMethod(method), data}
		for _, pub := range []crypto.PublicKey{p256.Public(), rsaKey.Public()} {
			if verifyAuth(a, pub, []byte("other octets")) == nil {
				t.Fatalf("forged AUTH verified: %d %x", method, data)
			}
		}
	})
}

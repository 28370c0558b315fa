package esp

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"testing"
)

// TestPortableCBC: the stand-in for crypto/cipher's CBC modes agrees with them, in place
// and across SetIV.
func TestPortableCBC(t *testing.T) {
	r := newRand()
	block, _ := aes.NewCipher(testKeys(Transform{Cipher: AESCBC256}, 3).Encryption)
	enc := &portableCBC{b: block, encrypt: true}
	dec := &portableCBC{b: block}
	for _, n := range []int{16, 32, 48, 1408} {
		plain, iv := ipPacket(r, n, false), ipPacket(r, 16, false)
		want := make([]byte, n)
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(want, plain)
		got := bytes.Clone(plain)
		enc.SetIV(iv)
		enc.CryptBlocks(got, got)
		if !bytes.Equal(got, want) {
			t.Fatalf("%d octets: encryption differs", n)
		}
		dec.SetIV(iv)
		dec.CryptBlocks(got, got)
		if !bytes.Equal(got, plain) {
			t.Fatalf("%d octets: decryption differs", n)
		}
	}
	// The standard library's modes still offer SetIV; if this fails, Seal and Open run on
	// portableCBC (slower, still correct).
	if _, ok := newCBC(block, true).(*portableCBC); ok {
		t.Log("crypto/cipher's CBC encrypter has no SetIV any more: using portableCBC")
	}
}

package transform

import (
	"crypto/hmac"
	"crypto/sha256"
	"testing"
)

func TestSignedOctets(t *testing.T) {
	p, _ := NewPRF(PRFHMACSHA256)
	skP := []byte("SK_pi of this test")
	message := []byte("the whole IKE_SA_INIT request")
	nonce := []byte("the responder's nonce")
	id := []byte{2, 0, 0, 0, 'v', 'p', 'n'} // ID_FQDN, RESERVED, "vpn"

	mac := hmac.New(sha256.New, skP)
	mac.Write(id)
	want := append(append(append([]byte(nil), message...), nonce...), mac.Sum(nil)...)
	equal(t, "signed octets", SignedOctets(p, skP, message, nonce, id), want)

	// AUTH = prf(prf(secret, "Key Pad for IKEv2"), signed octets)
	secret := []byte("the EAP MSK")
	inner := hmac.New(sha256.New, secret)
	inner.Write([]byte("Key Pad for IKEv2"))
	outer := hmac.New(sha256.New, inner.Sum(nil))
	outer.Write(want)
	equal(t, "AUTH", SharedKeyAuth(p, secret, want), outer.Sum(nil))
}

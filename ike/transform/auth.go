package transform

// keyPad is the string RFC 7296 §2.15 mixes into a shared key, without a terminating NUL.
const keyPad = "Key Pad for IKEv2"

// SignedOctets returns the octets an AUTH payload covers (RFC 7296 §2.15):
//
//	InitiatorSignedOctets = RealMessage1 | NonceRData | MACedIDForI
//	MACedIDForI = prf(SK_pi, RestOfInitIDPayload)
//
// and the same for the responder with RealMessage2, NonceIData, SK_pr and its own ID. message
// is the signer's whole first message (IKE_SA_INIT) as sent, peerNonce the body of the other
// side's Nonce payload, skP the signer's SK_pi or SK_pr, and idPayloadBody the signer's ID
// payload after its generic header: ID Type, the three RESERVED octets and the identification
// data. The result is a new slice.
func SignedOctets(prf PRF, skP, message, peerNonce, idPayloadBody []byte) []byte {
	maced := prf.Sum(skP, idPayloadBody)
	out := make([]byte, 0, len(message)+len(peerNonce)+len(maced))
	out = append(out, message...)
	out = append(out, peerNonce...)
	return append(out, maced...)
}

// SharedKeyAuth returns the Authentication Data of an AUTH payload made with a shared key
// (RFC 7296 §2.15):
//
//	AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)
//
// For EAP (RFC 7296 §2.16) the shared secret is the MSK when the method makes one, or else the
// signer's SK_pi or SK_pr. The result is a new slice; compare it with hmac.Equal.
func SharedKeyAuth(prf PRF, secret, signedOctets []byte) []byte {
	return prf.Sum(prf.Sum(secret, []byte(keyPad)), signedOctets)
}

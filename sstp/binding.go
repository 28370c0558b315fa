package sstp

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"hash"
)

// The crypto binding (§3.2.5.2): the client proves, in CALL_CONNECTED, that the PPP
// authentication it did and the TLS connection it sent it over belong together. The proof is
// a Compound MAC over the whole CALL_CONNECTED packet, keyed with a key derived from the keys
// PPP authentication produced:
//
//	HLAK = keys, cut or zero-padded to 32 bytes (32 zeros for PAP)
//	CMK  = PRF+(HLAK, "SSTP inner method derived CMK", L), L = 20 (SHA1) or 32 (SHA256)
//	     = HMAC-H(HLAK, seed ‖ uint16_le(L) ‖ 0x01), the first block only since L ≤ hash size
//	MAC  = HMAC-H(CMK, CALL_CONNECTED with the Compound MAC field and its padding zeroed)

const (
	// HLAKLen is the length of the Higher-Layer Authentication Key.
	HLAKLen = 32
	// CallConnectedLen is the length of a CALL_CONNECTED packet, header included.
	CallConnectedLen = HeaderLen + controlHeaderLen + attributeHeaderLen + cryptoBindingLen

	cmkSeed = "SSTP inner method derived CMK"
	// callConnectedMACOff is where the Compound MAC field starts in a CALL_CONNECTED packet.
	callConnectedMACOff = HeaderLen + controlHeaderLen + attributeHeaderLen + bindingMACOff
)

// HLAK concatenates keys and cuts or pads the result with zeros to HLAKLen bytes (§3.2.5.2.2).
// With no keys (PAP, or no authentication) it is 32 zeros. The server's HLAK for MS-CHAPv2 is
// HLAK(MasterReceiveKey, MasterSendKey); from RADIUS it is HLAK(MS-MPPE-Recv-Key,
// MS-MPPE-Send-Key); for EAP it is HLAK(MSK).
func HLAK(keys ...[]byte) []byte {
	h := make([]byte, 0, HLAKLen)
	for _, k := range keys {
		h = append(h, k[:min(len(k), HLAKLen-len(h))]...)
	}
	return h[:HLAKLen] // the tail of the backing array is zeros
}

func (h HashProtocol) new() func() hash.Hash {
	switch h {
	case HashSHA1:
		return sha1.New
	case HashSHA256:
		return sha256.New
	}
	return nil
}

// CMK derives the Compound MAC Key from hlak, which should be HLAKLen bytes (see HLAK), with
// the PRF+ of §3.2.5.2.2, whose length is little-endian. It returns nil for an unknown hash.
func CMK(h HashProtocol, hlak []byte) []byte {
	f, n := h.new(), h.size()
	if f == nil {
		return nil
	}
	m := hmac.New(f, hlak)
	m.Write([]byte(cmkSeed))
	m.Write([]byte{byte(n), byte(n >> 8), 0x01})
	return m.Sum(nil)[:n]
}

// CompoundMAC computes the Compound MAC of callConnected, a whole CALL_CONNECTED packet of
// CallConnectedLen bytes, with the key cmk; the Compound MAC field in callConnected is
// ignored (treated as zeros) and callConnected is not modified. It returns nil for an unknown
// hash or a packet of the wrong length.
func CompoundMAC(h HashProtocol, cmk, callConnected []byte) []byte {
	f := h.new()
	if f == nil || len(callConnected) != CallConnectedLen {
		return nil
	}
	m := hmac.New(f, cmk)
	m.Write(callConnected[:callConnectedMACOff])
	m.Write(make([]byte, CallConnectedLen-callConnectedMACOff))
	return m.Sum(nil)[:h.size()]
}

// CertHashes returns the SHA1 and SHA256 hashes of a certificate's DER encoding, the forms
// a CALL_CONNECTED carries (ServerConfig.CertHashSHA1 and CertHashSHA256).
func CertHashes(certDER []byte) (sha1Hash, sha256Hash []byte) {
	a, b := sha1.Sum(certDER), sha256.Sum256(certDER)
	return a[:], b[:]
}

// appendCallConnected appends a CALL_CONNECTED packet whose Compound MAC is computed from
// hlak. mac, if not nil, replaces the computed MAC (tests send wrong ones with it).
func appendCallConnected(b []byte, cb CryptoBinding, hlak, mac []byte) []byte {
	cb.MAC = nil
	start := len(b)
	b, _ = appendControlPacket(b, ControlMessage{Type: MsgCallConnected, Attributes: []Attribute{cb.Attribute()}})
	if mac == nil {
		mac = CompoundMAC(cb.Hash, CMK(cb.Hash, hlak), b[start:])
	}
	copy(b[start+callConnectedMACOff:], mac)
	return b
}

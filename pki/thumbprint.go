package pki

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Thumbprints are a certificate's fingerprints: hashes of its whole DER encoding, in
// upper-case hex without separators. SHA1 is the form Azure shows and takes for revoked
// certificates; it equals `openssl x509 -fingerprint -sha1` without the colons.
type Thumbprints struct {
	SHA1   string `json:"sha1"`
	SHA256 string `json:"sha256"`
}

// ThumbprintsOf returns the thumbprints of the DER certificate der (x509.Certificate.Raw).
// It hashes whatever bytes it is given.
func ThumbprintsOf(der []byte) Thumbprints {
	s1 := sha1.Sum(der)
	s256 := sha256.Sum256(der)
	return Thumbprints{
		SHA1:   strings.ToUpper(hex.EncodeToString(s1[:])),
		SHA256: strings.ToUpper(hex.EncodeToString(s256[:])),
	}
}

package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"
)

// KeyType names the algorithm and size of a new key. The zero value means DefaultKeyType.
type KeyType string

// The key types p2sgw creates. Every native IKEv2 and SSTP client accepts all of them; RSA
// is there for old clients and policies that demand it, and is much slower to generate.
const (
	KeyECDSAP256 KeyType = "ecdsa-p256"
	KeyECDSAP384 KeyType = "ecdsa-p384"
	KeyRSA2048   KeyType = "rsa-2048"
	KeyRSA3072   KeyType = "rsa-3072"
	KeyRSA4096   KeyType = "rsa-4096"
)

// DefaultKeyType is used when Options.Key is empty.
const DefaultKeyType = KeyECDSAP256

var keyTypes = []KeyType{KeyECDSAP256, KeyECDSAP384, KeyRSA2048, KeyRSA3072, KeyRSA4096}

// KeyTypes returns the valid key types, default first. The caller owns the slice.
func KeyTypes() []KeyType { return slices.Clone(keyTypes) }

// ParseKeyType returns the key type named s, ignoring case and surrounding spaces. An
// empty or unknown s is an error wrapping ErrKeyType that lists the valid names.
func ParseKeyType(s string) (KeyType, error) {
	k := KeyType(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(keyTypes, k) {
		return k, nil
	}
	names := make([]string, len(keyTypes))
	for i, k := range keyTypes {
		names[i] = string(k)
	}
	return "", fmt.Errorf("%w %q: use one of %s", ErrKeyType, s, strings.Join(names, ", "))
}

// String returns the key type's name, as ParseKeyType accepts it.
func (k KeyType) String() string { return string(k) }

// generate makes a new private key of type k, which must be valid.
func (k KeyType) generate() (crypto.Signer, error) {
	switch k {
	case KeyECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case KeyECDSAP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case KeyRSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case KeyRSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	case KeyRSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	}
	return nil, fmt.Errorf("%w %q", ErrKeyType, string(k))
}

// KeyMatches reports whether key is the private key of cert's public key. It is false when
// either is nil or the key type has no way to compare public keys.
func KeyMatches(cert *x509.Certificate, key crypto.Signer) bool {
	if cert == nil || key == nil {
		return false
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(cert.PublicKey)
}

// marshalKeyPEM encodes key as a PEM "PRIVATE KEY" block (PKCS#8), which OpenSSL,
// strongSwan, Windows and Go all read whatever the algorithm.
func marshalKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("pki: encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der}), nil
}

// certPEM encodes one DER certificate as a PEM "CERTIFICATE" block.
func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemCertificate, Bytes: der})
}

// signatureAlgorithm is the algorithm a certificate signed by signer uses. RSA is pinned to
// PKCS#1 v1.5 with SHA-256 because Windows' IKEv2 client rejects RSA-PSS chains; ECDSA keeps
// Go's default, which follows the curve (SHA-256 for P-256, SHA-384 for P-384).
func signatureAlgorithm(signer crypto.Signer) x509.SignatureAlgorithm {
	if _, ok := signer.Public().(*rsa.PublicKey); ok {
		return x509.SHA256WithRSA
	}
	return x509.UnknownSignatureAlgorithm
}

// keyUsageFor is the KeyUsage of an end-entity certificate for pub: digitalSignature, plus
// keyEncipherment for RSA (TLS RSA key exchange, which SSTP clients may still offer).
func keyUsageFor(pub crypto.PublicKey) x509.KeyUsage {
	if _, ok := pub.(*rsa.PublicKey); ok {
		return x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	}
	return x509.KeyUsageDigitalSignature
}

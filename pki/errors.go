package pki

import "errors"

// Sentinel errors. Functions wrap them with a sentence a user can act on, so print the
// error as it is and use errors.Is to tell the cases apart.
var (
	// ErrKeyType is returned for a key type p2sgw does not create.
	ErrKeyType = errors.New("pki: unknown key type")
	// ErrInvalidName is returned for a common name, client name, DNS name or IP address that
	// cannot go into a certificate.
	ErrInvalidName = errors.New("pki: invalid name")
	// ErrInvalidDays is returned for a validity period outside 1…MaxDays days.
	ErrInvalidDays = errors.New("pki: invalid validity period")
	// ErrNotCertificate is returned when the input holds no parsable X.509 certificate.
	ErrNotCertificate = errors.New("pki: not a certificate")
	// ErrNotPrivateKey is returned when the input holds no parsable private key.
	ErrNotPrivateKey = errors.New("pki: not a private key")
	// ErrEncryptedKey is returned for a password-protected private key file.
	ErrEncryptedKey = errors.New("pki: private key is encrypted")
	// ErrUnsupportedKey is returned for a private key that cannot sign certificates
	// (for example an X25519 key).
	ErrUnsupportedKey = errors.New("pki: unsupported private key")
	// ErrKeyMismatch is returned when a private key does not belong to its certificate.
	ErrKeyMismatch = errors.New("pki: private key does not match the certificate")
	// ErrNotCA is returned when a certificate loaded as a CA may not sign certificates.
	ErrNotCA = errors.New("pki: not a CA certificate")
	// ErrCAExpired is returned when issuing from a CA whose validity has ended.
	ErrCAExpired = errors.New("pki: CA certificate has expired")
	// ErrNoNames is returned when a server certificate would name neither a host nor an address.
	ErrNoNames = errors.New("pki: no names")
	// ErrEmptyPassword is returned when asked for a PKCS#12 file without a password, which
	// macOS and iOS refuse to import.
	ErrEmptyPassword = errors.New("pki: empty PKCS#12 password")
)

package certauth

import "errors"

var (
	// ErrBadThumbprint: the text is not a SHA-1 or SHA-256 thumbprint.
	ErrBadThumbprint = errors.New("certauth: malformed thumbprint")
	// ErrNotCA: a certificate offered as a trusted root cannot issue certificates.
	ErrNotCA = errors.New("certauth: not a CA certificate")
	// ErrExpired: a certificate is past its validity.
	ErrExpired = errors.New("certauth: certificate expired")
	// ErrNotYetValid: a certificate is not valid yet.
	ErrNotYetValid = errors.New("certauth: certificate not yet valid")
	// ErrUntrusted: the chain does not lead to a trusted root.
	ErrUntrusted = errors.New("certauth: certificate not trusted")
	// ErrRevoked: the certificate, or one in its chain, is revoked.
	ErrRevoked = errors.New("certauth: certificate revoked")
	// ErrWrongUsage: the certificate lacks EKU clientAuth.
	ErrWrongUsage = errors.New("certauth: certificate not for client authentication")
)

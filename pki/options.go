package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"
)

// Default validity periods, in days.
const (
	DefaultRootDays   = 3650
	DefaultClientDays = 730
	// DefaultServerDays is Apple's limit for TLS server certificates from private CAs;
	// macOS and iOS reject a longer-lived gateway certificate.
	DefaultServerDays = 825
	// MaxDays is the longest validity Options accepts (100 years).
	MaxDays = 36500
)

// backdate is how far NotBefore lies before the issuing time, so that a device whose clock
// is a little behind still accepts a certificate issued a moment ago.
const backdate = 5 * time.Minute

// serialBits is the size of random serial numbers: comfortably above the 64 bits of
// entropy the CA/Browser Forum asks for, and within RFC 5280's 20 octets.
const serialBits = 128

// Options tune a new certificate. The zero value asks for the defaults: DefaultKeyType, the
// default validity of the kind of certificate, and the current time.
type Options struct {
	// Key is the type of the certificate's new key pair; empty means DefaultKeyType.
	Key KeyType
	// Days is the validity period; 0 means the default for the kind of certificate.
	Days int
	// Now returns the issuing time; nil means time.Now. Tests set it.
	Now func() time.Time
}

// params are Options resolved against a kind of certificate.
type params struct {
	key       KeyType
	now       time.Time
	notBefore time.Time
	notAfter  time.Time
}

func (o Options) resolve(defaultDays int) (params, error) {
	key := DefaultKeyType
	if o.Key != "" {
		k, err := ParseKeyType(string(o.Key))
		if err != nil {
			return params{}, err
		}
		key = k
	}
	days := o.Days
	if days == 0 {
		days = defaultDays
	}
	if days < 1 || days > MaxDays {
		return params{}, fmt.Errorf("%w: %d days is out of range: use 1 to %d", ErrInvalidDays, days, MaxDays)
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	// Certificates hold times to the second; truncating keeps the fields equal to what
	// a parser reads back.
	t := now().UTC().Truncate(time.Second)
	return params{
		key:       key,
		now:       t,
		notBefore: t.Add(-backdate),
		notAfter:  t.Add(time.Duration(days) * 24 * time.Hour),
	}, nil
}

// newSerial returns a random positive serial number of at most serialBits bits.
func newSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), serialBits)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("pki: serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// subjectKeyID is RFC 5280's method 1: the SHA-1 hash of the subjectPublicKey bits. SHA-1
// is what Windows and OpenSSL compute, so key identifiers look the same across tools.
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("pki: subject key identifier: %w", err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("pki: subject key identifier: %w", err)
	}
	sum := sha1.Sum(spki.PublicKey.Bytes)
	return sum[:], nil
}

// sign completes tmpl (serial, key identifier, signature algorithm), signs it with
// signer as parent, and returns the parsed result.
func sign(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) (*x509.Certificate, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	skid, err := subjectKeyID(pub)
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	tmpl.SubjectKeyId = skid
	tmpl.SignatureAlgorithm = signatureAlgorithm(signer)
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("pki: sign certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: parse the new certificate: %w", err)
	}
	return cert, nil
}

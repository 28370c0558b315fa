package config

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/p2sgw/p2sgw/pki"
)

// Size limits for the files a configuration names: enough for any certificate chain or
// secret, small enough that a path such as /dev/zero cannot exhaust memory.
const (
	maxPEMSize    = 1 << 20
	maxSecretSize = 4096
)

// SharedSecret returns the server's RADIUS shared secret: Secret, or the content of
// SecretFile without one trailing line break (so that `echo secret > file` works).
func (s *RADIUSServer) SharedSecret() ([]byte, error) {
	if s.SecretFile == "" {
		return []byte(s.Secret), nil
	}
	data, err := readRegularFile(s.SecretFile, maxSecretSize)
	if err != nil {
		return nil, err
	}
	data = bytes.TrimSuffix(data, []byte("\n"))
	return bytes.TrimSuffix(data, []byte("\r")), nil
}

// readRegularFile reads the regular file at path, refusing anything larger than max bytes
// and anything that is not a regular file (a FIFO would block, a device never end).
func readRegularFile(path string, max int64) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", path, errNotRegular)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: %w", path, errTooBig)
	}
	return data, nil
}

// fileProblem turns an error of readRegularFile into a sentence naming path.
func fileProblem(path string, err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("%s does not exist", path)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Sprintf("%s is not readable (permission denied)", path)
	case errors.Is(err, errNotRegular):
		return fmt.Sprintf("%s is not a regular file", path)
	case errors.Is(err, errTooBig):
		return fmt.Sprintf("%s is too large for what it should hold", path)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Sprintf("cannot read %s: %v", path, err)
}

// parseCertificates returns the certificates of the PEM data in order, skipping other blocks.
func parseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d does not parse: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errNoCert
	}
	return certs, nil
}

// parsePrivateKey parses a private key as package pki does (PEM or DER; PKCS#8, PKCS#1 or
// SEC 1; RSA, ECDSA or Ed25519), so that config accepts what the rest of p2sgw loads. The
// error drops pki's prefix: it becomes part of a sentence about a field.
func parsePrivateKey(data []byte) (crypto.Signer, error) {
	key, err := pki.ParsePrivateKey(data)
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "pki: "))
	}
	return key, nil
}

// describeKey names a public key's type and size and its SHA-256 SPKI fingerprint, so that
// two keys can be told apart in a message.
func describeKey(pub crypto.PublicKey) string {
	var kind string
	switch k := pub.(type) {
	case *rsa.PublicKey:
		kind = fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		kind = "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		kind = "Ed25519"
	default:
		kind = fmt.Sprintf("%T", pub)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return kind
	}
	sum := sha256.Sum256(der)
	return kind + " SHA256:" + hex.EncodeToString(sum[:8])
}

// describeCert names a certificate for a message: its subject, or its first DNS name.
func describeCert(c *x509.Certificate) string {
	if s := c.Subject.String(); s != "" {
		return s
	}
	if len(c.DNSNames) > 0 {
		return "DNS:" + c.DNSNames[0]
	}
	return "serial " + c.SerialNumber.String()
}

package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
)

// PEM block types.
const (
	pemCertificate     = "CERTIFICATE"
	pemPrivateKey      = "PRIVATE KEY"           // PKCS#8
	pemRSAPrivateKey   = "RSA PRIVATE KEY"       // PKCS#1
	pemECPrivateKey    = "EC PRIVATE KEY"        // SEC 1
	pemEncryptedKey    = "ENCRYPTED PRIVATE KEY" // PKCS#8, encrypted
	pemBegin           = "-----BEGIN"
	derSequence        = 0x30 // the first byte of every DER certificate and key
	utf8BOM            = "\ufeff"
	maxReportedPEMKind = 3 // block types named in a "found …" message
)

// ParseCertificate parses one X.509 certificate from data in any of the forms users bring:
// PEM (the first CERTIFICATE block; other blocks are skipped), DER (a .cer file), or the
// base64 of the DER without PEM armour (Azure's "public certificate data", on one line or
// several). Anything else is an error wrapping ErrNotCertificate that says what was found.
// It never panics, whatever the bytes.
func ParseCertificate(data []byte) (*x509.Certificate, error) {
	// A certificate is a SEQUENCE of more than 127 bytes, so its length takes the long form
	// (0x81…): text that merely starts with '0' (0x30, a thumbprint, say) is not taken for DER.
	if len(data) > 1 && data[0] == derSequence && data[1] > 0x80 {
		// DER is parsed untrimmed: its last bytes may well look like white space.
		cert, err := x509.ParseCertificate(data)
		if err != nil {
			return nil, fmt.Errorf("%w: DER: %w", ErrNotCertificate, err)
		}
		return cert, nil
	}
	// Notepad starts UTF-8 files with a byte order mark.
	text := bytes.TrimSpace(bytes.TrimPrefix(data, []byte(utf8BOM)))
	switch {
	case len(text) == 0:
		return nil, fmt.Errorf("%w: the input is empty", ErrNotCertificate)
	case bytes.Contains(text, []byte(pemBegin)):
		return parsePEMCertificate(text)
	}
	der, err := decodeBase64(text)
	if err != nil || len(der) == 0 || der[0] != derSequence {
		return nil, fmt.Errorf("%w: expected PEM (-----BEGIN CERTIFICATE-----), DER or base64-encoded DER", ErrNotCertificate)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: base64 DER: %w", ErrNotCertificate, err)
	}
	return cert, nil
}

func parsePEMCertificate(text []byte) (*x509.Certificate, error) {
	var found []string
	for rest := text; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != pemCertificate {
			found = append(found, block.Type)
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: PEM: %w", ErrNotCertificate, err)
		}
		return cert, nil
	}
	return nil, fmt.Errorf("%w: the PEM data holds no CERTIFICATE block%s", ErrNotCertificate, foundKinds(found))
}

// decodeBase64 decodes standard base64 with or without padding, ignoring white space
// (line breaks from a text editor, spaces from a copy).
func decodeBase64(text []byte) ([]byte, error) {
	s := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, string(text))
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

// ReadCertificate reads the file at path and parses it with ParseCertificate. A file that
// cannot be read gives the *fs.PathError of os.ReadFile.
func ReadCertificate(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err // names the path and the cause already
	}
	cert, err := ParseCertificate(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cert, nil
}

// ParsePrivateKey parses an unencrypted private key: the first PEM block of type
// "PRIVATE KEY" (PKCS#8), "RSA PRIVATE KEY" (PKCS#1) or "EC PRIVATE KEY" (SEC 1), skipping
// others such as the "EC PARAMETERS" that `openssl ecparam -genkey` writes first; or, when
// pemData holds no PEM at all, the same three encodings in DER. RSA, ECDSA and Ed25519 keys
// are accepted. An encrypted key is ErrEncryptedKey; anything else is ErrNotPrivateKey or
// ErrUnsupportedKey. It never panics, whatever the bytes.
func ParsePrivateKey(pemData []byte) (crypto.Signer, error) {
	var found []string
	for rest := pemData; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch block.Type {
		case pemPrivateKey, pemRSAPrivateKey, pemECPrivateKey:
			if strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
				return nil, encryptedKeyError()
			}
			key, err := parseKeyDER(block.Type, block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrNotPrivateKey, block.Type, err)
			}
			return toSigner(key)
		case pemEncryptedKey:
			return nil, encryptedKeyError()
		}
		found = append(found, block.Type)
	}
	if len(found) > 0 || bytes.Contains(pemData, []byte(pemBegin)) {
		return nil, fmt.Errorf("%w: the PEM data holds no PRIVATE KEY block%s", ErrNotPrivateKey, foundKinds(found))
	}
	for _, kind := range []string{pemPrivateKey, pemRSAPrivateKey, pemECPrivateKey} {
		if key, err := parseKeyDER(kind, pemData); err == nil {
			return toSigner(key)
		}
	}
	return nil, fmt.Errorf("%w: expected a PEM or DER private key (PKCS#8, PKCS#1 or SEC 1)", ErrNotPrivateKey)
}

func parseKeyDER(kind string, der []byte) (any, error) {
	switch kind {
	case pemRSAPrivateKey:
		return x509.ParsePKCS1PrivateKey(der)
	case pemECPrivateKey:
		return x509.ParseECPrivateKey(der)
	}
	return x509.ParsePKCS8PrivateKey(der)
}

func toSigner(key any) (crypto.Signer, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("%w: %T cannot sign certificates; use an RSA or ECDSA key", ErrUnsupportedKey, key)
}

func encryptedKeyError() error {
	return fmt.Errorf("%w: decrypt it first, e.g. openssl pkey -in KEY -out KEY.plain (and keep that file private)", ErrEncryptedKey)
}

// foundKinds describes the PEM block types seen instead of the wanted one.
func foundKinds(kinds []string) string {
	if len(kinds) == 0 {
		return ""
	}
	if len(kinds) > maxReportedPEMKind {
		kinds = append(kinds[:maxReportedPEMKind:maxReportedPEMKind], "…")
	}
	return " (found " + strings.Join(kinds, ", ") + ")"
}

package pki

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"os"
	"path/filepath"

	"github.com/p2sgw/p2sgw/internal/atomicfile"
)

// CA is a certificate authority: a CA certificate and the private key that signs with it.
// A CA does not change after it is made or loaded, so several goroutines may issue from
// it at once.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// NewRoot creates a self-signed root CA named cn with a new key. The root may sign
// certificates and CRLs (both key usages critical) and has no path length limit, so an
// enterprise may put an intermediate CA under it. A zero Options gives an ecdsa-p256 key
// valid for DefaultRootDays.
func NewRoot(cn string, o Options) (*CA, error) {
	if err := checkCommonName("root", cn); err != nil {
		return nil, err
	}
	p, err := o.resolve(DefaultRootDays)
	if err != nil {
		return nil, err
	}
	key, err := p.key.generate()
	if err != nil {
		return nil, fmt.Errorf("pki: generate %s key: %w", p.key, err)
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             p.notBefore,
		NotAfter:              p.notAfter,
		BasicConstraintsValid: true,
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	cert, err := sign(tmpl, nil, key.Public(), key)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

// LoadCA reads a CA certificate (PEM, DER or base64, see ParseCertificate) and its private
// key (PEM or DER, see ParsePrivateKey). It fails with ErrNotCA when the certificate may
// not sign certificates and with ErrKeyMismatch when the key is not the certificate's.
// The CA need not be a root: certificates issued from an intermediate carry the
// intermediate, not the root, as their issuer.
func LoadCA(certPath, keyPath string) (*CA, error) {
	cert, err := ReadCertificate(certPath)
	if err != nil {
		return nil, err
	}
	keyData, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, err
	}
	key, err := ParsePrivateKey(keyData)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	ca := &CA{Cert: cert, Key: key}
	if err := ca.check(); err != nil {
		return nil, fmt.Errorf("%s and %s: %w", certPath, keyPath, err)
	}
	return ca, nil
}

// check reports whether ca can issue certificates.
func (ca *CA) check() error {
	if ca == nil || ca.Cert == nil || ca.Key == nil {
		return fmt.Errorf("%w: no certificate or key", ErrNotCA)
	}
	name := ca.Cert.Subject.CommonName
	if !ca.Cert.BasicConstraintsValid || !ca.Cert.IsCA {
		return fmt.Errorf("%w: %q is an end-entity certificate (its basic constraints say CA:FALSE or nothing)", ErrNotCA, name)
	}
	if ca.Cert.KeyUsage != 0 && ca.Cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return fmt.Errorf("%w: the key usage of %q does not allow signing certificates", ErrNotCA, name)
	}
	if !KeyMatches(ca.Cert, ca.Key) {
		return fmt.Errorf("%w: the key is not the one of %q; are the files from different roots?", ErrKeyMismatch, name)
	}
	return nil
}

// WriteFiles writes the CA into dir, creating dir (0755) if missing: base.crt (PEM),
// base.cer (DER, the form an admin uploads to the gateway, as to Azure) and base.key
// (PKCS#8 PEM, mode 0600). It replaces existing files, each one atomically; a caller that
// must not lose an old key checks for base.key first.
func (ca *CA) WriteFiles(dir, base string) error {
	keyPEM, err := marshalKeyPEM(ca.Key)
	if err != nil {
		return err
	}
	return writeFiles(dir, []file{
		{base + ".key", keyPEM, 0o600},
		{base + ".crt", certPEM(ca.Cert.Raw), 0o644},
		{base + ".cer", ca.Cert.Raw, 0o644},
	})
}

// file is one file for writeFiles.
type file struct {
	name string
	data []byte
	perm os.FileMode
}

// writeFiles creates dir if missing and writes files into it in order, each atomically.
func writeFiles(dir string, files []file) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	for _, f := range files {
		if err := atomicfile.Write(filepath.Join(dir, f.name), f.data, f.perm); err != nil {
			return fmt.Errorf("pki: %w", err)
		}
	}
	return nil
}

// Package certauth decides whether a client certificate may connect: it chains to a trusted
// root uploaded by the admin, carries EKU clientAuth, is within its validity, and neither it
// nor any certificate in its chain has a revoked thumbprint (SHA-1 or SHA-256). It also checks
// that a certificate offered as a trusted root is fit to be one.
//
// It holds the trust set in memory and is safe for concurrent use; it neither reads nor writes
// the store (package gateway keeps the two in step) and does no protocol work: IKEv2 and EAP-TLS
// hand it the certificates they received.
package certauth

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Thumbprints returns the upper-case hex SHA-1 (Azure's form) and SHA-256 thumbprints of a
// DER-encoded certificate.
func Thumbprints(der []byte) (sha1Hex, sha256Hex string) {
	s1 := sha1.Sum(der)
	s256 := sha256.Sum256(der)
	return strings.ToUpper(hex.EncodeToString(s1[:])), strings.ToUpper(hex.EncodeToString(s256[:]))
}

// ParseThumbprint normalises a thumbprint as admins paste it — any case, with or without
// colons, spaces or dashes, from Windows' certificate dialog (which may prepend an invisible
// U+200E mark) — to upper-case hex. It must be a SHA-1 (40 hex digits) or SHA-256 (64) one.
func ParseThumbprint(s string) (string, error) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == ':' || r == ' ' || r == '-' || r == '\t' || r == '\u200e' || r == '\ufeff':
			continue
		case '0' <= r && r <= '9', 'a' <= r && r <= 'f', 'A' <= r && r <= 'F':
			b.WriteRune(r)
		default:
			return "", fmt.Errorf("%w: %q is not a hex digit", ErrBadThumbprint, r)
		}
	}
	hexs := strings.ToUpper(b.String())
	switch len(hexs) {
	case 40, 64:
		return hexs, nil
	case 0:
		return "", fmt.Errorf("%w: it is empty", ErrBadThumbprint)
	default:
		return "", fmt.Errorf("%w: %d hex digits (want 40 for SHA-1 or 64 for SHA-256)", ErrBadThumbprint, len(hexs))
	}
}

// CheckRoot reports whether cert may be uploaded as a trusted root: a CA certificate (basic
// constraints CA:TRUE; a key usage, if present, must include certSign) that is valid at now.
// Certificates without basic constraints are refused: chain verification would refuse every
// client under them anyway.
func CheckRoot(cert *x509.Certificate, now time.Time) error {
	switch {
	case cert.BasicConstraintsValid && !cert.IsCA:
		return fmt.Errorf("%w: %q has basic constraints CA:FALSE (it is an end-entity certificate; upload the root that issued it)", ErrNotCA, cert.Subject.CommonName)
	case !cert.BasicConstraintsValid:
		return fmt.Errorf("%w: %q has no basic constraints CA:TRUE, so it cannot issue client certificates (reissue the root as a CA)", ErrNotCA, cert.Subject.CommonName)
	case cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageCertSign == 0:
		return fmt.Errorf("%w: %q has a key usage without certSign, so it cannot sign client certificates", ErrNotCA, cert.Subject.CommonName)
	case now.After(cert.NotAfter):
		return fmt.Errorf("%w: %q expired on %s", ErrExpired, cert.Subject.CommonName, cert.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(cert.NotBefore):
		return fmt.Errorf("%w: %q is not valid before %s", ErrNotYetValid, cert.Subject.CommonName, cert.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}

// Identity is who a verified client certificate says the client is.
type Identity struct {
	Name    string            // subject CN, or the first SAN when the CN is empty
	Root    string            // the name of the trusted root the chain ends at
	Leaf    *x509.Certificate // the client certificate
	SHA1    string            // the leaf's thumbprints, upper-case hex
	SHA256  string
	Chain   []*x509.Certificate
	Expires time.Time
}

// Policy is the client-certificate policy: the trusted roots and the revoked thumbprints.
// The zero value trusts nothing. Its methods are safe for concurrent use.
type Policy struct {
	mu      sync.RWMutex // guards the fields below
	roots   map[string]*x509.Certificate
	revoked map[string]string // thumbprint → entry name
}

// SetRoots replaces the trusted roots (name → certificate).
func (p *Policy) SetRoots(roots map[string]*x509.Certificate) {
	m := make(map[string]*x509.Certificate, len(roots))
	for k, v := range roots {
		m[k] = v
	}
	p.mu.Lock()
	p.roots = m
	p.mu.Unlock()
}

// Roots returns the trusted roots.
func (p *Policy) Roots() []*x509.Certificate {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]*x509.Certificate, 0, len(p.roots))
	for _, r := range p.roots {
		out = append(out, r)
	}
	return out
}

// SetRevoked replaces the revoked thumbprints (normalised thumbprint → entry name).
func (p *Policy) SetRevoked(revoked map[string]string) {
	m := make(map[string]string, len(revoked))
	for k, v := range revoked {
		m[k] = v
	}
	p.mu.Lock()
	p.revoked = m
	p.mu.Unlock()
}

// Verify checks a client certificate and the intermediates it sent at time now and returns
// the client's identity. Errors wrap ErrUntrusted, ErrRevoked, ErrWrongUsage or ErrExpired so
// a protocol can choose its refusal; their text is for the log.
func (p *Policy) Verify(leaf *x509.Certificate, intermediates []*x509.Certificate, now time.Time) (*Identity, error) {
	p.mu.RLock()
	roots, revoked := p.roots, p.revoked
	p.mu.RUnlock()

	if now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("%w: client certificate %q expired on %s", ErrExpired, leaf.Subject.CommonName, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(leaf.NotBefore) {
		return nil, fmt.Errorf("%w: client certificate %q is not valid before %s", ErrNotYetValid, leaf.Subject.CommonName, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	if !hasClientAuth(leaf) {
		return nil, fmt.Errorf("%w: client certificate %q lacks EKU clientAuth (1.3.6.1.5.5.7.3.2)", ErrWrongUsage, leaf.Subject.CommonName)
	}
	pool := x509.NewCertPool()
	byRaw := make(map[string]string, len(roots))
	for name, r := range roots {
		pool.AddCert(r)
		byRaw[string(r.Raw)] = name
	}
	inter := x509.NewCertPool()
	for _, c := range intermediates {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots:         pool,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: client certificate %q (issuer %q): %v", ErrUntrusted, leaf.Subject.CommonName, leaf.Issuer.CommonName, err)
	}
	// Any valid chain will do unless it passes a revoked certificate; try them all.
	var revokedErr error
	for _, chain := range chains {
		if name, tp := revokedIn(chain, revoked); name != "" {
			if subj := subjectOf(chain, tp); subj != leaf.Subject.CommonName {
				revokedErr = fmt.Errorf("%w: certificate %q in the chain of %q has thumbprint %s, revoked as %q", ErrRevoked, subj, leaf.Subject.CommonName, tp, name)
			} else {
				revokedErr = fmt.Errorf("%w: client certificate %q has thumbprint %s, revoked as %q", ErrRevoked, leaf.Subject.CommonName, tp, name)
			}
			continue
		}
		s1, s256 := Thumbprints(leaf.Raw)
		return &Identity{
			Name:    identityName(leaf),
			Root:    byRaw[string(chain[len(chain)-1].Raw)],
			Leaf:    leaf,
			SHA1:    s1,
			SHA256:  s256,
			Chain:   chain,
			Expires: leaf.NotAfter,
		}, nil
	}
	return nil, revokedErr
}

// Revoked reports the revocation entry that matches cert, or "" if none does.
func (p *Policy) Revoked(cert *x509.Certificate) string {
	p.mu.RLock()
	revoked := p.revoked
	p.mu.RUnlock()
	name, _ := revokedIn([]*x509.Certificate{cert}, revoked)
	return name
}

func revokedIn(chain []*x509.Certificate, revoked map[string]string) (name, thumbprint string) {
	for _, c := range chain {
		s1, s256 := Thumbprints(c.Raw)
		if n, ok := revoked[s1]; ok {
			return n, s1
		}
		if n, ok := revoked[s256]; ok {
			return n, s256
		}
	}
	return "", ""
}

func subjectOf(chain []*x509.Certificate, thumbprint string) string {
	for _, c := range chain {
		if s1, s256 := Thumbprints(c.Raw); s1 == thumbprint || s256 == thumbprint {
			return c.Subject.CommonName
		}
	}
	return ""
}

func hasClientAuth(c *x509.Certificate) bool {
	if len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 {
		return false
	}
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageClientAuth || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}

func identityName(c *x509.Certificate) string {
	switch {
	case c.Subject.CommonName != "":
		return c.Subject.CommonName
	case len(c.EmailAddresses) > 0:
		return c.EmailAddresses[0]
	case len(c.DNSNames) > 0:
		return c.DNSNames[0]
	}
	return c.Subject.String()
}

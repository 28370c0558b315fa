package config

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/p2sgw/p2sgw/pki"
)

// pemFile reads the PEM file a required field names, reporting problems against field. It
// returns nil after reporting.
func (v *checker) pemFile(field, path, what string) []byte {
	if path == "" {
		v.errorf(field, "required: %s", what)
		return nil
	}
	data, err := readRegularFile(path, maxPEMSize)
	if err != nil {
		v.errorf(field, "%s", fileProblem(path, err))
		return nil
	}
	return data
}

// certFile reads and parses a PEM certificate file, reporting problems against field. It
// returns nil after reporting.
func (v *checker) certFile(field, path, what string) []*x509.Certificate {
	data := v.pemFile(field, path, what)
	if data == nil {
		return nil
	}
	certs, err := parseCertificates(data)
	if err != nil {
		v.errorf(field, "%s: %v", path, err)
		return nil
	}
	return certs
}

// keyFile reads and parses a PEM private key file, reporting problems against field. It
// returns nil after reporting.
func (v *checker) keyFile(field, path, what string) crypto.Signer {
	data := v.pemFile(field, path, what)
	if data == nil {
		return nil
	}
	key, err := parsePrivateKey(data)
	if err != nil {
		v.errorf(field, "%s: %v", path, err)
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o007 != 0 {
		v.warnf(field, "%s is readable by others (mode %04o; chmod 600)", path, fi.Mode().Perm())
	}
	return key
}

// keyMatches reports a key that the certificate does not certify.
func (v *checker) keyMatches(keyField, certField string, cert *x509.Certificate, key crypto.Signer) {
	if cert == nil || key == nil || pki.KeyMatches(cert, key) {
		return
	}
	v.errorf(keyField, "key does not match %s (the key is %s; the certificate %s holds %s)",
		certField, describeKey(key.Public()), describeCert(cert), describeKey(cert.PublicKey))
}

// validity reports an expired certificate as an error, and one not yet valid or expiring
// within 30 days as a warning.
func (v *checker) validity(field, path string, cert *x509.Certificate) {
	const day = "2006-01-02 15:04 MST"
	switch {
	case v.now.After(cert.NotAfter):
		v.errorf(field, "%s (%s) expired on %s; issue a new certificate", path, describeCert(cert), cert.NotAfter.UTC().Format(day))
	case v.now.Before(cert.NotBefore):
		v.warnf(field, "%s (%s) is not valid until %s; check this host's clock", path, describeCert(cert), cert.NotBefore.UTC().Format(day))
	case cert.NotAfter.Sub(v.now) < certExpiryWarning:
		v.warnf(field, "%s (%s) expires on %s; issue a new certificate soon", path, describeCert(cert), cert.NotAfter.UTC().Format(day))
	}
}

func (v *checker) serverCertificate() {
	c := v.c
	certs := v.certFile("server_certificate", c.ServerCertificate, "a PEM file with the gateway's certificate, then its chain")
	key := v.keyFile("server_key", c.ServerKey, "the PEM private key of server_certificate")
	var roots []*x509.Certificate
	if c.ServerRoot != "" {
		roots = v.certFile("server_root", c.ServerRoot, "")
	}
	if certs == nil {
		return
	}
	leaf := certs[0]
	v.keyMatches("server_key", "server_certificate", leaf, key)
	v.validity("server_certificate", c.ServerCertificate, leaf)
	if c.PublicAddress != "" && publicAddressProblem(c.PublicAddress) == "" {
		if err := leaf.VerifyHostname(c.PublicAddress); err != nil {
			v.warnf("server_certificate", "%s does not name public_address %s, so clients will refuse it (it names %s)",
				c.ServerCertificate, c.PublicAddress, certNames(leaf))
		}
	}
	if len(leaf.ExtKeyUsage) > 0 && !hasServerAuth(leaf) {
		v.warnf("server_certificate", "%s lacks the serverAuth extended key usage, which Windows clients require", c.ServerCertificate)
	}
	if roots != nil {
		pool, inter := x509.NewCertPool(), x509.NewCertPool()
		for _, r := range roots {
			pool.AddCert(r)
		}
		for _, ic := range certs[1:] {
			inter.AddCert(ic)
		}
		_, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, CurrentTime: v.now,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		if err != nil {
			v.warnf("server_root", "%s does not verify server_certificate: %v", c.ServerRoot, err)
		}
	}
}

func hasServerAuth(c *x509.Certificate) bool {
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageServerAuth || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}

func certNames(c *x509.Certificate) string {
	var names []string
	names = append(names, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return "no DNS or IP subject alternative name"
	}
	return strings.Join(names, ", ")
}

func (v *checker) radius() {
	r := v.c.RADIUS
	if r == nil {
		return
	}
	switch n := len(r.Servers); {
	case n == 0:
		v.errorf("radius.servers", "at least one server is required")
	case n > MaxRADIUSServers:
		v.errorf("radius.servers", "%d servers is too many (at most %d)", n, MaxRADIUSServers)
	}
	for i := range r.Servers {
		if i < MaxRADIUSServers {
			v.radiusServer(fmt.Sprintf("radius.servers[%d]", i), r.Servers, i)
		}
	}
	if len(r.NASIdentifier) > maxNASIdentifierLen {
		v.errorf("radius.nas_identifier", "%d characters is too long (at most %d)", len(r.NASIdentifier), maxNASIdentifierLen)
	}
	if r.Timeout != "" {
		d, err := time.ParseDuration(r.Timeout)
		switch {
		case err != nil:
			v.errorf("radius.timeout", "%q is not a duration (e.g. %q)", r.Timeout, DefaultRADIUSTimeout)
		case d < MinRADIUSTimeout || d > MaxRADIUSTimeout:
			v.errorf("radius.timeout", "%s is out of range (%s to %s)", r.Timeout, MinRADIUSTimeout, MaxRADIUSTimeout)
		}
	}
	if r.InterimInterval != "" {
		d, err := time.ParseDuration(r.InterimInterval)
		switch {
		case err != nil:
			v.errorf("radius.interim_interval", "%q is not a duration (e.g. %q)", r.InterimInterval, DefaultInterim)
		case d < MinInterim || d > MaxInterim:
			v.errorf("radius.interim_interval", "%s is out of range (%s to %s)", r.InterimInterval, MinInterim, MaxInterim)
		}
	}
	if r.Retries != nil && (*r.Retries < 0 || *r.Retries > MaxRADIUSRetries) {
		v.errorf("radius.retries", "%d is out of range (0 to %d)", *r.Retries, MaxRADIUSRetries)
	}
}

func (v *checker) radiusServer(field string, all []RADIUSServer, i int) {
	s := &all[i]
	example := "radius.example.com:1812"
	switch {
	case s.Address == "":
		v.errorf(field+".address", "required: host or host:port (the port defaults to %d)", DefaultRADIUSPort)
	default:
		if msg := hostPortProblem(withDefaultPort(s.Address, DefaultRADIUSPort), example, false); msg != "" {
			v.errorf(field+".address", "%s", msg)
		} else {
			for j := range i {
				if all[j].Address == s.Address {
					v.errorf(field+".address", "%s is also radius.servers[%d]", s.Address, j)
					break
				}
			}
		}
	}
	if s.AcctAddress != "" {
		if msg := hostPortProblem(withDefaultPort(s.AcctAddress, DefaultRADIUSAcct), "radius.example.com:1813", false); msg != "" {
			v.errorf(field+".acct_address", "%s", msg)
		}
	}
	if s.Priority < 0 {
		v.errorf(field+".priority", "%d is negative (lower numbers are tried first, from 0)", s.Priority)
	}
	switch {
	case s.Secret != "" && s.SecretFile != "":
		v.errorf(field, "set secret or secret_file, not both")
	case s.Secret == "" && s.SecretFile == "":
		v.errorf(field, "a shared secret is required: secret_file (a file only p2sgw can read) or secret")
	case s.SecretFile != "":
		v.secretFile(field+".secret_file", s)
	default:
		v.secretLength(field+".secret", len(s.Secret))
	}
}

func (v *checker) secretFile(field string, s *RADIUSServer) {
	if fi, err := os.Stat(s.SecretFile); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o007 != 0 {
		v.errorf(field, "%s is readable by others (mode %04o; chmod 600)", s.SecretFile, fi.Mode().Perm())
		return
	}
	secret, err := s.SharedSecret()
	switch {
	case err != nil:
		v.errorf(field, "%s", fileProblem(s.SecretFile, err))
	case len(secret) == 0:
		v.errorf(field, "%s is empty", s.SecretFile)
	default:
		v.secretLength(field, len(secret))
	}
}

func (v *checker) secretLength(field string, n int) {
	if n < RecommendedSecretLen {
		v.warnf(field, "the secret has %d characters; %d or more are recommended", n, RecommendedSecretLen)
	}
}

func (v *checker) stateAndAdmin() {
	c := v.c
	if c.MetricsListen != "" {
		if msg := hostPortProblem(c.MetricsListen, "198.19.0.1:9100", true); msg != "" {
			v.errorf("metrics_listen", "%s", msg)
		}
	}
	v.absPath("state_dir", c.StateDir)
	v.absPath("admin.socket", c.Admin.Socket)
	a := c.Admin
	if a.Listen == "" {
		if a.TLSCertificate != "" || a.TLSKey != "" || a.ClientCA != "" {
			v.warnf("admin", "tls_certificate, tls_key and client_ca are ignored while admin.listen is empty")
		}
		return
	}
	if msg := hostPortProblem(a.Listen, "127.0.0.1:8443", true); msg != "" {
		v.errorf("admin.listen", "%s", msg)
	}
	certs := v.certFile("admin.tls_certificate", a.TLSCertificate, "with admin.listen set, the admin API's TLS server certificate")
	key := v.keyFile("admin.tls_key", a.TLSKey, "with admin.listen set, the key of admin.tls_certificate")
	v.certFile("admin.client_ca", a.ClientCA, "with admin.listen set, the CA whose client certificates may use the admin API")
	if certs != nil {
		v.keyMatches("admin.tls_key", "admin.tls_certificate", certs[0], key)
		v.validity("admin.tls_certificate", a.TLSCertificate, certs[0])
	}
}

func (v *checker) absPath(field, p string) {
	switch {
	case p == "":
		v.errorf(field, "required: an absolute path")
	case !filepath.IsAbs(p):
		v.errorf(field, "%q is not an absolute path", p)
	}
}

// TimeoutDuration returns Timeout as a duration, or the default (5s) when it is empty or
// does not parse (Validate refuses the latter).
func (r *RADIUS) TimeoutDuration() time.Duration {
	if d, err := time.ParseDuration(r.Timeout); err == nil {
		return d
	}
	d, _ := time.ParseDuration(DefaultRADIUSTimeout)
	return d
}

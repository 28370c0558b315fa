package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/p2sgw/p2sgw/pki"
)

// The file names `p2sgw pki` writes into its --out directories.
const (
	pkiRootBase   = "root"
	pkiClientBase = "client"
	pkiServerBase = "server"
)

// runPKICreateRoot implements `p2sgw pki create-root`.
func runPKICreateRoot(_ context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "pki create-root", "")
	cn := fs.String("cn", "", `the root's name (subject CN), e.g. "Contoso P2S Root" (required)`)
	var f pkiIssueFlags
	f.register(fs, pkiRootBase, "root.crt, root.cer and root.key", pki.DefaultRootDays, "")
	if err := pkiParseFlags(fs, args); err != nil {
		return err
	}
	if *cn == "" {
		return usagef(`--cn is required: the root's name, e.g. --cn "Contoso P2S Root"`)
	}
	opts, err := f.check()
	if err != nil {
		return err
	}
	ca, err := pki.NewRoot(*cn, opts)
	if err != nil {
		return pkiUsage(err)
	}
	if err := ca.WriteFiles(f.out, pkiRootBase); err != nil {
		return err
	}
	res := pkiNewResult(ca.Cert, opts.Key, pkiPaths(f.out, pkiRootBase, ".crt", ".cer", ".key"))
	if f.json {
		return pkiWriteJSON(env.stdout, res)
	}
	pkiPrintRoot(env.stdout, res, f.out)
	return nil
}

func pkiPrintRoot(w io.Writer, res *pkiResult, out string) {
	fmt.Fprintf(w, "Created root CA %q (%s), valid until %s.\n", res.Subject, res.KeyType, pkiDate(res.NotAfter))
	fmt.Fprintf(w, "  %s  certificate (PEM)\n", res.Files["crt"])
	fmt.Fprintf(w, "  %s  certificate (DER): upload this one to the gateway\n", res.Files["cer"])
	fmt.Fprintf(w, "  %s  private key: keep it secret, it signs client certificates\n", res.Files["key"])
	pkiPrintThumbprints(w, res.Thumbprints)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Next:")
	fmt.Fprintf(w, "  p2sgw root-cert add --name %s --file %s\n", pkiRootCertName(res.Subject), pkiQuote(res.Files["cer"]))
	fmt.Fprintf(w, "  p2sgw pki issue-client --root %s --cn alice@example.com --out %s\n",
		pkiQuote(out), pkiQuote(filepath.Join(filepath.Dir(filepath.Clean(out)), "alice")))
}

// runPKIIssueClient implements `p2sgw pki issue-client`.
func runPKIIssueClient(_ context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "pki issue-client", "")
	rootDir := fs.String("root", "", "directory holding root.crt and root.key, as create-root wrote it (required)")
	cn := fs.String("cn", "", "the user's or device's name, e.g. alice@example.com or alice-laptop (required)")
	password := fs.String("p12-password", "", "password of client.p12 (default: a generated one, printed)")
	modern := fs.Bool("p12-modern", false, "encode client.p12 with AES-256 instead of the legacy 3DES that every Windows, macOS and iOS imports")
	var f pkiIssueFlags
	f.register(fs, pkiClientBase, "client.crt, client.key and client.p12", pki.DefaultClientDays, "")
	if err := pkiParseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *rootDir == "":
		return usagef("--root is required: the directory that `p2sgw pki create-root` wrote")
	case *cn == "":
		return usagef("--cn is required: the user's or device's name, e.g. --cn alice@example.com")
	}
	opts, err := f.check()
	if err != nil {
		return err
	}
	ca, err := pkiLoadRoot(*rootDir)
	if err != nil {
		return err
	}
	cert, err := ca.IssueClient(*cn, opts)
	if err != nil {
		return pkiUsage(err)
	}
	generated := *password == ""
	if generated {
		*password = pki.NewPassword()
	}
	if err := cert.WriteFiles(f.out, pkiClientBase); err != nil {
		return err
	}
	if err := cert.WritePKCS12(f.out, pkiClientBase, *password, *modern); err != nil {
		return err
	}
	res := pkiNewResult(cert.Cert, opts.Key, pkiPaths(f.out, pkiClientBase, ".crt", ".key", ".p12"))
	res.Issuer = ca.Cert.Subject.CommonName
	res.P12Encoding = "legacy-3des"
	if *modern {
		res.P12Encoding = "modern-aes"
	}
	if generated {
		res.P12Password = *password
	}
	if f.json {
		return pkiWriteJSON(env.stdout, res)
	}
	pkiPrintClient(env.stdout, res, *rootDir)
	return nil
}

func pkiPrintClient(w io.Writer, res *pkiResult, rootDir string) {
	fmt.Fprintf(w, "Issued client certificate %q (%s) from root %q, valid until %s.\n",
		res.Subject, res.KeyType, res.Issuer, pkiDate(res.NotAfter))
	fmt.Fprintf(w, "  %s  certificate, then the root (PEM)\n", res.Files["crt"])
	fmt.Fprintf(w, "  %s  private key\n", res.Files["key"])
	fmt.Fprintf(w, "  %s  key, certificate and root for the device (PKCS#12, %s)\n", res.Files["p12"], res.P12Encoding)
	pkiPrintThumbprints(w, res.Thumbprints)
	if res.P12Password != "" {
		fmt.Fprintf(w, "\nPKCS#12 password: %s\n", res.P12Password)
		fmt.Fprintln(w, "  (generated: give it to the user apart from the file)")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Next: install %s on the user's device with its password.\n", res.Files["p12"])
	fmt.Fprintln(w, "  Windows:     double-click it and import it into the Current User store")
	fmt.Fprintln(w, "  macOS, iOS:  open it (send it to iOS by AirDrop or mail) and enter the password")
	fmt.Fprintln(w, "  strongSwan:  copy it to /etc/ipsec.d/private/ and add `: P12 client.p12 'PASSWORD'` to ipsec.secrets")
	fmt.Fprintf(w, "The gateway accepts it once the root is uploaded (p2sgw root-cert add --name %s --file %s).\n",
		pkiRootCertName(res.Issuer), pkiQuote(filepath.Join(rootDir, pkiRootBase+".cer")))
}

// runPKIIssueServer implements `p2sgw pki issue-server`.
func runPKIIssueServer(_ context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "pki issue-server", "")
	rootDir := fs.String("root", "", "directory holding root.crt and root.key, as create-root wrote it (required)")
	var dnsNames, ipList listFlag
	fs.Var(&dnsNames, "dns", "the gateway's host name(s): comma list or repeated flag")
	fs.Var(&ipList, "ip", "the gateway's public IP address(es): comma list or repeated flag")
	var f pkiIssueFlags
	f.register(fs, pkiServerBase, "server.crt and server.key", pki.DefaultServerDays, " (macOS and iOS reject more than 825)")
	if err := pkiParseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *rootDir == "":
		return usagef("--root is required: the directory that `p2sgw pki create-root` wrote")
	case len(dnsNames) == 0 && len(ipList) == 0:
		return usagef("name the gateway as clients reach it: --dns vpn.example.com, --ip 203.0.113.1, or both")
	}
	var ips []netip.Addr
	for _, s := range ipList {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return usagef("--ip %q is not an IP address", s)
		}
		ips = append(ips, a)
	}
	opts, err := f.check()
	if err != nil {
		return err
	}
	if f.days > pki.DefaultServerDays {
		fmt.Fprintf(env.stderr, "warning: macOS and iOS reject server certificates valid for more than %d days\n", pki.DefaultServerDays)
	}
	ca, err := pkiLoadRoot(*rootDir)
	if err != nil {
		return err
	}
	cert, err := ca.IssueServer(dnsNames, ips, opts)
	if err != nil {
		return pkiUsage(err)
	}
	if err := cert.WriteFiles(f.out, pkiServerBase); err != nil {
		return err
	}
	res := pkiNewResult(cert.Cert, opts.Key, pkiPaths(f.out, pkiServerBase, ".crt", ".key"))
	res.Issuer = ca.Cert.Subject.CommonName
	res.DNSNames = cert.Cert.DNSNames
	for _, ip := range cert.Cert.IPAddresses {
		res.IPAddresses = append(res.IPAddresses, ip.String())
	}
	if f.json {
		return pkiWriteJSON(env.stdout, res)
	}
	pkiPrintServer(env.stdout, res, *rootDir)
	return nil
}

func pkiPrintServer(w io.Writer, res *pkiResult, rootDir string) {
	fmt.Fprintf(w, "Issued server certificate %q (%s) from root %q, valid until %s.\n",
		res.Subject, res.KeyType, res.Issuer, pkiDate(res.NotAfter))
	fmt.Fprintf(w, "  DNS names:     %s\n", strings.Join(res.DNSNames, ", "))
	if len(res.IPAddresses) > 0 {
		fmt.Fprintf(w, "  IP addresses:  %s\n", strings.Join(res.IPAddresses, ", "))
	}
	fmt.Fprintf(w, "  %s  certificate, then the root (PEM)\n", res.Files["crt"])
	fmt.Fprintf(w, "  %s  private key\n", res.Files["key"])
	pkiPrintThumbprints(w, res.Thumbprints)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Next: point the gateway at them in gateway.yaml:")
	fmt.Fprintf(w, "  server_certificate: %s\n", res.Files["crt"])
	fmt.Fprintf(w, "  server_key: %s\n", res.Files["key"])
	fmt.Fprintf(w, "  server_root: %s\n", filepath.Join(rootDir, pkiRootBase+".crt"))
	fmt.Fprintln(w, "Clients must trust that root; the VPN client package carries it.")
}

// runPKIThumbprint implements `p2sgw pki thumbprint FILE`.
func runPKIThumbprint(_ context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "pki thumbprint", "FILE")
	asJSON := fs.Bool("json", false, `print {"sha1": …, "sha256": …}`)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("give one certificate file (PEM, DER or base64), e.g. p2sgw pki thumbprint root.cer")
	}
	cert, err := pki.ReadCertificate(pos[0])
	if err != nil {
		return err
	}
	tp := pki.ThumbprintsOf(cert.Raw)
	if *asJSON {
		return pkiWriteJSON(env.stdout, tp)
	}
	fmt.Fprintf(env.stdout, "SHA-1:   %s\nSHA-256: %s\n", tp.SHA1, tp.SHA256)
	return nil
}

// pkiResult is what the pki commands report with --json.
type pkiResult struct {
	Subject     string            `json:"subject"`
	Issuer      string            `json:"issuer,omitempty"`
	KeyType     pki.KeyType       `json:"key_type"`
	Serial      string            `json:"serial"`
	NotBefore   time.Time         `json:"not_before"`
	NotAfter    time.Time         `json:"not_after"`
	DNSNames    []string          `json:"dns_names,omitempty"`
	IPAddresses []string          `json:"ip_addresses,omitempty"`
	Files       map[string]string `json:"files"`
	P12Encoding string            `json:"p12_encoding,omitempty"`
	P12Password string            `json:"p12_password,omitempty"` // only when generated
	pki.Thumbprints
}

func pkiNewResult(cert *x509.Certificate, key pki.KeyType, files map[string]string) *pkiResult {
	return &pkiResult{
		Subject:     cert.Subject.CommonName,
		KeyType:     key,
		Serial:      fmt.Sprintf("%X", cert.SerialNumber),
		NotBefore:   cert.NotBefore,
		NotAfter:    cert.NotAfter,
		Files:       files,
		Thumbprints: pki.ThumbprintsOf(cert.Raw),
	}
}

// pkiIssueFlags are the flags of every pki command that makes a certificate.
type pkiIssueFlags struct {
	base string // the files are named base.*
	what string // the files, for messages: "server.crt and server.key"

	out   string
	key   string
	days  int
	force bool
	json  bool
}

// register adds the flags to fs for a command that writes the files base.* (described by
// what) and whose certificates live defaultDays by default.
func (f *pkiIssueFlags) register(fs *flag.FlagSet, base, what string, defaultDays int, daysNote string) {
	f.base, f.what = base, what
	fs.StringVar(&f.out, "out", "", "directory for "+what+", created if missing (required)")
	fs.StringVar(&f.key, "key", string(pki.DefaultKeyType), "key type: "+pkiKeyTypeList())
	fs.IntVar(&f.days, "days", defaultDays, "validity in days"+daysNote)
	fs.BoolVar(&f.force, "force", false, "replace an existing "+base+".key")
	fs.BoolVar(&f.json, "json", false, "print the result as JSON")
}

// check validates the flags and refuses to replace base.key in --out without --force, so
// that a mistake fails before any slow key generation.
func (f *pkiIssueFlags) check() (pki.Options, error) {
	if f.out == "" {
		return pki.Options{}, usagef("--out is required: the directory for %s", f.what)
	}
	opts, err := pkiOptions(f.key, f.days)
	if err != nil {
		return pki.Options{}, err
	}
	if err := pkiRefuseOverwrite(f.out, f.base, f.force); err != nil {
		return pki.Options{}, err
	}
	return opts, nil
}

// pkiParseFlags parses args and rejects positional arguments.
func pkiParseFlags(fs *flag.FlagSet, args []string) error {
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q (every value goes with a flag)", pos[0])
	}
	return nil
}

// pkiOptions checks the --key and --days flags.
func pkiOptions(keyName string, days int) (pki.Options, error) {
	key, err := pki.ParseKeyType(keyName)
	if err != nil {
		return pki.Options{}, usagef("--key: %s", strings.TrimPrefix(err.Error(), "pki: "))
	}
	if days < 1 || days > pki.MaxDays {
		return pki.Options{}, usagef("--days %d is out of range: use 1 to %d", days, pki.MaxDays)
	}
	return pki.Options{Key: key, Days: days}, nil
}

// pkiUsage turns the pki errors about bad input into usage errors (exit status 2).
func pkiUsage(err error) error {
	for _, target := range []error{pki.ErrInvalidName, pki.ErrKeyType, pki.ErrInvalidDays, pki.ErrNoNames} {
		if errors.Is(err, target) {
			return usageError{strings.TrimPrefix(err.Error(), "pki: ")}
		}
	}
	return err
}

// pkiRefuseOverwrite fails when dir/base.key exists and force is off: replacing a key by
// mistake loses the identity it backs (for a root, the ability to issue from it).
func pkiRefuseOverwrite(dir, base string, force bool) error {
	path := filepath.Join(dir, base+".key")
	_, err := os.Lstat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case force:
		return nil
	}
	return fmt.Errorf("%s already exists; refusing to overwrite it: pass --force to replace it, or choose another --out", path)
}

// pkiLoadRoot loads the CA that create-root wrote into dir.
func pkiLoadRoot(dir string) (*pki.CA, error) {
	ca, err := pki.LoadCA(filepath.Join(dir, pkiRootBase+".crt"), filepath.Join(dir, pkiRootBase+".key"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("load the root from --root %s: %w (--root names a directory that `p2sgw pki create-root` wrote)", dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("load the root from --root %s: %w", dir, err)
	}
	return ca, nil
}

// pkiPaths names the files dir/base+ext, keyed by ext without its dot.
func pkiPaths(dir, base string, exts ...string) map[string]string {
	m := make(map[string]string, len(exts))
	for _, ext := range exts {
		m[strings.TrimPrefix(ext, ".")] = filepath.Join(dir, base+ext)
	}
	return m
}

func pkiPrintThumbprints(w io.Writer, tp pki.Thumbprints) {
	fmt.Fprintf(w, "Thumbprint SHA-1:   %s\n", tp.SHA1)
	fmt.Fprintf(w, "Thumbprint SHA-256: %s\n", tp.SHA256)
}

func pkiWriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func pkiDate(t time.Time) string { return t.UTC().Format("2006-01-02") }

func pkiKeyTypeList() string {
	var names []string
	for _, k := range pki.KeyTypes() {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

// pkiRootCertName suggests a gateway name for a root from its CN: the CN with every run of
// characters other than letters, digits, '-', '_' and '.' turned into one '-'.
func pkiRootCertName(cn string) string {
	var b strings.Builder
	dash := false
	for _, r := range cn {
		ok := r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.", r))
		switch {
		case ok:
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	if name := strings.TrimRight(b.String(), "-"); name != "" {
		return name
	}
	return "root"
}

// pkiQuote quotes a path for a shell command line when it needs it.
func pkiQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./@:+,=") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/p2sgw/p2sgw/ike"
	"github.com/p2sgw/p2sgw/internal/logcat"
	"github.com/p2sgw/p2sgw/pki"
	"github.com/p2sgw/p2sgw/vpnclient"
)

// defaultRunDir holds `p2sgw connect`'s status files.
const defaultRunDir = "/run/p2sgw"

// connectFile is `p2sgw connect --config FILE`: the same settings as the flags.
type connectFile struct {
	Server          string `yaml:"server"`
	ServerName      string `yaml:"server_name"`
	ServerRoot      string `yaml:"server_root"`
	Certificate     string `yaml:"certificate"`
	Key             string `yaml:"key"`
	P12             string `yaml:"p12"`
	P12PasswordFile string `yaml:"p12_password_file"`
	TUN             string `yaml:"tun"`
	DNS             string `yaml:"dns"`
}

func runConnect(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "connect", "[PACKAGE.zip]")
	var f connectFile
	configPath := fs.String("config", "", "a YAML file with the settings below (server, server_name, server_root, certificate, key, p12, p12_password_file, tun, dns)")
	fs.StringVar(&f.Server, "server", "", "the gateway's address or name (default: the package's VpnServer)")
	fs.StringVar(&f.ServerName, "server-name", "", "the name the gateway's certificate carries (default: --server)")
	fs.StringVar(&f.ServerRoot, "server-root", "", "the CA that signed the gateway's certificate, PEM or DER (default: the package's VpnServerRoot)")
	fs.StringVar(&f.Certificate, "cert", "", "your client certificate (PEM), with --key")
	fs.StringVar(&f.Key, "key", "", "its private key (PEM)")
	fs.StringVar(&f.P12, "p12", "", "your client certificate and key as PKCS#12 (.p12/.pfx), instead of --cert/--key")
	fs.StringVar(&f.P12PasswordFile, "p12-password-file", "", "a file holding the .p12's password")
	fs.StringVar(&f.TUN, "tun", "", "the TUN device's name (default p2sgw-vpn)")
	fs.StringVar(&f.DNS, "dns", "", "auto: apply the gateway's DNS servers with resolvectl; off (default auto)")
	runDir := fs.String("run-dir", defaultRunDir, "where the status file goes")
	dpd := fs.Duration("dpd-interval", vpnclient.DefaultDPDInterval, "how long the gateway may be silent before a liveness check")
	dead := fs.Duration("dead-peer-timeout", vpnclient.DefaultDeadPeerTimeout, "how long a liveness check waits before reconnecting")
	status := fs.Bool("status", false, "show the state of the running p2sgw connect for --tun, and exit")
	asJSON := fs.Bool("json", false, "with --status: print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("one package at most, got %d arguments", len(pos))
	}
	if *configPath != "" {
		if err := mergeConnectFile(*configPath, &f); err != nil {
			return err
		}
	}
	if f.TUN == "" {
		f.TUN = "p2sgw-vpn"
	}
	statusFile := filepath.Join(*runDir, "connect-"+f.TUN+".json")
	if *status {
		return printConnectStatus(env, statusFile, *asJSON)
	}
	if f.DNS == "" {
		f.DNS = "auto"
	}
	if f.DNS != "auto" && f.DNS != "off" {
		return usagef("--dns must be auto or off")
	}
	var pkg vpnPackage
	if len(pos) == 1 {
		if pkg, err = readVPNPackage(pos[0]); err != nil {
			return err
		}
	}
	cfg, err := connectConfig(f, pkg)
	if err != nil {
		return err
	}
	cfg.IKEv2.DPDInterval, cfg.IKEv2.DeadPeerTimeout = *dpd, *dead
	cfg.StatusFile = statusFile
	if err := os.MkdirAll(*runDir, 0o755); err != nil {
		return err
	}
	cfg.Log = newLogger(env.stderr, "text", logcat.NewLevels(slog.LevelInfo))
	cfg.IKEv2.Log = cfg.Log
	fmt.Fprintf(env.stderr, "Connecting to %s as %s on %s; p2sgw connect --status --tun %s shows the state. Ctrl-C disconnects.\n",
		cfg.IKEv2.Server, cfg.IKEv2.Identity.Chain[0].Subject.CommonName, f.TUN, f.TUN)
	return vpnclient.Connect(ctx, cfg)
}

// mergeConnectFile fills the settings f lacks from the YAML file at path.
func mergeConnectFile(path string, f *connectFile) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var file connectFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", path, err)
	}
	dir := filepath.Dir(path)
	rel := func(p string) string {
		if p != "" && !filepath.IsAbs(p) {
			return filepath.Join(dir, p)
		}
		return p
	}
	for _, x := range []struct {
		dst *string
		v   string
	}{
		{&f.Server, file.Server}, {&f.ServerName, file.ServerName}, {&f.ServerRoot, rel(file.ServerRoot)},
		{&f.Certificate, rel(file.Certificate)}, {&f.Key, rel(file.Key)}, {&f.P12, rel(file.P12)},
		{&f.P12PasswordFile, rel(file.P12PasswordFile)}, {&f.TUN, file.TUN}, {&f.DNS, file.DNS},
	} {
		if *x.dst == "" {
			*x.dst = x.v
		}
	}
	return nil
}

// vpnPackage is what `p2sgw connect` takes from a VPN client configuration package.
type vpnPackage struct {
	server, identity string
	routes           []netip.Prefix
	root             *x509.Certificate
}

// readVPNPackage reads Generic/VpnSettings.xml and Generic/VpnServerRoot.cer from the zip.
func readVPNPackage(path string) (vpnPackage, error) {
	var p vpnPackage
	zr, err := zip.OpenReader(path)
	if err != nil {
		return p, fmt.Errorf("%s: %w (want the zip from p2sgw vpn-client generate)", path, err)
	}
	defer zr.Close()
	read := func(name string) ([]byte, error) {
		f, err := zr.Open(name)
		if err != nil {
			return nil, fmt.Errorf("%s: no %s: is it a VPN client configuration package?", path, name)
		}
		defer f.Close()
		return io.ReadAll(io.LimitReader(f, 1<<20))
	}
	b, err := read("Generic/VpnSettings.xml")
	if err != nil {
		return p, err
	}
	if p, err = parseVPNSettings(b); err != nil {
		return p, fmt.Errorf("%s: Generic/VpnSettings.xml: %w", path, err)
	}
	der, err := read("Generic/VpnServerRoot.cer")
	if err != nil {
		return p, err
	}
	if p.root, err = pki.ParseCertificate(der); err != nil {
		return p, fmt.Errorf("%s: Generic/VpnServerRoot.cer: %w", path, err)
	}
	return p, nil
}

// parseVPNSettings reads the gateway's name, identity and routes from VpnSettings.xml.
func parseVPNSettings(b []byte) (vpnPackage, error) {
	var p vpnPackage
	var x struct {
		VpnServer       string
		VpnType         string
		Routes          string
		GatewayIdentity string
	}
	if err := xml.Unmarshal(b, &x); err != nil {
		return p, err
	}
	if !strings.Contains(x.VpnType, "IkeV2") {
		return p, fmt.Errorf("the gateway offers %q, not IKEv2", x.VpnType)
	}
	p.server, p.identity = x.VpnServer, x.GatewayIdentity
	for _, r := range strings.Split(x.Routes, ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(r)
		if err != nil {
			return p, fmt.Errorf("route %q: %w", r, err)
		}
		p.routes = append(p.routes, pfx.Masked())
	}
	return p, nil
}

// connectConfig builds the client's configuration from the settings and the package.
func connectConfig(f connectFile, pkg vpnPackage) (vpnclient.ConnectConfig, error) {
	var cfg vpnclient.ConnectConfig
	server := orStr(f.Server, pkg.server)
	if server == "" {
		return cfg, usagef("no gateway: give a package, --server or server in --config")
	}
	roots := x509.NewCertPool()
	switch {
	case f.ServerRoot != "":
		root, err := pki.ReadCertificate(f.ServerRoot)
		if err != nil {
			return cfg, fmt.Errorf("--server-root: %w", err)
		}
		roots.AddCert(root)
	case pkg.root != nil:
		roots.AddCert(pkg.root)
	default:
		return cfg, usagef("no server root: give a package or --server-root (the VPN server root that signed the gateway's certificate)")
	}
	id, err := loadIdentity(f)
	if err != nil {
		return cfg, err
	}
	host := server
	if h, _, err := net.SplitHostPort(server); err == nil {
		host = h
	}
	cfg.IKEv2 = vpnclient.IKEv2Config{
		Server: server, ServerName: orStr(f.ServerName, pkg.identity, host), Roots: roots, Identity: id,
	}
	cfg.TUN, cfg.DNS, cfg.Routes = f.TUN, f.DNS, pkg.routes
	return cfg, nil
}

// loadIdentity reads the client certificate and key: PEM files or a PKCS#12 bundle.
func loadIdentity(f connectFile) (ike.Identity, error) {
	var id ike.Identity
	switch {
	case f.P12 != "":
		data, err := os.ReadFile(f.P12)
		if err != nil {
			return id, err
		}
		var password string
		if f.P12PasswordFile != "" {
			b, err := os.ReadFile(f.P12PasswordFile)
			if err != nil {
				return id, err
			}
			password = strings.TrimRight(string(b), "\r\n")
		}
		key, cert, chain, err := pkcs12.DecodeChain(data, password)
		if err != nil {
			return id, fmt.Errorf("%s: %w (wrong --p12-password-file?)", f.P12, err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return id, fmt.Errorf("%s: the key cannot sign", f.P12)
		}
		return ike.Identity{Chain: append([]*x509.Certificate{cert}, chain...), Key: signer}, nil
	case f.Certificate != "" && f.Key != "":
		chain, err := readChain(f.Certificate)
		if err != nil {
			return id, err
		}
		keyPEM, err := os.ReadFile(f.Key)
		if err != nil {
			return id, err
		}
		key, err := pki.ParsePrivateKey(keyPEM)
		if err != nil {
			return id, fmt.Errorf("%s: %w", f.Key, err)
		}
		if !pki.KeyMatches(chain[0], key) {
			return id, fmt.Errorf("%s is not the key of %s", f.Key, f.Certificate)
		}
		return ike.Identity{Chain: chain, Key: key}, nil
	}
	return id, usagef("no client certificate: give --cert and --key, or --p12 (from p2sgw pki issue-client)")
}

// readChain reads a PEM file of certificates, the client's first.
func readChain(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var chain []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		c, err := pki.ReadCertificate(path) // DER
		if err != nil {
			return nil, err
		}
		chain = append(chain, c)
	}
	return chain, nil
}

func orStr(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// printConnectStatus shows the status file of a running p2sgw connect.
func printConnectStatus(env *cmdEnv, path string, asJSON bool) error {
	st, err := vpnclient.ReadStatus(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no p2sgw connect is running for this TUN (%s does not exist)", path)
	}
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	w := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "State:\t%s\n", st.State)
	fmt.Fprintf(w, "Server:\t%s\n", st.Server)
	fmt.Fprintf(w, "TUN:\t%s\n", st.TUN)
	if st.State == "connected" {
		fmt.Fprintf(w, "VPN address:\t%s\n", st.VPNAddress)
		fmt.Fprintf(w, "Routes:\t%s\n", strings.Join(st.Routes, ", "))
		fmt.Fprintf(w, "DNS servers:\t%s\n", strings.Join(st.DNSServers, ", "))
		fmt.Fprintf(w, "Local address:\t%s\n", st.LocalAddress)
		fmt.Fprintf(w, "Connected for:\t%s\n", time.Since(st.ConnectedSince).Round(time.Second))
	}
	fmt.Fprintf(w, "Traffic:\t%d bytes in, %d bytes out\n", st.IngressBytes, st.EgressBytes)
	fmt.Fprintf(w, "Reconnects:\t%d\n", st.Reconnects)
	if st.LastError != "" {
		fmt.Fprintf(w, "Last error:\t%s\n", st.LastError)
	}
	return w.Flush()
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/p2sgw/p2sgw/config"
	"github.com/p2sgw/p2sgw/internal/atomicfile"
	"github.com/p2sgw/p2sgw/pki"
)

// runInit implements `p2sgw init`: it writes a gateway.yaml that works as written, the server
// CA ("VpnServerRoot") and the gateway's server certificate.
func runInit(_ context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "init", "")
	dir := fs.String("dir", "/etc/p2sgw", "directory for gateway.yaml and pki/")
	name := fs.String("name", "p2sgw", "the gateway's name")
	public := fs.String("public-address", "", "the FQDN or IP address clients connect to (required)")
	var pools, vnets, dns, tunnels, auths, radiusServers, radiusSecrets listFlag
	fs.Var(&pools, "pool", "client address pool CIDR, e.g. 172.16.201.0/24 (required; comma list or repeated)")
	fs.Var(&vnets, "vnet", "VNet address space CIDR(s) clients reach (required; comma list or repeated)")
	fs.Var(&dns, "dns", "DNS server(s) pushed to clients (comma list or repeated)")
	fs.Var(&tunnels, "tunnel-types", "ikev2, sstp, openvpn (comma list; default ikev2,sstp)")
	fs.Var(&auths, "auth", "certificate, radius (comma list; default certificate)")
	fs.Var(&radiusServers, "radius-server", "with --auth radius: a RADIUS server HOST[:PORT] (port 1812 by default; repeat for failover, tried in order)")
	fs.Var(&radiusSecrets, "radius-secret-file", "the shared secret's file (mode 0600) for each --radius-server, in order; one file serves them all")
	sku := fs.String("sku", config.DefaultSKU, "gateway SKU: "+strings.Join(config.SKUNames(), ", "))
	maxConns := fs.Int("max-connections", 0, "with --sku Custom: the most connections at once")
	maxMbps := fs.Int("max-mbps", 0, "with --sku Custom: throughput limit in Mbit/s, each direction, all clients together (0: unshaped)")
	stateDir := fs.String("state-dir", config.DefaultStateDir, "directory for the state database")
	socket := fs.String("socket", config.DefaultSocket, "the admin API's unix socket")
	force := fs.Bool("force", false, "replace an existing gateway.yaml and server certificate")
	keyName := fs.String("key", string(pki.DefaultKeyType), "key type of the server CA and certificate: "+pkiKeyTypeList())
	metricsListen := fs.String("metrics-listen", "", "serve Prometheus /metrics and /healthz in plain HTTP on HOST:PORT (default: only on the admin listeners)")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	if *public == "" || len(pools) == 0 || len(vnets) == 0 {
		return usagef("--public-address, --pool and --vnet are required, e.g.\n  p2sgw init --public-address vpn.example.com --pool 172.16.201.0/24 --vnet 10.1.0.0/16")
	}
	cfg, err := initConfig(*name, *public, pools, vnets, dns, tunnels, auths, *sku, *maxConns, *maxMbps)
	if err != nil {
		return err
	}
	if cfg.RADIUS, err = initRADIUS(auths, radiusServers, radiusSecrets); err != nil {
		return err
	}
	cfg.MetricsListen = *metricsListen
	if cfg.StateDir, err = filepath.Abs(*stateDir); err != nil {
		return err
	}
	if cfg.Admin.Socket, err = filepath.Abs(*socket); err != nil {
		return err
	}

	yamlPath := filepath.Join(*dir, "gateway.yaml")
	if _, err := os.Stat(yamlPath); err == nil && !*force {
		return fmt.Errorf("%s exists already: use --force to replace it (and the server certificate)", yamlPath)
	}
	pkiDir := filepath.Join(*dir, "pki")
	if err := os.MkdirAll(pkiDir, 0o755); err != nil {
		return err
	}
	cfg.ServerCertificate = filepath.Join("pki", "server.crt")
	cfg.ServerKey = filepath.Join("pki", "server.key")
	cfg.ServerRoot = filepath.Join("pki", "server-root.crt")
	kt, err := pki.ParseKeyType(*keyName)
	if err != nil {
		return usagef("--key: %v", err)
	}
	if err := initServerPKI(pkiDir, *name, *public, kt, *force); err != nil {
		return err
	}
	// Refuse to write a file that would not load: the rules live in one place. Then nothing
	// of this run stays behind, so the next try needs no --force.
	data, err := config.Render(cfg)
	if err == nil {
		_, err = config.Parse(data, *dir)
	}
	if err != nil {
		for _, f := range []string{"server-root.crt", "server-root.cer", "server-root.key", "server.crt", "server.key"} {
			os.Remove(filepath.Join(pkiDir, f))
		}
		return err
	}
	if err := atomicfile.Write(yamlPath, data, 0o644); err != nil {
		return err
	}
	printInitNext(env, *dir, yamlPath, cfg)
	return nil
}

func initConfig(name, public string, pools, vnets, dns, tunnels, auths []string, sku string, maxConns, maxMbps int) (*config.Config, error) {
	cfg := &config.Config{Name: name, SKU: sku, PublicAddress: public, TunnelTypes: tunnels, AuthTypes: auths}
	for _, s := range pools {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, usagef("--pool %q is not a CIDR prefix like 172.16.201.0/24", s)
		}
		cfg.ClientAddressPools = append(cfg.ClientAddressPools, p)
	}
	for _, s := range vnets {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, usagef("--vnet %q is not a CIDR prefix like 10.1.0.0/16", s)
		}
		cfg.VNetAddressSpace = append(cfg.VNetAddressSpace, p)
	}
	for _, s := range dns {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, usagef("--dns %q is not an IP address", s)
		}
		cfg.DNSServers = append(cfg.DNSServers, a)
	}
	if strings.EqualFold(sku, "Custom") {
		if maxConns <= 0 {
			return nil, usagef("--sku Custom needs --max-connections N")
		}
		cfg.Limits = &config.Limits{MaxConnections: maxConns, MaxMbps: maxMbps}
	} else if maxConns != 0 || maxMbps != 0 {
		return nil, usagef("--max-connections and --max-mbps go with --sku Custom; SKU %s has fixed limits", sku)
	}
	cfg.ApplyDefaults()
	return cfg, nil
}

// initRADIUS is the radius section from the --radius-* flags: servers in failover order, each
// with its secret file (one file may serve all).
func initRADIUS(auths, servers, secrets []string) (*config.RADIUS, error) {
	if !slices.Contains(auths, config.AuthRADIUS) {
		if len(servers) > 0 || len(secrets) > 0 {
			return nil, usagef("--radius-server and --radius-secret-file go with --auth radius (or --auth certificate,radius)")
		}
		return nil, nil
	}
	switch {
	case len(servers) == 0:
		return nil, usagef("--auth radius needs at least one --radius-server HOST[:PORT] and its --radius-secret-file FILE")
	case len(secrets) == 0:
		return nil, usagef("--radius-server needs --radius-secret-file FILE: a file (mode 0600) holding the shared secret")
	case len(secrets) != 1 && len(secrets) != len(servers):
		return nil, usagef("%d --radius-secret-file for %d --radius-server: give one per server, in the same order, or one for all", len(secrets), len(servers))
	}
	r := &config.RADIUS{}
	for i, addr := range servers {
		secret := secrets[0]
		if len(secrets) > 1 {
			secret = secrets[i]
		}
		abs, err := filepath.Abs(secret)
		if err != nil {
			return nil, err
		}
		r.Servers = append(r.Servers, config.RADIUSServer{Address: addr, SecretFile: abs, Priority: i})
	}
	return r, nil
}

// initServerPKI creates the server CA and the gateway's server certificate for public, unless
// they exist and force is off (then the existing ones are kept, so init can be re-run to
// rewrite only the configuration... but only with --force, checked by the caller).
func initServerPKI(dir, name, public string, kt pki.KeyType, force bool) error {
	keyPath := filepath.Join(dir, "server-root.key")
	if _, err := os.Stat(keyPath); err == nil && !force {
		return fmt.Errorf("%s exists already: use --force to replace the server CA", keyPath)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	ca, err := pki.NewRoot(name+" VPN server root", pki.Options{Key: kt})
	if err != nil {
		return err
	}
	if err := ca.WriteFiles(dir, "server-root"); err != nil {
		return err
	}
	var dnsNames []string
	var ips []netip.Addr
	if a, err := netip.ParseAddr(public); err == nil {
		ips = append(ips, a)
	} else {
		dnsNames = append(dnsNames, public)
	}
	cert, err := ca.IssueServer(dnsNames, ips, pki.Options{Key: kt})
	if err != nil {
		return err
	}
	return cert.WriteFiles(dir, "server")
}

func printInitNext(env *cmdEnv, dir, yamlPath string, cfg *config.Config) {
	w := env.stdout
	sock := ""
	if cfg.Admin.Socket != config.DefaultSocket {
		sock = " --socket " + cfg.Admin.Socket
	}
	fmt.Fprintf(w, "Wrote %s\n", yamlPath)
	fmt.Fprintf(w, "Wrote %s/pki/server-root.{crt,cer,key}: the VPN server root that clients trust\n", dir)
	fmt.Fprintf(w, "Wrote %s/pki/server.{crt,key}: the gateway's certificate for %s\n", dir, cfg.PublicAddress)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Next steps:")
	fmt.Fprintf(w, "  1. Start the gateway:                 p2sgw serve --config %s\n", yamlPath)
	fmt.Fprintln(w, "  2. Create a root for client certificates (or use your enterprise CA):")
	fmt.Fprintln(w, "                                         p2sgw pki create-root --cn P2SRootCert --out ./client-root")
	fmt.Fprintf(w, "  3. Upload its public key:             p2sgw root-cert add%s --name P2SRootCert --file ./client-root/root.cer\n", sock)
	fmt.Fprintln(w, "  4. Issue a certificate per user:     p2sgw pki issue-client --root ./client-root --cn alice@example.com --out ./alice")
	fmt.Fprintf(w, "  5. Check the gateway:                 p2sgw status%s\n", sock)
}

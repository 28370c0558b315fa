package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"

	"github.com/p2sgw/p2sgw/ike/transform"
	"github.com/p2sgw/p2sgw/internal/loadgen"
	"github.com/p2sgw/p2sgw/pki"
)

// benchGroups are the key exchanges `p2sgw bench ikev2 --group` takes.
var benchGroups = map[string]transform.DHGroup{
	"x25519": transform.DHCurve25519, "ecp256": transform.DHECP256, "ecp384": transform.DHECP384, "modp2048": transform.DHMODP2048,
}

// runBenchIKEv2 implements `p2sgw bench ikev2`: the IKEv2 load generator (internal/loadgen).
func runBenchIKEv2(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "bench ikev2", "")
	gateway := fs.String("gateway", "", "the gateway's IPv4 address (required)")
	ikePort := fs.Uint("ike-port", 500, "the gateway's IKE port")
	nattPort := fs.Uint("natt-port", 4500, "the gateway's NAT-T port (IKE_AUTH and ESP go there)")
	serverName := fs.String("server-name", "", "the identity the gateway's certificate carries, its public address (required)")
	serverCA := fs.String("server-ca", "", "the root of the gateway's certificate, PEM or DER (required; p2sgw init writes pki/server-root.crt)")
	root := fs.String("root", "", "directory with the client root's root.crt and root.key, as p2sgw pki create-root writes them (required): client certificates are minted from it")
	certs := fs.Int("certs", 100, "distinct client certificates (ECDSA P-256) to mint, used round-robin; 0: one per session")
	var sources listFlag
	fs.Var(&sources, "sources", "source addresses, one socket each: addresses, ranges (198.18.2.1-198.18.9.254) or prefixes (comma list or repeated; default: one socket on any address)")
	sessions := fs.Int("sessions", 100, "sessions to open")
	concurrency := fs.Int("concurrency", loadgen.DefaultConcurrency, "handshakes in flight at most")
	perSource := fs.Int("per-source", loadgen.DefaultPerSource, "handshakes in flight per source address at most (the gateway drops a 6th half-open SA of one address)")
	rate := fs.Float64("rate", 0, "handshakes started per second at most (0: as many as --concurrency allows)")
	group := fs.String("group", "x25519", "key exchange: x25519, ecp256, ecp384 or modp2048")
	traffic := fs.Int("traffic", 0, "ICMP echo requests each session sends through its tunnel after the ramp (0: none)")
	trafficTo := fs.String("traffic-to", "", "the address the echo requests go to, in the VNet (required with --traffic)")
	hold := fs.Duration("hold", 0, "keep the sessions open this long after the ramp, answering the gateway's liveness checks")
	teardown := fs.Bool("teardown", true, "delete the sessions at the end")
	jsonOut := fs.Bool("json", false, "print the report as JSON")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	if *traffic > 0 && *trafficTo == "" {
		return usagef("--traffic needs --traffic-to, an address in the VNet that answers ping")
	}
	cfg, err := benchConfig(*gateway, *serverName, *serverCA, *root, *group, sources, *trafficTo, *sessions, *certs)
	if err != nil {
		return err
	}
	if *ikePort == 0 || *ikePort > 65535 || *nattPort == 0 || *nattPort > 65535 {
		return usagef("--ike-port and --natt-port are UDP ports, 1 to 65535")
	}
	cfg.IKEPort, cfg.NATTPort = uint16(*ikePort), uint16(*nattPort)
	cfg.Sessions, cfg.Concurrency, cfg.PerSource, cfg.Rate = *sessions, *concurrency, *perSource, *rate
	cfg.Traffic, cfg.Hold, cfg.Teardown = *traffic, *hold, *teardown
	if !*quiet {
		cfg.Progress = func(p loadgen.Progress) {
			fmt.Fprintf(env.stderr, "%s %3.0fs: %d up, %d failed, %d in flight, %d liveness checks answered\n",
				p.Phase, p.Elapsed.Seconds(), p.Established, p.Failed, p.InFlight, p.Liveness)
		}
	}
	r, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if *jsonOut {
		if err := printJSON(env.stdout, r); err != nil {
			return err
		}
	} else {
		r.WriteText(env.stdout)
	}
	if r.Established < r.Sessions {
		return fmt.Errorf("%d of %d sessions did not come up", r.Sessions-r.Established, r.Sessions)
	}
	return nil
}

// benchConfig checks the flags that need reading or parsing and mints the client certificates.
func benchConfig(gateway, serverName, serverCA, root, group string, sources []string, trafficTo string, sessions, certs int) (loadgen.Config, error) {
	var cfg loadgen.Config
	if gateway == "" || serverName == "" || serverCA == "" || root == "" {
		return cfg, usagef("--gateway, --server-name, --server-ca and --root are required, e.g.\n" +
			"  p2sgw bench ikev2 --gateway 198.18.0.1 --server-name vpn.example.com --server-ca /etc/p2sgw/pki/server-root.crt --root ./client-root --sessions 1000")
	}
	gw, err := netip.ParseAddr(gateway)
	if err != nil || !gw.Is4() {
		return cfg, usagef("--gateway %q is not an IPv4 address", gateway)
	}
	g, ok := benchGroups[strings.ToLower(group)]
	if !ok {
		return cfg, usagef("--group %q: use x25519, ecp256, ecp384 or modp2048", group)
	}
	srcs, err := loadgen.ParseSources(sources...)
	if err != nil {
		return cfg, usagef("--sources: %v", err)
	}
	if trafficTo != "" {
		if cfg.TrafficTo, err = netip.ParseAddr(trafficTo); err != nil {
			return cfg, usagef("--traffic-to %q is not an IP address", trafficTo)
		}
	}
	if sessions < 1 || certs < 0 {
		return cfg, usagef("--sessions must be at least 1 and --certs at least 0")
	}
	ca, err := pki.ReadCertificate(serverCA)
	if err != nil {
		return cfg, fmt.Errorf("--server-ca: %w", err)
	}
	clientRoot, err := pki.LoadCA(filepath.Join(root, "root.crt"), filepath.Join(root, "root.key"))
	if err != nil {
		return cfg, fmt.Errorf("--root: %w", err)
	}
	if certs == 0 || certs > sessions {
		certs = sessions
	}
	ids, err := loadgen.MintIdentities(clientRoot, certs, "loadgen")
	if err != nil {
		return cfg, err
	}
	cfg.Roots = x509.NewCertPool()
	cfg.Roots.AddCert(ca)
	cfg.Gateway, cfg.ServerName, cfg.Group, cfg.Sources, cfg.Identities = gw, serverName, g, srcs, ids
	return cfg, nil
}

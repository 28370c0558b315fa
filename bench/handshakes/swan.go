package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/p2sgw/p2sgw/internal/testnet"
)

// swanLimits are the DoS settings of charon, set explicitly. cookie_threshold and
// block_threshold are strongSwan's defaults and equal to p2sgw's fixed limits (cookies once 10
// SAs are half-open, 5 half-open SAs per source address), so both responders defend the same
// way; init_limit_half_open and init_limit_job_load stay off (0, the default), so nothing
// drops requests that p2sgw would take. The IKE_SA table is sized as strongSwan's lookup
// tuning guide suggests for tens of thousands of SAs (the default is a single bucket).
var swanLimits = []string{
	"cookie_threshold = 10",
	"block_threshold = 5",
	"init_limit_half_open = 0",
	"init_limit_job_load = 0",
	"ikesa_table_size = 4096",
	"ikesa_table_segments = 16",
}

// swanResponder is charon (Debian's charon-systemd, kernel-libipsec) as the responder in the
// gateway namespace, with the gateway's certificate, the same client root and pool, and the
// proposals the generator offers.
type swanResponder struct {
	proc *testnet.Process
	dir  string
	conf string
	uri  string
}

// startSwan starts charon with the credentials of p2sgw's gateway directory gwDir (its
// pki/server.crt, server.key and server-root.crt) and the client root clientRoot.
func startSwan(t *benchT, ns *testnet.Namespace, dir, gwDir, clientRoot, serverName string) *swanResponder {
	for _, d := range []string{"x509", "x509ca", "private"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, filepath.Join(gwDir, "pki", "server.crt"), filepath.Join(dir, "x509", "server.crt"))
	copyFile(t, filepath.Join(gwDir, "pki", "server-root.crt"), filepath.Join(dir, "x509ca", "server-root.crt"))
	copyFile(t, filepath.Join(gwDir, "pki", "server.key"), filepath.Join(dir, "private", "server.key"))
	copyFile(t, filepath.Join(clientRoot, "root.crt"), filepath.Join(dir, "x509ca", "client-root.crt"))
	s := &swanResponder{dir: dir, conf: filepath.Join(dir, "strongswan.conf"), uri: "unix://" + filepath.Join(dir, "charon.vici")}
	writeFile(t, s.conf, s.strongswanConf())
	writeFile(t, filepath.Join(dir, "swanctl.conf"), swanctlConf(serverName))
	cmd := ns.Command(context.Background(), "charon-systemd")
	cmd.Env = append(os.Environ(), "STRONGSWAN_CONF="+s.conf)
	s.proc = ns.StartCmd(t, cmd)
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := s.swanctl(ns, "--stats"); err == nil {
			break
		}
		select {
		case <-s.proc.Exited():
			t.Fatalf("charon exited at start:\n%s", s.proc.Output())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("charon's vici socket did not answer within 15 s")
		}
	}
	if out, err := s.swanctl(ns, "--load-all", "--noprompt", "--file", filepath.Join(dir, "swanctl.conf")); err != nil {
		t.Fatalf("swanctl --load-all: %v\n%s", err, out)
	}
	return s
}

// strongswanConf is Debian's plugin set with kernel-libipsec (the host has no XFRM ESP),
// logging at level 0 (a line or two per SA, as p2sgw's one "client connected" line), and the
// limits above.
func (s *swanResponder) strongswanConf() string {
	return fmt.Sprintf(`charon-systemd {
	journal {
		default = -1
	}
	filelog {
		charon {
			path = %s
			default = 0
			append = no
		}
	}
}
charon {
	load_modular = yes
	%s
	plugins {
		include /etc/strongswan.d/charon/*.conf
		kernel-libipsec {
			load = yes
		}
		kernel-netlink {
			load = yes
		}
		vici {
			socket = %s
		}
	}
}
`, filepath.Join(s.dir, "charon.log"), strings.Join(swanLimits, "\n\t"), s.uri)
}

// swanctlConf is the responder's connection: certificate authentication both ways, the
// gateway's proposals for the generator's suites, a virtual IP from a pool, the VNet as
// local_ts. unique = never because the generator reuses its client certificates (p2sgw does
// not replace sessions of one identity either); send_cert = always because our initiator sends
// no CERTREQ.
func swanctlConf(serverName string) string {
	return `connections {
	rw {
		version = 2
		local_addrs = ` + testnet.GatewayAddr.String() + `
		proposals = aes256gcm16-prfsha256-x25519,aes256gcm16-prfsha256-ecp256
		pools = rwpool
		unique = never
		send_cert = always
		local {
			auth = pubkey
			certs = server.crt
			id = ` + serverName + `
		}
		remote {
			auth = pubkey
			cacerts = client-root.crt
		}
		children {
			net {
				local_ts = ` + testnet.VNetPrefix.String() + `
				esp_proposals = aes256gcm16
			}
		}
	}
}
pools {
	rwpool {
		addrs = 100.64.0.0/16
	}
}
`
}

func (s *swanResponder) swanctl(ns *testnet.Namespace, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := ns.Command(ctx, "swanctl", append(args, "--uri", s.uri)...)
	cmd.Env = append(os.Environ(), "STRONGSWAN_CONF="+s.conf, "SWANCTL_DIR="+s.dir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func copyFile(t *benchT, from, to string) {
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(b))
}

func writeFile(t *benchT, path, data string) {
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

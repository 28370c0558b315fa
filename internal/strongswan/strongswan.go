// Package strongswan runs strongSwan (Debian's charon-systemd with the kernel-libipsec
// plugin, driven by swanctl) as a real IKEv2 client inside a test namespace. Each Client is
// its own charon with its own configuration, vici socket and log, so several can run at once
// in different namespaces.
//
// It is for tests and the demo only: it writes everything under a directory it is given and
// never touches /etc.
package strongswan

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/p2sgw/p2sgw/internal/testnet"
)

// Tools are the commands a Client needs, for testnet.Require.
var Tools = []string{"charon-systemd", "swanctl"}

// Packages are the Debian packages that provide them (and the plugins used).
var Packages = []string{"charon-systemd", "strongswan-swanctl", "libcharon-extra-plugins",
	"libcharon-extauth-plugins", "libstrongswan-standard-plugins", "libstrongswan-extra-plugins"}

// Auth is how the client authenticates.
type Auth string

// Client authentication methods.
const (
	AuthPubkey      Auth = "pubkey"       // IKEv2 certificate (signature) authentication
	AuthEAPMSCHAPv2 Auth = "eap-mschapv2" // user name and password, relayed to RADIUS
	AuthEAPTLS      Auth = "eap-tls"      // client certificate inside EAP
)

// Conn is one connection to load into a client.
type Conn struct {
	Name      string     // connection (and IKE SA) name; the child is named Name too
	Gateway   netip.Addr // the gateway's address
	RemoteID  string     // the identity the gateway's certificate must carry
	CACertPEM []byte     // the root that signed the gateway's certificate (VpnServerRoot)
	Auth      Auth
	LocalID   string // identity (certificate auth) or EAP identity
	CertPEM   []byte // the client certificate (and chain), for pubkey and eap-tls
	KeyPEM    []byte // its private key
	Password  string // for eap-mschapv2
	// AAAID and AAACACertPEM are for EAP-TLS that the gateway relays to a RADIUS server: the
	// identity in the RADIUS server's TLS certificate (local aaa_id) and the root it chains to.
	AAAID        string
	AAACACertPEM []byte
	RemoteTS     []netip.Prefix
	// Proposals and ESPProposals in strongSwan syntax; empty means strongSwan's defaults.
	Proposals    string
	ESPProposals string
	// RekeyTime, if set, is the CHILD SA's rekey_time (e.g. "4s"), to test rekeying.
	RekeyTime string
	// IKERekeyTime, if set, is the IKE SA's rekey_time, to test IKE SA rekeying.
	IKERekeyTime string
}

// Client is a running charon.
type Client struct {
	ns   *testnet.Namespace
	dir  string
	conf string // strongswan.conf path
	uri  string // vici socket URI
	proc *testnet.Process
	log  string
}

// Start writes a strongswan.conf under dir and starts charon in ns. It waits until charon
// answers on its vici socket; the process is stopped when the test or the topology ends.
func Start(t testnet.T, ns *testnet.Namespace, dir string) *Client {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	c := &Client{
		ns:   ns,
		dir:  dir,
		conf: filepath.Join(dir, "strongswan.conf"),
		uri:  "unix://" + filepath.Join(dir, "charon.vici"),
		log:  filepath.Join(dir, "charon.log"),
	}
	if err := os.WriteFile(c.conf, []byte(c.strongswanConf()), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := ns.Command(context.Background(), "charon-systemd")
	cmd.Env = append(os.Environ(), "STRONGSWAN_CONF="+c.conf)
	c.proc = ns.StartCmd(t, cmd)
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := c.swanctl(context.Background(), "--stats"); err == nil {
			return c
		}
		select {
		case <-c.proc.Exited():
			t.Fatalf("strongswan: charon exited at start:\n%s", c.Log())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("strongswan: charon's vici socket did not answer within 15s:\n%s", c.Log())
		}
	}
}

// strongswanConf loads Debian's plugin set, turns kernel-libipsec on (the host has no XFRM
// ESP; in 5.9.8 it always encapsulates ESP in UDP), and keeps the vici socket and the log in
// the client's directory.
func (c *Client) strongswanConf() string {
	return fmt.Sprintf(`charon-systemd {
	journal {
		default = -1
	}
	filelog {
		charon {
			path = %s
			default = 1
			ike = 2
			cfg = 2
			knl = 1
			append = no
			flush_line = yes
		}
	}
}
charon {
	load_modular = yes
	install_virtual_ip = yes
	retransmit_tries = 3
	retransmit_timeout = 1.0
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
		resolve {
			file = %s
			resolvconf {
				iface = p2sgw-test
			}
		}
	}
}
`, c.log, c.uri, c.resolvConf())
}

// Load writes the connection's credentials and swanctl configuration and loads them. The
// credentials go where swanctl looks for them, under a directory of the connection's own
// (SWANCTL_DIR): x509ca/ (the gateway's root), x509/ (the client certificate), private/
// (its key).
func (c *Client) Load(ctx context.Context, conn Conn) error {
	dir := filepath.Join(c.dir, conn.Name)
	files := map[string][]byte{
		filepath.Join("x509ca", "ca.pem"):   conn.CACertPEM,
		filepath.Join("x509ca", "aaa.pem"):  conn.AAACACertPEM,
		filepath.Join("x509", "cert.pem"):   conn.CertPEM,
		filepath.Join("private", "key.pem"): conn.KeyPEM,
	}
	for name, data := range files {
		if len(data) == 0 {
			continue
		}
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return err
		}
	}
	path := filepath.Join(dir, "swanctl.conf")
	if err := os.WriteFile(path, []byte(swanctlConf(conn)), 0o600); err != nil {
		return err
	}
	_, err := c.swanctlIn(ctx, dir, "--load-all", "--noprompt", "--file", path)
	return err
}

// swanctlConf renders one connection, one setting per line (strongSwan ends a value at the
// newline).
func swanctlConf(c Conn) string {
	var b strings.Builder
	w := func(indent int, format string, a ...any) {
		b.WriteString(strings.Repeat("\t", indent))
		fmt.Fprintf(&b, format, a...)
		b.WriteByte('\n')
	}
	w(0, "connections {")
	w(1, "%s {", c.Name)
	w(2, "version = 2")
	w(2, "remote_addrs = %s", c.Gateway)
	w(2, "vips = 0.0.0.0")
	w(2, "encap = yes")
	w(2, "fragmentation = yes")
	if c.Proposals != "" {
		w(2, "proposals = %s", c.Proposals)
	}
	if c.IKERekeyTime != "" {
		w(2, "rekey_time = %s", c.IKERekeyTime)
		w(2, "over_time = 1h")
		w(2, "rand_time = 0")
	}
	w(2, "local {")
	w(3, "auth = %s", c.Auth)
	switch c.Auth {
	case AuthEAPMSCHAPv2:
		w(3, "eap_id = %s", c.LocalID)
	default:
		w(3, "certs = cert.pem")
		w(3, "id = %s", c.LocalID)
	}
	if c.AAAID != "" {
		w(3, "aaa_id = %s", c.AAAID)
	}
	w(2, "}")
	w(2, "remote {")
	w(3, "auth = pubkey")
	w(3, "id = %s", c.RemoteID)
	w(3, "cacerts = ca.pem")
	w(2, "}")
	w(2, "children {")
	w(3, "%s {", c.Name)
	var ts []string
	for _, p := range c.RemoteTS {
		ts = append(ts, p.String())
	}
	w(4, "remote_ts = %s", strings.Join(ts, ","))
	if c.ESPProposals != "" {
		w(4, "esp_proposals = %s", c.ESPProposals)
	}
	w(4, "start_action = none")
	if c.RekeyTime != "" {
		w(4, "rekey_time = %s", c.RekeyTime)
		w(4, "life_time = 1h")
		w(4, "rand_time = 0")
	}
	w(3, "}")
	w(2, "}")
	w(1, "}")
	w(0, "}")
	w(0, "secrets {")
	switch c.Auth {
	case AuthEAPMSCHAPv2:
		w(1, "eap-%s {", c.Name)
		w(2, "id = %s", c.LocalID)
		w(2, "secret = %q", c.Password)
		w(1, "}")
	}
	w(0, "}")
	return b.String()
}

// Initiate brings up the connection and its child, blocking until it is up or failed;
// it returns swanctl's log of the exchange.
func (c *Client) Initiate(ctx context.Context, name string) (string, error) {
	return c.InitiateChild(ctx, name, name)
}

// InitiateChild is Initiate for a child named otherwise than its connection.
func (c *Client) InitiateChild(ctx context.Context, ike, child string) (string, error) {
	return c.swanctl(ctx, "--initiate", "--ike", ike, "--child", child, "--timeout", "20")
}

// LoadDir loads a swanctl directory as a user would lay it out under /etc/swanctl (a
// swanctl.conf with x509ca/, x509/ and private/ beside it), untouched: for testing generated
// client configurations.
func (c *Client) LoadDir(ctx context.Context, dir string) (string, error) {
	return c.swanctlIn(ctx, dir, "--load-all", "--noprompt", "--file", filepath.Join(dir, "swanctl.conf"))
}

// Terminate ends the IKE SA of the connection.
func (c *Client) Terminate(ctx context.Context, name string) (string, error) {
	return c.swanctl(ctx, "--terminate", "--ike", name, "--timeout", "10")
}

// Kill ends charon with SIGKILL, as a crash or a lost network would: it tells the gateway
// nothing.
func (c *Client) Kill() error {
	return c.proc.Cmd.Process.Signal(syscall.SIGKILL)
}

// ListSAs returns swanctl --list-sas.
func (c *Client) ListSAs(ctx context.Context) (string, error) {
	return c.swanctl(ctx, "--list-sas")
}

// ListConns returns swanctl --list-conns.
func (c *Client) ListConns(ctx context.Context) (string, error) {
	return c.swanctl(ctx, "--list-conns")
}

// resolvConf is where charon's resolve plugin writes the DNS servers the gateway pushed —
// never the host's /etc/resolv.conf, which every namespace shares.
func (c *Client) resolvConf() string { return filepath.Join(c.dir, "resolv.conf") }

// DNSServers returns what charon's resolve plugin wrote: the DNS servers the gateway pushed.
func (c *Client) DNSServers() string {
	b, _ := os.ReadFile(c.resolvConf())
	return string(b)
}

// Log returns charon's log so far.
func (c *Client) Log() string {
	b, _ := os.ReadFile(c.log)
	return string(b)
}

// swanctl runs swanctl against this charon. Options follow the command (swanctl's rule).
func (c *Client) swanctl(ctx context.Context, args ...string) (string, error) {
	return c.swanctlIn(ctx, "", args...)
}

// swanctlIn runs swanctl with SWANCTL_DIR set to dir (unless empty).
func (c *Client) swanctlIn(ctx context.Context, dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := c.ns.Command(ctx, "swanctl", append(args, "--uri", c.uri)...)
	cmd.Env = append(os.Environ(), "STRONGSWAN_CONF="+c.conf)
	if dir != "" {
		cmd.Env = append(cmd.Env, "SWANCTL_DIR="+dir)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee interface{ ExitCode() int }
		if errors.As(err, &ee) {
			return string(out), fmt.Errorf("swanctl %s: exit %d: %s", args[0], ee.ExitCode(), strings.TrimSpace(string(out)))
		}
		return string(out), fmt.Errorf("swanctl %s: %w", args[0], err)
	}
	return string(out), nil
}

// Package sstpc runs Debian's SSTP client — sstpc 1.0.18 driving pppd 2.4.9 — as a real
// peer for end-to-end tests of the gateway's SSTP listener. The host kernel has no PPP, so
// the client runs inside User-Mode Linux: Debian's UML kernel loads its own ppp_generic and
// ppp_async, and its root is the host's filesystem (hostfs), mounted read-only, so that the
// guest runs the host's sstpc, pppd, ping and curl without writing to any host file.
//
// Run boots one guest in a client namespace, lets it connect, ping and fetch through the
// tunnel, and returns what the guest printed on its console; the guest then powers off.
// See network.go for how the guest reaches the gateway and guest.go for what it runs.
//
// It is for tests only. It is not an SSTP implementation and does not check what the server
// does beyond what sstpc and pppd themselves check.
package sstpc

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/p2sgw/p2sgw/internal/testnet"
)

// Tools are the commands Run needs, for testnet.Require: the UML kernel, the client, and
// nft for the guest's NAT in the client namespace. insmod, tc, ping and curl run inside the
// guest, from the host's filesystem.
var Tools = []string{"linux.uml", "sstpc", "pppd", "nft", "insmod", "tc", "ping", "curl"}

// Packages are the Debian packages that provide Tools.
var Packages = []string{"user-mode-linux", "ppp", "sstp-client", "nftables", "kmod", "iproute2", "iputils-ping", "curl"}

// Auth methods for Options.Auth. pppd refuses every other method, EAP included.
const (
	AuthMSCHAPv2 = "mschapv2"
	AuthPAP      = "pap"
)

// DefaultTimeout is Options.Timeout when it is zero.
const DefaultTimeout = 60 * time.Second

// Options say where the client connects and what it does once the tunnel is up.
type Options struct {
	Server         netip.AddrPort // the gateway's SSTP listener, e.g. 198.18.0.1:443
	User, Password string
	// Auth is AuthMSCHAPv2 or AuthPAP; empty means AuthMSCHAPv2, the Windows default.
	Auth string
	// Ping lists addresses to ping (3 echo requests each) through the tunnel.
	Ping []netip.Addr
	// Fetch lists http URLs to GET through the tunnel, one after the other.
	Fetch []string
	// CAFile, if set, is a PEM file whose CA must have signed the server certificate;
	// empty means sstpc only warns about certificate errors (--cert-warn).
	CAFile string
	// Timeout bounds the whole run, boot to power-off; 0 means DefaultTimeout.
	Timeout time.Duration
}

// Result is what happened in the guest, as it reported on its console.
type Result struct {
	Connected bool       // ppp0 came up with an IPv4 address
	Addr      netip.Addr // ppp0's address; the zero Addr unless Connected
	// Pings says for each address of Options.Ping whether at least one echo reply came
	// back. An address the guest never got to (no tunnel, timeout) is absent.
	Pings map[netip.Addr]bool
	// Fetches has an entry for each URL of Options.Fetch that the guest tried.
	Fetches map[string]Fetch
	// Retries counts the times the guest restarted sstpc after it lost its start-up race
	// (see guestScript).
	Retries int
	// TimedOut says the guest did not finish within Options.Timeout and was killed.
	TimedOut bool
	// Log is the guest's whole console: kernel messages, sstpc's and pppd's logs and the
	// guest's own result lines. Put it in failure messages.
	Log string
}

// Fetch is the outcome of one GET through the tunnel.
type Fetch struct {
	Size   int64  // bytes in the body
	SHA256 string // of the body, lower-case hex
	Err    string // curl's error, empty on success (any HTTP status counts as success)
}

// guestMem is the guest's memory: enough for sstpc, pppd and curl, and only touched pages
// of the host file backing it are allocated.
const guestMem = "256M"

// Run boots a guest in ns, which must be a namespace from testnet.New with its uplink on
// the test internet (a client namespace), and waits until the guest has powered off or
// opts.Timeout has passed; then it kills the guest. It calls t.Fatal if the options are
// invalid or the guest cannot be started. A connection the server refuses is not an error:
// Connected is false and Log says why (pppd's "MS-CHAP authentication failed", sstpc's
// errors). Everything Run adds to ns is removed before it returns. Runs in different
// namespaces may go on concurrently; in one namespace, at most 64 at once.
func Run(t testnet.T, ns *testnet.Namespace, opts Options) Result {
	t.Helper()
	if err := opts.check(); err != nil {
		t.Fatal(err)
	}
	timeout := opts.timeout()
	dir := t.TempDir()
	g, err := attach(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := g.detach(); err != nil {
			t.Error(err)
		}
	}()
	script := filepath.Join(dir, "init")
	if err := os.WriteFile(script, []byte(guestScript(opts, g, timeout)), 0o700); err != nil {
		t.Fatal(err)
	}
	p := ns.StartCmd(t, umlCommand(ns, g, script, dir))
	var res Result
	select {
	case <-p.Exited():
	case <-time.After(timeout):
		res.TimedOut = true
	}
	if err := p.Stop(); err != nil {
		t.Error(err)
	}
	// sstpc ends each log line with a NUL; the console ends lines with CR LF.
	res.Log = strings.NewReplacer("\x00", "", "\r\n", "\n").Replace(p.Output())
	if res.TimedOut {
		res.Log += fmt.Sprintf("\nsstpc: the guest did not finish within %v and was killed\n", timeout)
	}
	parseConsole(&res, opts)
	if res.Retries > 0 {
		t.Logf("sstpc: restarted sstpc %d times after its start-up race", res.Retries)
	}
	return res
}

// umlCommand boots the UML kernel with the host's / as a read-only hostfs root, script as
// init, g's tap as eth0, and console 0 writing to the process's stdout (the other consoles
// and serial lines are off, so UML opens no host terminals). UML keeps its per-instance
// directory (uml_dir) in dir; its memory file is an unlinked file in /dev/shm.
func umlCommand(ns *testnet.Namespace, g *guestNet, script, dir string) *exec.Cmd {
	cmd := ns.Command(context.Background(), "linux.uml",
		"mem="+guestMem,
		"root=/dev/root", "rootfstype=hostfs", "rootflags=/", "ro",
		"init="+script,
		"eth0=tuntap,"+g.tap,
		"con=null", "ssl=null", "con0=null,fd:1",
		"uml_dir="+dir,
		"quiet",
	)
	return cmd
}

func (o Options) check() error {
	switch {
	case !o.Server.IsValid() || !o.Server.Addr().Is4():
		return fmt.Errorf("sstpc: Options.Server %v is not an IPv4 address and port", o.Server)
	case o.User == "":
		return fmt.Errorf("sstpc: Options.User is empty")
	case o.Auth != "" && o.Auth != AuthMSCHAPv2 && o.Auth != AuthPAP:
		return fmt.Errorf("sstpc: Options.Auth is %q, want %q or %q", o.Auth, AuthMSCHAPv2, AuthPAP)
	case o.Timeout < 0:
		return fmt.Errorf("sstpc: Options.Timeout is negative")
	}
	for _, a := range o.Ping {
		if !a.Is4() {
			return fmt.Errorf("sstpc: Options.Ping has %v, want IPv4 addresses", a)
		}
	}
	for _, u := range o.Fetch {
		if !strings.HasPrefix(u, "http://") || strings.ContainsAny(u, "\n\r") {
			return fmt.Errorf("sstpc: Options.Fetch has %q, want an http:// URL", u)
		}
	}
	if o.CAFile != "" {
		if _, err := os.ReadFile(o.CAFile); err != nil {
			return fmt.Errorf("sstpc: Options.CAFile: %w", err)
		}
	}
	return nil
}

func (o Options) timeout() time.Duration {
	if o.Timeout == 0 {
		return DefaultTimeout
	}
	return o.Timeout
}

func (o Options) auth() string {
	if o.Auth == "" {
		return AuthMSCHAPv2
	}
	return o.Auth
}

// seconds renders d in whole seconds, at least 1.
func seconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(d/time.Second)))
}

// Package freeradius runs Debian's FreeRADIUS 3.2 as a real RADIUS server inside a test
// namespace, normally the VNet host (testnet.Topology.VNet), for end-to-end tests of the
// gateway's RADIUS client: PAP, MS-CHAPv2 and EAP (MSCHAPv2, TLS, PEAP, TTLS) authentication,
// and accounting that a test reads back (Server.AcctRecords).
//
// Each Server is its own freeradius process with its own configuration directory under the
// test's temporary directory, made from a copy of Debian's /etc/freeradius/3.0 with the
// listeners, clients, users, EAP certificates and the detail file replaced (see config.go).
// It listens on exactly two UDP ports (auth and accounting) of one address and nowhere else,
// so several servers can run at once in one namespace — for failover tests, on other ports
// of the same address or on another address, which Start adds to the namespace's link.
//
// Every Access-Accept, Access-Reject and Access-Challenge it sends carries a
// Message-Authenticator, for PAP too: FreeRADIUS 3.2.1 has no setting for that (its
// Blast-RADIUS changes came in 3.2.5), so the configuration adds the attribute to every
// reply itself.
//
// It is for tests only: it never touches /etc or the system's freeradius service.
package freeradius

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/p2sgw/p2sgw/internal/testnet"
	"github.com/p2sgw/p2sgw/pki"
)

// Tools are the commands a Server and its tests need, for testnet.Require.
var Tools = []string{"freeradius", "radclient"}

// Packages are the Debian packages that provide them.
var Packages = []string{"freeradius", "freeradius-utils"}

// Default ports (RFC 2865, RFC 2866).
const (
	DefaultAuthPort = 1812
	DefaultAcctPort = 1813
)

// DefaultServerName is the DNS name in the EAP server certificate unless
// Options.ServerName says otherwise.
const DefaultServerName = "radius.p2sgw.test"

// startTimeout bounds how long Start waits for FreeRADIUS to be ready.
const startTimeout = 15 * time.Second

// User is one entry of the users file.
type User struct {
	// Name is the User-Name (for EAP, the EAP identity the gateway copies into it).
	Name string
	// Password is the Cleartext-Password: enough for PAP, MS-CHAPv2, EAP-MSCHAPv2 and the
	// inner methods of PEAP and TTLS. Empty means no password: an entry for an EAP-TLS
	// identity that only carries reply attributes.
	Password string
	// Reply attributes of the Access-Accept, each sent only if set; never in an
	// Access-Challenge or Access-Reject.
	FramedIP       netip.Addr    // Framed-IP-Address
	SessionTimeout time.Duration // Session-Timeout, in whole seconds (at least one)
	Class          string        // Class
	// ReplyMessage is the Reply-Message, sent with EAP too, although Debian's configuration
	// drops it there (RFC 3579 §2.6.5 keeps EAP-Message and Reply-Message apart): a gateway
	// must not depend on one.
	ReplyMessage string
}

// Options configure a Server. The zero value is a server on the namespace's address and the
// standard ports that accepts the gateway's VNet address as its only client, with a random
// secret, no users and a CA of its own.
type Options struct {
	// Addr is the address to listen on; the zero Addr means the namespace's own (Addr of
	// the Namespace: testnet.VNetHostAddr for the VNet host). Start adds an address the
	// namespace lacks to its link as a /32.
	Addr netip.Addr
	// AuthPort and AcctPort are the UDP ports; 0 means DefaultAuthPort and DefaultAcctPort.
	// A second server on the same address needs two other ports.
	AuthPort, AcctPort int
	// Secret is the shared secret of every client; empty means a random one (Server.Secret).
	Secret string
	// Clients are the NAS addresses allowed to send requests; empty means the gateway's
	// VNet-side address, testnet.GatewayVNetAddr/32. Every client must send a
	// Message-Authenticator in each Access-Request (require_message_authenticator = yes).
	Clients []netip.Prefix
	// Users is the users file.
	Users []User
	// CA signs the EAP server certificate and the client certificates of IssueClient; nil
	// means a new root. Give servers that back each other up the same CA, so that one client
	// certificate works with both.
	CA *pki.CA
	// ServerName is the DNS name in the EAP server certificate, which EAP-TLS, PEAP and TTLS
	// peers check; empty means DefaultServerName. strongSwan expects the gateway's IKE
	// identity there unless its EAP round sets aaa_id: with CA set to the gateway's root and
	// ServerName to the gateway's identity, a client configured for the gateway alone accepts
	// FreeRADIUS.
	ServerName string
}

// Server is a running FreeRADIUS. Its methods may be called concurrently.
type Server struct {
	ns     *testnet.Namespace
	dir    string // configuration directory
	addr   netip.Addr
	auth   int // auth port
	acct   int // accounting port
	secret string
	ca     *pki.CA
	name   string // DNS name in the server certificate
	proc   *testnet.Process
}

// Start writes a configuration directory for opts under t.TempDir(), runs freeradius in ns
// in the foreground with debug output (-X), and returns once it is ready to process
// requests. The server is stopped when the test or the topology ends, and its output is
// shown if the test failed. Start calls t.Fatal if the server cannot be configured or does
// not start.
func Start(t testnet.T, ns *testnet.Namespace, opts Options) *Server {
	t.Helper()
	s, err := newServer(ns, opts)
	if err != nil {
		t.Fatal(err)
	}
	s.dir = t.TempDir()
	if err := s.writeConfig(opts.Users, opts.clients()); err != nil {
		t.Fatal(err)
	}
	if err := s.ensureAddr(); err != nil {
		t.Fatal(err)
	}
	s.proc = ns.StartCmd(t, ns.Command(context.Background(), "freeradius", "-X", "-d", s.dir))
	if err := s.waitReady(); err != nil {
		t.Fatalf("%v\n%s", err, s.Log())
	}
	return s
}

// newServer resolves opts into a Server that is not yet running.
func newServer(ns *testnet.Namespace, opts Options) (*Server, error) {
	s := &Server{ns: ns, addr: opts.Addr, auth: opts.AuthPort, acct: opts.AcctPort, secret: opts.Secret, ca: opts.CA, name: opts.ServerName}
	if s.name == "" {
		s.name = DefaultServerName
	}
	if !s.addr.IsValid() {
		s.addr = ns.Addr
	}
	if !s.addr.Is4() {
		return nil, fmt.Errorf("freeradius: listen address %v is not IPv4 (namespace %s)", s.addr, ns)
	}
	if s.auth == 0 {
		s.auth = DefaultAuthPort
	}
	if s.acct == 0 {
		s.acct = DefaultAcctPort
	}
	if s.auth == s.acct || !validPort(s.auth) || !validPort(s.acct) {
		return nil, fmt.Errorf("freeradius: ports %d (auth) and %d (accounting) must differ and lie in 1 … 65535", s.auth, s.acct)
	}
	if s.secret == "" {
		s.secret = rand.Text()
	}
	if err := checkUsers(opts.Users); err != nil {
		return nil, err
	}
	if err := checkText("secret", s.secret); err != nil {
		return nil, err
	}
	if s.ca == nil {
		ca, err := pki.NewRoot("FreeRADIUS test CA", pki.Options{})
		if err != nil {
			return nil, fmt.Errorf("freeradius: create CA: %w", err)
		}
		s.ca = ca
	}
	return s, nil
}

func validPort(p int) bool { return p > 0 && p < 1<<16 }

func (o Options) clients() []netip.Prefix {
	if len(o.Clients) == 0 {
		return []netip.Prefix{netip.PrefixFrom(testnet.GatewayVNetAddr, 32)}
	}
	return o.Clients
}

// ensureAddr adds the listen address to the namespace's link unless the namespace has it.
func (s *Server) ensureAddr() error {
	var have bool
	err := s.ns.Do(func() error {
		addrs, err := net.InterfaceAddrs()
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr() == s.addr {
				have = true
			}
		}
		return err
	})
	if err != nil || have {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := s.ns.Command(ctx, "ip", "addr", "add", s.addr.String()+"/32", "dev", s.ns.Link).CombinedOutput()
	if err != nil {
		return fmt.Errorf("freeradius: add %s to %s in %s: %w: %s", s.addr, s.ns.Link, s.ns, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// waitReady waits until FreeRADIUS says it is ready and both of its sockets are bound.
func (s *Server) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for !strings.Contains(s.Log(), "Ready to process requests") {
		select {
		case <-s.proc.Exited():
			return fmt.Errorf("freeradius: exited at start in %s", s.ns)
		case <-ctx.Done():
			return fmt.Errorf("freeradius: not ready within %v in %s", startTimeout, s.ns)
		case <-time.After(20 * time.Millisecond):
		}
	}
	for _, a := range []string{s.AuthAddr(), s.AcctAddr()} {
		if err := s.ns.WaitListening(ctx, "udp", a); err != nil {
			return fmt.Errorf("freeradius: %w", err)
		}
	}
	return nil
}

// Secret returns the shared secret of the clients.
func (s *Server) Secret() string { return s.secret }

// Addr returns the address the server listens on.
func (s *Server) Addr() netip.Addr { return s.addr }

// AuthAddr returns the authentication address, "198.19.0.10:1812".
func (s *Server) AuthAddr() string { return netip.AddrPortFrom(s.addr, uint16(s.auth)).String() }

// AcctAddr returns the accounting address, "198.19.0.10:1813".
func (s *Server) AcctAddr() string { return netip.AddrPortFrom(s.addr, uint16(s.acct)).String() }

// Dir returns the configuration directory, for a test that wants to read what FreeRADIUS
// was given.
func (s *Server) Dir() string { return s.dir }

// ServerName returns the DNS name in the EAP server certificate (strongSwan: aaa_id in the
// client's EAP round).
func (s *Server) ServerName() string { return s.name }

// CA returns the CA behind the EAP server certificate, which also signs IssueClient's
// certificates: a peer doing EAP-TLS, PEAP or TTLS must trust it.
func (s *Server) CA() *pki.CA { return s.ca }

// CAPEM returns the CA's certificate in PEM: what an EAP-TLS peer must trust.
func (s *Server) CAPEM() []byte { return certPEM(s.ca.Cert.Raw) }

// IssueClient returns a new client certificate (EKU clientAuth) for name from the server's
// CA, for EAP-TLS. FreeRADIUS accepts any certificate that chains to the CA, whatever the
// EAP identity. It calls t.Fatal on error.
func (s *Server) IssueClient(t testnet.T, name string) *pki.Cert {
	t.Helper()
	c, err := s.ca.IssueClient(name, pki.Options{})
	if err != nil {
		t.Fatalf("freeradius: issue client certificate %q: %v", name, err)
	}
	return c
}

// Stop stops the server now (SIGTERM, then SIGKILL) and waits until it is gone, so that it
// no longer answers. It is idempotent; a failure to stop is reported to the test at
// cleanup.
func (s *Server) Stop() {
	s.Thaw() // a frozen server would take SIGTERM only once continued
	s.proc.Stop()
}

// Freeze makes the server silent without closing its sockets (SIGSTOP): requests are neither
// answered nor refused, as with a server that hangs or a path that drops them, so a client
// must wait for its timeout. Thaw (SIGCONT) undoes it; Stop works on a frozen server.
func (s *Server) Freeze() error { return s.proc.Cmd.Process.Signal(syscall.SIGSTOP) }

// Thaw lets a frozen server answer again.
func (s *Server) Thaw() error { return s.proc.Cmd.Process.Signal(syscall.SIGCONT) }

// Log returns FreeRADIUS's output so far: its debug log (-X), with every request and reply.
func (s *Server) Log() string { return s.proc.Output() }

// Package testnet builds throw-away networks of Linux network namespaces for end-to-end
// tests: VPN clients on a private "internet", the gateway host, and a host in the VNet
// behind it. A test calls New, runs real peers inside the namespaces (Namespace.Start,
// Namespace.Run) or dials and listens from Go inside them (Namespace.Do), and the
// topology, its processes and its sockets are removed by t.Cleanup, also when the test
// fails or panics.
//
// The topology New builds (N = 1 … Options.Clients):
//
//	namespace  interface  address           routes
//	c<N>       eth0       198.18.1.N/16     198.18.0.0/16 only (no default route)
//	inet       br0        none              a bridge joining gw and c1 … c<N>: the "internet"
//	gw         inet       198.18.0.1/16     connected routes only
//	           vnet       198.19.0.1/16
//	vnet       eth0       198.19.0.10/16    default via 198.19.0.1
//
// The bridge lives in a namespace of its own, so the gateway sees one uplink like a real
// host and a test can watch the internet wire (tcpdump -i br0) without touching the
// gateway. Namespaces are named p2t-<pid>-<seq>-<role> (p2t-4711-1-gw); every veth pair
// is created directly inside two of them, so no interface, address or route is ever added
// to the root namespace, and deleting the namespaces deletes the links and the bridge.
//
// A test of the gateway reads like this:
//
//	testnet.Require(t, "swanctl")
//	tp := testnet.New(t, testnet.Options{Clients: 1})
//	url := tp.StartVNetHTTP(t)
//	tp.Gateway.Start(t, gatewayBinary, "serve", "--config", cfg)
//	if err := tp.Gateway.WaitListening(ctx, "udp", ":500"); err != nil { … }
//	… connect a client in tp.Clients[0] …
//	resp, err := tp.Clients[0].HTTPClient(5 * time.Second).Get(url)
//	// the body starts with testnet.VNetGreeting and the client's VPN address
//
// testnet is not a network emulator (no delay, loss or NAT) and not a place for VPN
// logic: the gateway namespace forwards nothing unless Options.ForwardOnGateway says so,
// because forwarding is the VPN gateway's decision.
package testnet

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Test prefixes and the fixed addresses in them (DESIGN.md, "Test networks").
var (
	InternetPrefix  = netip.MustParsePrefix("198.18.0.0/16") // between clients and gateway
	VNetPrefix      = netip.MustParsePrefix("198.19.0.0/16") // behind the gateway
	PoolPrefix      = netip.MustParsePrefix("100.64.0.0/16") // client address pool, for the gateway
	GatewayAddr     = netip.MustParseAddr("198.18.0.1")      // gateway, internet side
	GatewayVNetAddr = netip.MustParseAddr("198.19.0.1")      // gateway, VNet side
	VNetHostAddr    = netip.MustParseAddr("198.19.0.10")     // the VNet host
)

// Interface names. They are the same in every topology because each lives in its own
// namespace.
const (
	GatewayInternetLink = "inet" // gateway's uplink to the internet bridge
	GatewayVNetLink     = "vnet" // gateway's link to the VNet host
	HostLink            = "eth0" // the only link of a client or of the VNet host
	BridgeLink          = "br0"  // the internet bridge, in Topology.Internet
)

// MaxClients is the largest Options.Clients: clients take 198.18.1.1 … 198.18.1.254.
const MaxClients = 254

// ClientAddr returns the internet address of Topology.Clients[i]: 198.18.1.(i+1).
// It panics if i is outside 0 … MaxClients-1.
func ClientAddr(i int) netip.Addr {
	if i < 0 || i >= MaxClients {
		panic("testnet: client index " + strconv.Itoa(i) + " out of range")
	}
	return netip.AddrFrom4([4]byte{198, 18, 1, byte(i + 1)})
}

// Options shapes a topology. The zero value is a gateway and a VNet host without clients,
// 1500-byte links and no forwarding on the gateway.
type Options struct {
	// Clients is the number of client namespaces, 0 … MaxClients.
	Clients int
	// MTU of every internet-side link (client eth0, bridge and its ports, gateway inet);
	// 0 means 1500. The VNet side always has 1500.
	MTU int
	// ForwardOnGateway turns on IPv4 forwarding in the gateway namespace. Off by default:
	// a VPN gateway under test decides itself.
	ForwardOnGateway bool
	// ClientRouteToVNet gives every client a route to VNetPrefix via GatewayAddr: plain
	// routing without a VPN, for testing the harness. Off by default, so that only a
	// tunnel reaches the VNet.
	ClientRouteToVNet bool
}

func (o Options) validate() error {
	if o.Clients < 0 || o.Clients > MaxClients {
		return fmt.Errorf("testnet: Options.Clients is %d, want 0 … %d", o.Clients, MaxClients)
	}
	if o.MTU != 0 && (o.MTU < 68 || o.MTU > 65535) {
		return fmt.Errorf("testnet: Options.MTU is %d, want 0 (1500) or 68 … 65535", o.MTU)
	}
	return nil
}

func (o Options) mtu() int {
	if o.MTU == 0 {
		return 1500
	}
	return o.MTU
}

// Topology is a set of namespaces built by New. Its methods may be called concurrently.
type Topology struct {
	Internet *Namespace   // holds the bridge br0; has no address
	Gateway  *Namespace   // Addr is GatewayAddr on inet; GatewayVNetAddr on vnet
	VNet     *Namespace   // Addr is VNetHostAddr on eth0
	Clients  []*Namespace // Clients[i].Addr is ClientAddr(i) on eth0

	opts Options
	id   string // stem of the namespace names

	// all lists the namespaces created so far, in creation order; it is written only by
	// New, before the topology is shared.
	all []*Namespace

	// closing is cancelled when Close begins, to end dials and waits in the namespaces.
	closing context.Context
	cancel  context.CancelFunc

	closeOnce sync.Once
	closeErr  error

	// mu guards the fields below.
	mu      sync.Mutex
	closed  bool
	procs   []*Process
	closers []func() error
}

// seq numbers the topologies of this process, to keep namespace names unique.
var seq atomic.Uint64

// New builds the topology described by o and registers a t.Cleanup that removes it. It
// first removes namespaces left behind by test processes that died (see removeStale).
// On any error it calls t.Fatal; whatever was built by then is still removed.
func New(t T, o Options) *Topology {
	t.Helper()
	if err := o.validate(); err != nil {
		t.Fatal(err)
	}
	removed, errs := removeStale()
	for _, name := range removed {
		t.Logf("testnet: removed stale namespace %s", name)
	}
	for _, err := range errs {
		t.Logf("testnet: stale namespace left in place: %v", err)
	}
	tp := newTopology(o)
	t.Cleanup(func() {
		if err := tp.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := tp.build(); err != nil {
		t.Fatal(err)
	}
	return tp
}

// newTopology returns an empty topology with its own name stem, p2t-<pid>-<seq>-.
func newTopology(o Options) *Topology {
	tp := &Topology{opts: o, id: fmt.Sprintf("%s%d-%d-", namePrefix, os.Getpid(), seq.Add(1))}
	tp.closing, tp.cancel = context.WithCancel(context.Background())
	return tp
}

func (tp *Topology) build() error {
	id := tp.id
	var err error
	if tp.Internet, err = tp.addNamespace(id+"inet", netip.Addr{}, BridgeLink); err != nil {
		return err
	}
	if tp.Gateway, err = tp.addNamespace(id+"gw", GatewayAddr, GatewayInternetLink); err != nil {
		return err
	}
	if tp.VNet, err = tp.addNamespace(id+"vnet", VNetHostAddr, HostLink); err != nil {
		return err
	}
	for i := range tp.opts.Clients {
		c, err := tp.addNamespace(id+"c"+strconv.Itoa(i+1), ClientAddr(i), HostLink)
		if err != nil {
			return err
		}
		tp.Clients = append(tp.Clients, c)
	}
	if err := tp.Gateway.setForwarding(tp.opts.ForwardOnGateway); err != nil {
		return err
	}
	if err := tp.buildInternet(); err != nil {
		return err
	}
	return tp.buildVNet()
}

// addNamespace creates a namespace with lo up and forwarding off. Forwarding is set
// explicitly because a new namespace inherits IPv4 settings from the root namespace.
func (tp *Topology) addNamespace(name string, addr netip.Addr, link string) (*Namespace, error) {
	n := &Namespace{Name: name, Addr: addr, Link: link, tp: tp}
	// ip netns add undoes its own failures, and a failure may mean that the name was
	// taken: only a namespace made here is ours to delete.
	if err := ip("netns", "add", name); err != nil {
		return nil, err
	}
	tp.all = append(tp.all, n)
	if err := ip("-n", name, "link", "set", "lo", "up"); err != nil {
		return nil, err
	}
	if err := n.setForwarding(false); err != nil {
		return nil, err
	}
	return n, nil
}

// buildInternet creates the bridge and plugs the gateway and the clients into it.
func (tp *Topology) buildInternet() error {
	inet, mtu := tp.Internet.Name, strconv.Itoa(tp.opts.mtu())
	if err := ip("-n", inet, "link", "add", BridgeLink, "mtu", mtu, "type", "bridge", "forward_delay", "0"); err != nil {
		return err
	}
	if err := ip("-n", inet, "link", "set", BridgeLink, "up"); err != nil {
		return err
	}
	if err := tp.plug("gw", tp.Gateway, netip.PrefixFrom(GatewayAddr, InternetPrefix.Bits())); err != nil {
		return err
	}
	for i, c := range tp.Clients {
		if err := tp.plug("c"+strconv.Itoa(i+1), c, netip.PrefixFrom(c.Addr, InternetPrefix.Bits())); err != nil {
			return err
		}
		if tp.opts.ClientRouteToVNet {
			if err := ip("-n", c.Name, "route", "add", VNetPrefix.String(), "via", GatewayAddr.String()); err != nil {
				return err
			}
		}
	}
	return nil
}

// plug connects n to the bridge through a veth pair: port in the internet namespace,
// n.Link with addr in n.
func (tp *Topology) plug(port string, n *Namespace, addr netip.Prefix) error {
	inet, mtu := tp.Internet.Name, strconv.Itoa(tp.opts.mtu())
	if err := vethPair(inet, port, n.Name, n.Link, mtu); err != nil {
		return err
	}
	if err := ip("-n", inet, "link", "set", port, "master", BridgeLink, "up"); err != nil {
		return err
	}
	return addrUp(n.Name, n.Link, addr)
}

// buildVNet links the gateway to the VNet host and routes the VNet host through it.
func (tp *Topology) buildVNet() error {
	gw, vnet := tp.Gateway.Name, tp.VNet.Name
	if err := vethPair(gw, GatewayVNetLink, vnet, HostLink, "1500"); err != nil {
		return err
	}
	if err := addrUp(gw, GatewayVNetLink, netip.PrefixFrom(GatewayVNetAddr, VNetPrefix.Bits())); err != nil {
		return err
	}
	if err := addrUp(vnet, HostLink, netip.PrefixFrom(VNetHostAddr, VNetPrefix.Bits())); err != nil {
		return err
	}
	return ip("-n", vnet, "route", "add", "default", "via", GatewayVNetAddr.String())
}

// vethPair creates a veth pair with one end in each namespace; neither end ever exists in
// the root namespace.
func vethPair(ns1, link1, ns2, link2, mtu string) error {
	return ip("-n", ns1, "link", "add", link1, "mtu", mtu, "type", "veth",
		"peer", "name", link2, "mtu", mtu, "netns", ns2)
}

func addrUp(ns, link string, addr netip.Prefix) error {
	if err := ip("-n", ns, "addr", "add", addr.String(), "dev", link); err != nil {
		return err
	}
	return ip("-n", ns, "link", "set", link, "up")
}

// Namespaces returns every namespace of the topology: internet, gateway, VNet, clients.
func (tp *Topology) Namespaces() []*Namespace {
	return append([]*Namespace(nil), tp.all...)
}

// onClose registers fn to run at Close after the processes are stopped and before the
// namespaces are deleted; it fails once Close has begun.
func (tp *Topology) onClose(fn func() error) error {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if tp.closed {
		return ErrClosed
	}
	tp.closers = append(tp.closers, fn)
	return nil
}

// Close stops every process started in the topology (SIGTERM, then SIGKILL after a grace
// period) and waits for them, closes the sockets and servers made through the
// namespaces, and deletes the namespaces, which deletes their links and the bridge. It
// is idempotent: later calls return the first call's result. New registers it with
// t.Cleanup; a test may call it earlier to check what is left.
func (tp *Topology) Close() error {
	tp.closeOnce.Do(func() { tp.closeErr = tp.close() })
	return tp.closeErr
}

func (tp *Topology) close() error {
	tp.cancel()
	tp.mu.Lock()
	tp.closed = true
	procs, closers := tp.procs, tp.closers
	tp.mu.Unlock()

	var (
		wg   sync.WaitGroup
		emu  sync.Mutex
		errs []error
	)
	for _, p := range procs {
		wg.Go(func() {
			if err := p.Stop(); err != nil {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, fn := range closers {
		fn() // a socket the test closed itself reports an error here: not a failure
	}
	for i := len(tp.all) - 1; i >= 0; i-- {
		if err := tp.all[i].remove(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// remove deletes the namespace. Processes still inside it escaped the process groups
// that Close kills; they are reported, not killed, because testnet did not start them.
func (n *Namespace) remove() error {
	if _, err := os.Stat(n.path()); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	var errs []error
	if pids := n.strangers(); len(pids) > 0 {
		errs = append(errs, fmt.Errorf("testnet: namespace %s still runs processes %s that left the process groups testnet started (daemonized?); they keep it alive after its deletion",
			n.Name, strings.Join(pids, ", ")))
	}
	if err := ip("netns", "del", n.Name); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// strangers lists the processes in the namespace other than this one, whose threads
// visit namespaces in Do.
func (n *Namespace) strangers() []string {
	out, err := ipOutput("netns", "pids", n.Name)
	if err != nil {
		return nil
	}
	self := strconv.Itoa(os.Getpid())
	var pids []string
	for _, pid := range strings.Fields(out) {
		if pid != self {
			pids = append(pids, pid)
		}
	}
	return pids
}

// ipTimeout bounds one run of the ip command.
const ipTimeout = 30 * time.Second

// ip runs iproute2's ip with args; the error carries ip's own message.
func ip(args ...string) error {
	_, err := ipOutput(args...)
	return err
}

func ipOutput(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ipTimeout)
	defer cancel()
	out, err := execCommand(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("testnet: ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

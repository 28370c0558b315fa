package testnet_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/internal/testnet"
)

// TestClientReachesVNetThroughForwardingGateway proves the harness with real traffic:
// with forwarding on, each client fetches the VNet host's page through the gateway, by
// plain routing, and the root namespace gains no address or route for the test prefixes.
func TestClientReachesVNetThroughForwardingGateway(t *testing.T) {
	testnet.Require(t)
	t.Parallel()
	rootBefore, fwdBefore := rootState(t), rootForwarding(t)
	tp := testnet.New(t, testnet.Options{Clients: 2, ForwardOnGateway: true, ClientRouteToVNet: true})
	url := tp.StartVNetHTTP(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	if got := rootState(t); got != rootBefore {
		t.Errorf("root namespace changed:\nbefore:\n%s\nafter:\n%s", rootBefore, got)
	}
	if got := rootForwarding(t); got != fwdBefore {
		t.Errorf("root ip_forward changed from %s to %s", fwdBefore, got)
	}
	if out, err := tp.Gateway.Run(t, ctx, "cat", "/proc/sys/net/ipv4/ip_forward"); err != nil || strings.TrimSpace(out) != "1" {
		t.Errorf("gateway ip_forward = %q, %v; want 1", out, err)
	}

	for i, c := range tp.Clients {
		requireInside(t, c, "lo", "eth0")
		want := fmt.Sprintf("%s %s:", testnet.VNetGreeting, testnet.ClientAddr(i))
		t.Run(c.Name+"/http.Client", func(t *testing.T) {
			if err := c.WaitTCP(ctx, testnet.VNetHTTPAddr.String()); err != nil {
				t.Fatal(err)
			}
			resp, err := c.HTTPClient(5 * time.Second).Get(url)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil || !strings.HasPrefix(string(body), want) {
				t.Fatalf("GET %s from %s = %q, %v; want prefix %q", url, c.Name, body, err, want)
			}
		})
		t.Run(c.Name+"/Do", func(t *testing.T) {
			var body []byte
			err := c.Do(func() error {
				conn, err := net.DialTimeout("tcp", testnet.VNetHTTPAddr.String(), 5*time.Second)
				if err != nil {
					return err
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				fmt.Fprintf(conn, "GET / HTTP/1.0\r\nHost: vnet\r\n\r\n")
				body, err = io.ReadAll(conn)
				return err
			})
			if err != nil || !strings.Contains(string(body), "\r\n\r\n"+want) {
				t.Fatalf("raw GET from %s = %q, %v; want body prefix %q", c.Name, body, err, want)
			}
		})
	}
}

// TestGatewayDecides shows that without forwarding on the gateway the same fetch times out,
// although both halves of the path work.
func TestGatewayDecides(t *testing.T) {
	testnet.Require(t)
	t.Parallel()
	tp := testnet.New(t, testnet.Options{Clients: 1, ClientRouteToVNet: true})
	vnetURL := tp.StartVNetHTTP(t)
	gwURL := tp.Gateway.StartHTTP(t, testnet.GatewayAddr.String()+":8080", http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "gateway") }))
	c := tp.Clients[0]
	requireInside(t, c, "lo", "eth0")
	requireInside(t, tp.Gateway, "lo", "inet", "vnet")

	if body, err := get(c.HTTPClient(5*time.Second), gwURL); err != nil || body != "gateway" {
		t.Fatalf("client → gateway: %q, %v", body, err)
	}
	if body, err := get(tp.Gateway.HTTPClient(5*time.Second), vnetURL); err != nil || !strings.HasPrefix(body, testnet.VNetGreeting) {
		t.Fatalf("gateway → VNet: %q, %v", body, err)
	}
	body, err := get(c.HTTPClient(1*time.Second), vnetURL)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("client → VNet without forwarding: %q, %v; want a timeout", body, err)
	}
}

func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestCloseRemovesEverything checks that Close stops processes, with the children in
// their process group, closes sockets, deletes every namespace, and can be called again.
func TestCloseRemovesEverything(t *testing.T) {
	testnet.Require(t, "sleep", "sh")
	t.Parallel()
	tp := testnet.New(t, testnet.Options{Clients: 1})
	sleeper := tp.Clients[0].Start(t, "sleep", "1000")
	forker := tp.Gateway.Start(t, "sh", "-c", "sleep 1000 & sleep 1000 & wait")
	if _, err := tp.VNet.Listen("tcp", testnet.VNetHostAddr.String()+":9000"); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range tp.Namespaces() {
		names = append(names, n.Name)
	}
	if len(names) != 4 {
		t.Fatalf("namespaces %v, want internet, gateway, VNet and one client", names)
	}
	gwPIDs := waitPIDs(t, tp.Gateway.Name, 3) // sh and its two sleeps
	pids := append([]int{sleeper.PID()}, gwPIDs...)
	if !slices.Contains(gwPIDs, forker.PID()) {
		t.Fatalf("pids in %s = %v, want %d among them", tp.Gateway.Name, gwPIDs, forker.PID())
	}

	if err := tp.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range netnsList(t) {
		if slices.Contains(names, name) {
			t.Errorf("namespace %s still listed after Close", name)
		}
	}
	for _, pid := range pids {
		if running(pid) {
			t.Errorf("pid %d still runs after Close", pid)
		}
	}
	select {
	case <-sleeper.Exited():
	default:
		t.Error("Exited not closed after Close")
	}
	if err := tp.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := tp.Clients[0].Listen("tcp", ":0"); !errors.Is(err, testnet.ErrClosed) {
		t.Errorf("Listen after Close: %v, want ErrClosed", err)
	}
}

// running reports whether pid exists and is not a zombie. The children of a stopped
// process are reparented to init, which reaps them when it gets to it.
func running(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || !strings.HasPrefix(string(stat[i+1:]), " Z")
}

// TestCleanupOnPanic runs a test that panics, in a child test process, and checks that its
// topology and its process are gone once the child has exited. It does not run in
// parallel, so that no other test's New removes the child's namespaces as stale.
func TestCleanupOnPanic(t *testing.T) {
	if report := os.Getenv("TESTNET_PANIC_REPORT"); report != "" {
		panicWithTopology(t, report)
		return
	}
	testnet.Require(t, "sleep")
	report := filepath.Join(t.TempDir(), "report")
	child := exec.Command(os.Args[0], "-test.run=^TestCleanupOnPanic$", "-test.count=1", "-test.v")
	child.Env = append(os.Environ(), "TESTNET_PANIC_REPORT="+report)
	out, err := child.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "deliberate panic") {
		t.Fatalf("child test: %v, want a panic:\n%s", err, out)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("child wrote no report: %v\n%s", err, out)
	}
	f := strings.Fields(string(b))
	pid, _ := strconv.Atoi(f[0])
	if running(pid) {
		t.Errorf("the child's process %d still runs", pid)
	}
	list := netnsList(t)
	for _, name := range f[1:] {
		if slices.Contains(list, name) {
			t.Errorf("the child's namespace %s is left behind", name)
		}
	}
}

func panicWithTopology(t *testing.T, report string) {
	tp := testnet.New(t, testnet.Options{Clients: 1})
	p := tp.Clients[0].Start(t, "sleep", "1000")
	s := strconv.Itoa(p.PID())
	for _, n := range tp.Namespaces() {
		s += " " + n.Name
	}
	if err := os.WriteFile(report, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	panic("deliberate panic")
}

// waitPIDs polls ip netns pids until the namespace holds n processes.
func waitPIDs(t *testing.T, ns string, n int) []int {
	t.Helper()
	var pids []int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		out, err := exec.Command("ip", "netns", "pids", ns).Output()
		if err != nil {
			t.Fatal(err)
		}
		pids = pids[:0]
		for _, f := range strings.Fields(string(out)) {
			pid, _ := strconv.Atoi(f)
			pids = append(pids, pid)
		}
		if len(pids) == n {
			return pids
		}
	}
	t.Fatalf("namespace %s holds pids %v, want %d processes", ns, pids, n)
	return nil
}

// TestStaleNamespacesRemoved checks that New removes namespaces of dead test processes
// and leaves alone those of live processes and those with other names.
func TestStaleNamespacesRemoved(t *testing.T) {
	testnet.Require(t, "true")
	t.Parallel()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	pid := dead.Process.Pid
	stale := fmt.Sprintf("p2t-%d-1-gw", pid)
	keep := []string{
		"p2t-1-1-gw", // pid 1 always runs
		fmt.Sprintf("p2tx-%d-1-gw", pid),
		fmt.Sprintf("p2t-%d-1-GW", pid),
		fmt.Sprintf("x-p2t-%d-1-gw", pid),
	}
	for _, name := range append([]string{stale}, keep...) {
		if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
			t.Fatalf("ip netns add %s: %v: %s", name, err, out)
		}
		t.Cleanup(func() {
			if slices.Contains(netnsList(t), name) {
				exec.Command("ip", "netns", "del", name).Run()
			}
		})
	}

	testnet.New(t, testnet.Options{})
	list := netnsList(t)
	if slices.Contains(list, stale) {
		t.Errorf("stale namespace %s survived New", stale)
	}
	for _, name := range keep {
		if !slices.Contains(list, name) {
			t.Errorf("New removed %s, which is not stale", name)
		}
	}
}

// TestMTU checks that Options.MTU applies to the internet side only.
func TestMTU(t *testing.T) {
	testnet.Require(t)
	t.Parallel()
	tp := testnet.New(t, testnet.Options{Clients: 1, MTU: 1280})
	for _, tc := range []struct {
		ns   *testnet.Namespace
		link string
		want int
	}{
		{tp.Clients[0], testnet.HostLink, 1280},
		{tp.Internet, testnet.BridgeLink, 1280},
		{tp.Internet, "c1", 1280},
		{tp.Gateway, testnet.GatewayInternetLink, 1280},
		{tp.Gateway, testnet.GatewayVNetLink, 1500},
		{tp.VNet, testnet.HostLink, 1500},
	} {
		var mtu int
		err := tc.ns.Do(func() error {
			ifi, err := net.InterfaceByName(tc.link)
			if err == nil {
				mtu = ifi.MTU
			}
			return err
		})
		if err != nil || mtu != tc.want {
			t.Errorf("%s %s: mtu %d, %v; want %d", tc.ns, tc.link, mtu, err, tc.want)
		}
	}
}

// TestNamespaceIsolation checks what a client sees from inside: its own links, and a route
// to the internet prefix only.
func TestNamespaceIsolation(t *testing.T) {
	testnet.Require(t)
	t.Parallel()
	tp := testnet.New(t, testnet.Options{Clients: 1})
	c := tp.Clients[0]
	requireInside(t, c, "lo", "eth0")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	routes, err := c.Run(t, ctx, "ip", "-4", "route", "show", "table", "all")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(routes, "198.18.0.0/16 dev eth0") || strings.Contains(routes, "default") || strings.Contains(routes, "198.19.") {
		t.Errorf("client routes:\n%s\nwant 198.18.0.0/16 on eth0, no default, no VNet route", routes)
	}
}

// TestProcesses checks Start, Wait, Output and Run inside a namespace.
func TestProcesses(t *testing.T) {
	testnet.Require(t, "sh")
	t.Parallel()
	tp := testnet.New(t, testnet.Options{Clients: 1})
	c := tp.Clients[0]
	p := c.Start(t, "sh", "-c", "ip -4 -o addr show dev eth0; exit 3")
	var exit *exec.ExitError
	if err := p.Wait(); !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Errorf("Wait: %v, want exit status 3", err)
	}
	if out := p.Output(); !strings.Contains(out, "198.18.1.1/16") {
		t.Errorf("output %q, want the client's address", out)
	}
	if err := p.Stop(); err != nil {
		t.Errorf("Stop after Wait: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Run(t, ctx, "sh", "-c", "exit 1"); err == nil {
		t.Error("Run of a failing command: no error")
	}
}

// TestWaitListening checks the socket-table poll for TCP and UDP servers.
func TestWaitListening(t *testing.T) {
	testnet.Require(t)
	t.Parallel()
	tp := testnet.New(t, testnet.Options{})
	short := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}
	tcpAddr := testnet.VNetHostAddr.String() + ":9000"
	if err := tp.VNet.WaitListening(short(), "tcp", tcpAddr); err == nil {
		t.Fatal("WaitListening found a TCP listener before Listen")
	}
	if _, err := tp.VNet.Listen("tcp", tcpAddr); err != nil {
		t.Fatal(err)
	}
	if _, err := tp.VNet.Listen("tcp", ":9001"); err != nil { // dual-stack wildcard
		t.Fatal(err)
	}
	if _, err := tp.VNet.ListenPacket("udp", testnet.VNetHostAddr.String()+":1812"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ns            *testnet.Namespace
		network, addr string
		want          bool
	}{
		{tp.VNet, "tcp", tcpAddr, true},
		{tp.VNet, "tcp", testnet.VNetHostAddr.String() + ":9001", true},
		{tp.VNet, "udp", testnet.VNetHostAddr.String() + ":1812", true},
		{tp.VNet, "udp", ":1812", true},
		{tp.VNet, "udp", testnet.VNetHostAddr.String() + ":9000", false},
		{tp.VNet, "tcp", "127.0.0.1:9000", false},
		{tp.Gateway, "udp", ":1812", false}, // another namespace's table
	} {
		err := tc.ns.WaitListening(short(), tc.network, tc.addr)
		if (err == nil) != tc.want {
			t.Errorf("%s WaitListening %s %s: %v, want found=%v", tc.ns, tc.network, tc.addr, err, tc.want)
		}
	}
}

// TestDoPanics checks that a panic inside Do reaches the caller.
func TestDoPanics(t *testing.T) {
	testnet.Require(t)
	t.Parallel()
	tp := testnet.New(t, testnet.Options{})
	defer func() {
		if v := recover(); v != "boom" {
			t.Errorf("recovered %v, want boom", v)
		}
	}()
	tp.VNet.Do(func() error { panic("boom") })
}

// requireInside stops the test unless Do in n sees exactly the named links: traffic from
// a Do that did not enter n would leave through the root namespace.
func requireInside(t *testing.T, n *testnet.Namespace, want ...string) {
	t.Helper()
	var links []string
	err := n.Do(func() error {
		ifs, err := net.Interfaces()
		for _, ifi := range ifs {
			links = append(links, ifi.Name)
		}
		return err
	})
	if err != nil || !slices.Equal(links, want) {
		t.Fatalf("links seen by Do in %s: %v, %v; want %v", n, links, err, want)
	}
}

// rootState lists the root namespace's addresses, routes and links that mention a test
// prefix or a testnet name.
func rootState(t *testing.T) string {
	t.Helper()
	var lines []string
	for _, args := range [][]string{{"-o", "addr"}, {"route", "show", "table", "all"}, {"-o", "link"}} {
		out, err := exec.Command("ip", args...).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "198.18.") || strings.Contains(l, "198.19.") || strings.Contains(l, "100.64.") || strings.Contains(l, "p2t-") {
				lines = append(lines, l)
			}
		}
	}
	return strings.Join(lines, "\n")
}

func rootForwarding(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func netnsList(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}

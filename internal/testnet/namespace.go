package testnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

const (
	// netnsDir is where ip netns keeps its namespaces (iproute2's NETNS_RUN_DIR).
	netnsDir = "/var/run/netns"
	// namePrefix starts the name of every namespace testnet creates, and only those.
	namePrefix = "p2t-"
)

// Namespace is one host of a topology: a named network namespace, as ip netns knows it.
// Its methods may be called concurrently.
type Namespace struct {
	Name string     // ip netns name: p2t-<pid>-<seq>-<role>
	Addr netip.Addr // primary address; the zero Addr for the internet namespace
	Link string     // the interface that holds Addr; the bridge in the internet namespace

	tp *Topology
}

func (n *Namespace) String() string { return n.Name }

func (n *Namespace) path() string { return filepath.Join(netnsDir, n.Name) }

// Do runs fn on an OS thread switched into the namespace, switches the thread back, and
// returns fn's error; a panic in fn is raised again in the caller. Sockets that fn
// creates stay in the namespace for their whole life: a listener made inside Do keeps
// serving there after Do returns.
//
// Only fn's own goroutine is inside the namespace; goroutines it starts run in the root
// namespace. net/http's Transport dials in a goroutine of its own, so an http.Get inside
// Do would leave the test network: use HTTPClient or DialContext instead.
func (n *Namespace) Do(fn func() error) error {
	type result struct {
		err      error
		panicked bool
		value    any
	}
	done := make(chan result, 1)
	// A goroutine of its own, so that a thread that cannot be switched back dies with it
	// instead of carrying the caller on in the wrong namespace.
	go func() {
		var r result
		enterErr := n.enter(func() {
			defer func() {
				if v := recover(); v != nil {
					r.panicked, r.value = true, v
				}
			}()
			r.err = fn()
		})
		if enterErr != nil {
			r.err = enterErr
		}
		done <- r
	}()
	r := <-done
	if r.panicked {
		panic(r.value)
	}
	return r.err
}

// enter runs fn on the calling goroutine's thread switched into the namespace. The thread
// returns to the scheduler only if it was switched back; otherwise it ends with the
// goroutine, as runtime.LockOSThread promises.
func (n *Namespace) enter(fn func()) error {
	runtime.LockOSThread()
	home, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("testnet: open own network namespace: %w", err)
	}
	defer unix.Close(home)
	target, err := unix.Open(n.path(), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		if errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("testnet: namespace %s is gone: %w", n.Name, ErrClosed)
		}
		return fmt.Errorf("testnet: open namespace %s: %w", n.Name, err)
	}
	defer unix.Close(target)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("testnet: enter namespace %s: %w", n.Name, err)
	}
	defer func() {
		if unix.Setns(home, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
	}()
	fn()
	return nil
}

// Listen announces on the local address addr inside the namespace, like net.Listen. The
// listener is closed by the topology's Close if the test has not closed it.
func (n *Namespace) Listen(network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := n.Do(func() (err error) {
		ln, err = net.Listen(network, addr)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := n.tp.onClose(ln.Close); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// ListenPacket is net.ListenPacket inside the namespace. The connection is closed by the
// topology's Close if the test has not closed it.
func (n *Namespace) ListenPacket(network, addr string) (net.PacketConn, error) {
	var pc net.PacketConn
	err := n.Do(func() (err error) {
		pc, err = net.ListenPacket(network, addr)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := n.tp.onClose(pc.Close); err != nil {
		pc.Close()
		return nil, err
	}
	return pc, nil
}

// DialContext dials addr from inside the namespace, like net.Dialer.DialContext; the
// topology's Close cancels a dial still in progress. It has the signature of
// http.Transport.DialContext. The caller closes the connection: an open socket keeps its
// namespace alive after the topology deletes it.
func (n *Namespace) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(n.tp.closing, cancel)()
	var c net.Conn
	err := n.Do(func() (err error) {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// setForwarding switches IPv4 forwarding of the namespace on or off.
func (n *Namespace) setForwarding(on bool) error {
	v := []byte("0\n")
	if on {
		v = []byte("1\n")
	}
	// /proc/sys/net resolves against the calling thread's namespace, unlike /proc/net,
	// which follows the thread group leader.
	err := n.Do(func() error { return os.WriteFile("/proc/sys/net/ipv4/ip_forward", v, 0) })
	if err != nil {
		return fmt.Errorf("testnet: set ip_forward in %s: %w", n.Name, err)
	}
	return nil
}

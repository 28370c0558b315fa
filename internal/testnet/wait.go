package testnet

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// dialTry bounds one attempt of WaitTCP.
const dialTry = 500 * time.Millisecond

// WaitTCP dials addr over TCP from inside the namespace until a connection succeeds, then
// closes it. It returns an error carrying the last dial error when ctx is done. Call it
// from the namespace that will use the server: it proves the path as well as the server.
func (n *Namespace) WaitTCP(ctx context.Context, addr string) error {
	for {
		try, cancel := context.WithTimeout(ctx, dialTry)
		c, err := n.DialContext(try, "tcp", addr)
		cancel()
		if err == nil {
			return c.Close()
		}
		if errors.Is(err, ErrClosed) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testnet: %s not reachable over TCP from %s: %w (last error: %v)", addr, n.Name, ctx.Err(), err)
		case <-time.After(5 * pollPeriod):
		}
	}
}

// WaitListening polls the namespace's own socket tables until a server listens on addr:
// a TCP socket in LISTEN state (network "tcp") or an unconnected UDP socket (network
// "udp"), bound to addr's port and to its IP or the wildcard address. An empty host
// (":500") matches any address. Call it on the namespace where the server runs; it sends
// nothing, so it also suits UDP servers (IKE on 500, RADIUS on 1812).
func (n *Namespace) WaitListening(ctx context.Context, network, addr string) error {
	tables, state, err := socketTables(network)
	if err != nil {
		return err
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("testnet: WaitListening %q: %w", addr, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return fmt.Errorf("testnet: WaitListening %q: bad port", addr)
	}
	var ip netip.Addr // zero: any address
	if host != "" {
		if ip, err = netip.ParseAddr(host); err != nil {
			return fmt.Errorf("testnet: WaitListening %q: %w", addr, err)
		}
	}
	for {
		found, err := n.hasSocket(tables, state, ip, uint16(port))
		if err != nil || found {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testnet: nothing listens on %s %s in %s: %w", network, addr, n.Name, ctx.Err())
		case <-time.After(5 * pollPeriod):
		}
	}
}

// Socket states in /proc/net/{tcp,udp}: LISTEN, and CLOSE (an unconnected UDP socket).
const (
	stateListen = "0A"
	stateClose  = "07"
)

func socketTables(network string) (tables []string, state string, err error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
		return []string{"tcp", "tcp6"}, stateListen, nil
	case "udp", "udp4", "udp6":
		return []string{"udp", "udp6"}, stateClose, nil
	}
	return nil, "", fmt.Errorf("testnet: WaitListening: network %q is not tcp or udp", network)
}

// hasSocket reads the namespace's socket tables. /proc/thread-self/net shows the calling
// thread's namespace; /proc/net would show the thread group leader's.
func (n *Namespace) hasSocket(tables []string, state string, ip netip.Addr, port uint16) (bool, error) {
	found := false
	err := n.Do(func() error {
		for _, name := range tables {
			b, err := os.ReadFile("/proc/thread-self/net/" + name)
			if errors.Is(err, os.ErrNotExist) {
				continue // tcp6 and udp6 are absent without IPv6
			}
			if err != nil {
				return err
			}
			if hasSocket(b, state, ip, port) {
				found = true
				return nil
			}
		}
		return nil
	})
	return found, err
}

// hasSocket reports whether table, the contents of /proc/net/tcp or a sibling, lists a
// socket in state bound to port and to ip, the wildcard address, or any address if ip is
// the zero Addr.
func hasSocket(table []byte, state string, ip netip.Addr, port uint16) bool {
	for line := range strings.Lines(string(table)) {
		f := strings.Fields(line) // sl local_address rem_address st …
		if len(f) < 4 || f[3] != state {
			continue
		}
		local, ok := parseSocketAddr(f[1])
		if !ok || local.Port() != port {
			continue
		}
		if a := local.Addr().Unmap(); !ip.IsValid() || a.IsUnspecified() || a == ip.Unmap() {
			return true
		}
	}
	return false
}

// parseSocketAddr parses an address of /proc/net/tcp: the IP as 32-bit words in host
// byte order, each printed as %08X, then ':' and the port as %04X.
func parseSocketAddr(s string) (netip.AddrPort, bool) {
	hostHex, portHex, ok := strings.Cut(s, ":")
	if !ok || (len(hostHex) != 8 && len(hostHex) != 32) {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	raw, err := hex.DecodeString(hostHex)
	if err != nil {
		return netip.AddrPort{}, false
	}
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(raw[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr, uint16(port)), true
}

package sstpc

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/p2sgw/p2sgw/internal/testnet"
)

// The guest's network. A guest is not a host of the topology, so it borrows its
// namespace's place on the test internet:
//
//	guest eth0 198.18.255.4k+2/30 ── tap umltap<k> 198.18.255.4k+1/30 ── client namespace
//	                                                                     (forwarding, NAT)
//	                                                                     eth0 198.18.1.N ── gateway
//
// The guest routes only the SSTP server's address via the tap; the namespace forwards and
// masquerades what comes from the tap, so the gateway sees the namespace's own address, as
// from any other client there, and needs no route back. Once ppp0 is up the guest's
// default route points into the tunnel. guestPrefix lies in the test internet
// (testnet.InternetPrefix) but outside the client addresses testnet hands out, and exists
// only inside client namespaces.
var guestPrefix = netip.MustParsePrefix("198.18.255.0/24")

// maxSlots is how many guests one namespace can hold at once: the /30s in guestPrefix.
const maxSlots = 64

// cmdTimeout bounds one ip or nft command.
const cmdTimeout = 10 * time.Second

// guestNet is the tap, addresses and NAT table of one guest in its namespace.
type guestNet struct {
	ns    *testnet.Namespace
	slot  int
	tap   string // in ns; the guest's eth0
	host  netip.Addr
	guest netip.Addr
	table string // nft table in ns that masquerades the guest
}

// slots hands out the /30s of guestPrefix per namespace.
var slots struct {
	sync.Mutex
	used map[string]map[int]bool // namespace name → slot → in use
	// fwd holds each namespace's ip_forward value before its first guest, while it has
	// guests.
	fwd map[string][]byte
}

// attach creates the guest's tap in ns, addresses it, turns on forwarding in ns and adds
// a NAT table. On error it removes what it made.
func attach(ns *testnet.Namespace) (*guestNet, error) {
	slot, err := takeSlot(ns)
	if err != nil {
		return nil, err
	}
	base := guestPrefix.Addr().As4()
	base[3] = byte(4 * slot)
	first := netip.AddrFrom4(base)
	g := &guestNet{
		ns: ns, slot: slot,
		tap:   fmt.Sprintf("umltap%d", slot),
		host:  first.Next(),
		guest: first.Next().Next(),
		table: fmt.Sprintf("p2sgw_uml%d", slot),
	}
	ruleset := fmt.Sprintf(`table ip %s {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		iifname %q oifname %q masquerade
	}
}
`, g.table, g.tap, ns.Link)
	steps := []struct {
		stdin string
		args  []string
	}{
		{"", []string{"ip", "tuntap", "add", "dev", g.tap, "mode", "tap"}},
		{"", []string{"ip", "addr", "add", netip.PrefixFrom(g.host, 30).String(), "dev", g.tap}},
		{"", []string{"ip", "link", "set", g.tap, "up"}},
		{ruleset, []string{"nft", "-f", "-"}},
	}
	for _, step := range steps {
		if err := g.run(step.stdin, step.args[0], step.args[1:]...); err != nil {
			return nil, errors.Join(err, g.detach())
		}
	}
	return g, nil
}

// detach removes the NAT table and the tap, and restores forwarding in ns when its last
// guest is gone. It is safe on a partly attached guest.
func (g *guestNet) detach() error {
	var errs []error
	if err := g.run("", "nft", "list", "table", "ip", g.table); err == nil {
		errs = append(errs, g.run("", "nft", "delete", "table", "ip", g.table))
	}
	if err := g.run("", "ip", "link", "show", "dev", g.tap); err == nil {
		errs = append(errs, g.run("", "ip", "link", "del", "dev", g.tap))
	}
	errs = append(errs, releaseSlot(g.ns, g.slot))
	return errors.Join(errs...)
}

// run runs a command in the guest's namespace with stdin as its input.
func (g *guestNet) run(stdin, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := g.ns.Command(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("sstpc: %s %s in %s: %w: %s", name, strings.Join(args, " "), g.ns.Name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// takeSlot reserves a free slot in ns; the first one turns on forwarding there.
func takeSlot(ns *testnet.Namespace) (int, error) {
	slots.Lock()
	defer slots.Unlock()
	if slots.used == nil {
		slots.used, slots.fwd = map[string]map[int]bool{}, map[string][]byte{}
	}
	used := slots.used[ns.Name]
	if len(used) == 0 {
		old, err := setForwarding(ns, []byte("1\n"))
		if err != nil {
			return 0, err
		}
		slots.fwd[ns.Name] = old
		used = map[int]bool{}
		slots.used[ns.Name] = used
	}
	for s := range maxSlots {
		if !used[s] {
			used[s] = true
			return s, nil
		}
	}
	return 0, fmt.Errorf("sstpc: %s already runs %d guests", ns.Name, maxSlots)
}

// releaseSlot frees the slot; the last one restores forwarding in ns.
func releaseSlot(ns *testnet.Namespace, slot int) error {
	slots.Lock()
	defer slots.Unlock()
	used := slots.used[ns.Name]
	delete(used, slot)
	if len(used) > 0 {
		return nil
	}
	delete(slots.used, ns.Name)
	old := slots.fwd[ns.Name]
	delete(slots.fwd, ns.Name)
	if _, err := setForwarding(ns, old); err != nil && !errors.Is(err, testnet.ErrClosed) {
		return err
	}
	return nil
}

// setForwarding writes v to ns's net.ipv4.ip_forward and returns the value before.
func setForwarding(ns *testnet.Namespace, v []byte) (old []byte, err error) {
	const path = "/proc/sys/net/ipv4/ip_forward" // resolved against the calling thread's namespace
	err = ns.Do(func() error {
		if old, err = os.ReadFile(path); err != nil {
			return err
		}
		return os.WriteFile(path, v, 0)
	})
	if err != nil {
		return nil, fmt.Errorf("sstpc: set ip_forward in %s: %w", ns.Name, err)
	}
	return old, nil
}

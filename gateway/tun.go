package gateway

import (
	"errors"
	"fmt"
	"net"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/tun"

	"github.com/p2sgw/p2sgw/pool"
)

// tunMTU leaves room for ESP in UDP in a 1500-octet path: outer IPv4 (20), UDP (8), ESP header
// and IV (up to 24), padding, trailer and ICV (up to 49).
const tunMTU = 1400

// openTUN creates the data plane's TUN device, gives it each pool's gateway address with the
// pool's prefix (so the kernel routes the pools to it) and brings it up.
func openTUN(name string, pools pool.Set) (tun.Device, error) {
	dev, err := tun.CreateTUN(name, tunMTU)
	if err != nil {
		return nil, fmt.Errorf("create TUN %s: %w (p2sgw serve needs CAP_NET_ADMIN and /dev/net/tun)", name, err)
	}
	link, err := netlink.LinkByName(name)
	if err != nil {
		dev.Close()
		return nil, fmt.Errorf("TUN %s: %w", name, err)
	}
	if err := setTUNAddrs(link, nil, pools); err != nil {
		dev.Close()
		return nil, fmt.Errorf("TUN %s: %w", name, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		dev.Close()
		return nil, fmt.Errorf("TUN %s: up: %w", name, err)
	}
	return dev, nil
}

// tunAddr is the address a pool gives the TUN device: the pool's gateway address with the
// pool's prefix length, so the kernel routes the whole pool to the device.
func tunAddr(p *pool.Pool) *netlink.Addr {
	return &netlink.Addr{IPNet: &net.IPNet{IP: p.Gateway().AsSlice(), Mask: net.CIDRMask(p.Prefix().Bits(), 32)}}
}

// setTUNAddrs gives link the address of every pool of next that old lacks and then takes away
// the addresses of the pools only old has. If an address cannot be added, those added are
// taken away again and the error returned; a failed removal is returned too, with the new
// addresses in place (the pool is gone from the gateway either way).
func setTUNAddrs(link netlink.Link, old, next pool.Set) error {
	has := func(s pool.Set, p *pool.Pool) bool {
		return slices.ContainsFunc(s, func(q *pool.Pool) bool { return q.Prefix() == p.Prefix() })
	}
	var added []*netlink.Addr
	for _, p := range next {
		if has(old, p) {
			continue
		}
		a := tunAddr(p)
		if err := netlink.AddrReplace(link, a); err != nil {
			for _, a := range added {
				netlink.AddrDel(link, a)
			}
			return fmt.Errorf("address %s for pool %s: %w", a.IPNet, p.Prefix(), err)
		}
		added = append(added, a)
	}
	var errs []error
	for _, p := range old {
		if has(next, p) {
			continue
		}
		if err := netlink.AddrDel(link, tunAddr(p)); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			errs = append(errs, fmt.Errorf("remove address %s of pool %s: %w", tunAddr(p).IPNet, p.Prefix(), err))
		}
	}
	return errors.Join(errs...)
}

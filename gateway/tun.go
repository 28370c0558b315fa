package gateway

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
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
	for _, p := range pools {
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: p.Gateway().AsSlice(), Mask: net.CIDRMask(p.Prefix().Bits(), 32)}}
		if err := netlink.AddrReplace(link, addr); err != nil {
			dev.Close()
			return nil, fmt.Errorf("TUN %s: address %s: %w", name, addr, err)
		}
	}
	if err := netlink.LinkSetUp(link); err != nil {
		dev.Close()
		return nil, fmt.Errorf("TUN %s: up: %w", name, err)
	}
	return dev, nil
}

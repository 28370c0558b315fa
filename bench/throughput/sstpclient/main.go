// Command sstpclient connects p2sgw's own SSTP client (package vpnclient) to a gateway and
// carries the kernel's traffic through it on a TUN device, so that iperf3 and ping can
// measure the SSTP path (bench/throughput/run.sh). It signs in with EAP-TLS, gives the TUN
// the address the gateway assigned and a route to each --route prefix, prints one
// "connected" line, and runs until SIGINT or SIGTERM.
//
// It is a benchmark tool, not the client users run (that is `p2sgw connect`). It runs in
// whatever network namespace it is started in (`ip netns exec NS sstpclient …`) and changes
// only the TUN device it creates there.
//
// The data path, one goroutine each way:
//
//	uplink:   TUN.Read (batch, GSO split) → SSTP.WritePacket per packet
//	downlink: SSTP.ReadPacket → queue → TUN.Write (batch, GRO coalescing)
//
// tlsunsafeekm: EAP-TLS keys come from TLS's exporter, which Go refuses on TLS 1.2 without
// Extended Master Secret unless told; p2sgw itself makes the same choice (cmd/p2sgw).
//
//go:debug tlsunsafeekm=1
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.zx2c4.com/wireguard/tun"

	"github.com/p2sgw/p2sgw/vpnclient"
)

// offset is the room left before each packet for the TUN's virtio-net header.
const offset = 16

// maxPacket is the largest packet a TUN read or a coalesced TUN write may hold.
const maxPacket = 65535

type options struct {
	server, serverName, serverRoot string
	cert, key                      string
	tunName                        string
	mtu                            int
	routes                         []netip.Prefix
	timeout                        time.Duration
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "sstpclient:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "sstpclient:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("sstpclient", flag.ContinueOnError)
	fs.StringVar(&o.server, "server", "", "the gateway's SSTP listener, HOST[:PORT] (port 443 by default; required)")
	fs.StringVar(&o.serverName, "server-name", "", "the name the gateway's certificate carries (required)")
	fs.StringVar(&o.serverRoot, "server-root", "", "PEM file of the CA that signed the gateway's certificate (required)")
	fs.StringVar(&o.cert, "cert", "", "PEM client certificate, from p2sgw pki issue-client (required)")
	fs.StringVar(&o.key, "key", "", "PEM private key of --cert (required)")
	fs.StringVar(&o.tunName, "tun", "sstp0", "name of the TUN device to create")
	fs.IntVar(&o.mtu, "mtu", 1400, "MTU of the TUN device")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "give up signing in after this long")
	fs.Func("route", "a prefix to route through the tunnel (repeat for more)", func(s string) error {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return err
		}
		o.routes = append(o.routes, p.Masked())
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for name, v := range map[string]string{"server": o.server, "server-name": o.serverName, "server-root": o.serverRoot, "cert": o.cert, "key": o.key} {
		if v == "" {
			return o, fmt.Errorf("--%s is required", name)
		}
	}
	if !strings.Contains(o.server, ":") {
		o.server += ":443"
	}
	return o, nil
}

func run(ctx context.Context, o options) error {
	cfg, err := tunnelConfig(o)
	if err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, o.timeout)
	tunnel, err := vpnclient.DialSSTP(dctx, cfg)
	cancel()
	if err != nil {
		return err
	}
	defer tunnel.Close()
	dev, err := tun.CreateTUN(o.tunName, o.mtu)
	if err != nil {
		return fmt.Errorf("create TUN %s: %w", o.tunName, err)
	}
	defer dev.Close()
	if err := configure(o.tunName, tunnel.Addr, o.routes); err != nil {
		return err
	}
	fmt.Printf("sstpclient: connected as %s on %s\n", tunnel.Addr, o.tunName)

	errc := make(chan error, 2)
	go func() { errc <- uplink(dev, tunnel) }()
	go func() { errc <- downlink(dev, tunnel) }()
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
}

// tunnelConfig reads the certificates into a vpnclient configuration.
func tunnelConfig(o options) (vpnclient.SSTPConfig, error) {
	rootPEM, err := os.ReadFile(o.serverRoot)
	if err != nil {
		return vpnclient.SSTPConfig{}, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootPEM) {
		return vpnclient.SSTPConfig{}, fmt.Errorf("%s holds no PEM certificate", o.serverRoot)
	}
	cert, err := tls.LoadX509KeyPair(o.cert, o.key)
	if err != nil {
		return vpnclient.SSTPConfig{}, fmt.Errorf("client certificate: %w", err)
	}
	return vpnclient.SSTPConfig{
		Server: o.server, ServerName: o.serverName, Roots: roots, Certificate: &cert,
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}, nil
}

// configure gives the TUN the tunnel's address and routes the prefixes through it.
func configure(name string, addr netip.Addr, routes []netip.Prefix) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find %s: %w", name, err)
	}
	a, err := netlink.ParseAddr(netip.PrefixFrom(addr, addr.BitLen()).String())
	if err != nil {
		return err
	}
	if err := netlink.AddrAdd(link, a); err != nil {
		return fmt.Errorf("address %s on %s: %w", addr, name, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	for _, p := range routes {
		dst, err := netlink.ParseIPNet(p.String())
		if err != nil {
			return err
		}
		r := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: dst, Src: addr.AsSlice(), Scope: netlink.SCOPE_LINK}
		if err := netlink.RouteAdd(r); err != nil {
			return fmt.Errorf("route %s via %s: %w", p, name, err)
		}
	}
	return nil
}

// uplink copies what the kernel sends into the TUN to the tunnel, one SSTP frame a packet
// (vpnclient offers no batch write).
func uplink(dev tun.Device, tunnel *vpnclient.SSTP) error {
	bufs := make([][]byte, dev.BatchSize())
	sizes := make([]int, len(bufs))
	pkts := make([][]byte, len(bufs))
	for i := range bufs {
		bufs[i] = make([]byte, offset+maxPacket)
	}
	for {
		n, err := dev.Read(bufs, sizes, offset)
		if err != nil {
			if errors.Is(err, tun.ErrTooManySegments) {
				continue
			}
			return fmt.Errorf("read TUN: %w", err)
		}
		for i := range n {
			pkts[i] = bufs[i][offset : offset+sizes[i]]
		}
		if err := tunnel.WritePackets(pkts[:n]); err != nil {
			return fmt.Errorf("tunnel: %w", err)
		}
	}
}

// downlink writes the tunnel's packets into the TUN, as many at once as have arrived, so
// that the TUN coalesces a TCP flow's segments (GRO) into few writes.
func downlink(dev tun.Device, tunnel *vpnclient.SSTP) error {
	batch := max(dev.BatchSize(), 1)
	queue := make(chan []byte, 4*batch)
	readErr := make(chan error, 1)
	go func() {
		for {
			pkt, err := tunnel.ReadPacket()
			if err != nil {
				readErr <- err
				close(queue)
				return
			}
			queue <- pkt
		}
	}()
	store := make([][]byte, batch)
	for i := range store {
		store[i] = make([]byte, offset+maxPacket)
	}
	bufs := make([][]byte, 0, batch)
	var writeErrs int
	for {
		pkt, ok := <-queue
		if !ok {
			return fmt.Errorf("tunnel: %w", <-readErr)
		}
		bufs = append(bufs[:0], fill(store[0], pkt))
	drain:
		for len(bufs) < batch {
			select {
			case pkt, ok := <-queue:
				if !ok {
					break drain
				}
				bufs = append(bufs, fill(store[len(bufs)], pkt))
			default:
				break drain
			}
		}
		if _, err := dev.Write(bufs, offset); err != nil {
			if errors.Is(err, os.ErrClosed) {
				return fmt.Errorf("write TUN: %w", err)
			}
			// A packet the kernel refused costs that packet only, as on a link.
			writeErrs++
			if writeErrs == 1 {
				fmt.Fprintln(os.Stderr, "sstpclient: write TUN (further errors not shown):", err)
			}
		}
	}
}

// fill copies pkt behind the offset in buf and returns the packet's buffer; its capacity
// stays whole, for GRO to coalesce into.
func fill(buf, pkt []byte) []byte {
	n := copy(buf[offset:], pkt)
	return buf[:offset+n]
}

package vpnclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"
	"golang.zx2c4.com/wireguard/tun"

	"github.com/p2sgw/p2sgw/esp"
	"github.com/p2sgw/p2sgw/internal/atomicfile"
)

// TUNMTU is the MTU of the client's TUN device: room for ESP in UDP in a 1500-octet path.
const TUNMTU = 1400

// The TUN reader leaves this much room before and after every packet, for ESP's header and
// trailer to be built in place. The constant conversions fail to compile if ESP needs more.
const (
	headroom = 64
	tailroom = 64
	_        = uint(headroom - esp.Headroom)
	_        = uint(tailroom - esp.Tailroom)
)

// Reconnect backoff: the first retry is at once, then 1 s, 2 s, 4 s … up to maxBackoff.
const maxBackoff = 30 * time.Second

// ConnectConfig is `p2sgw connect`: the tunnel to keep, the TUN device it uses, and where
// its status goes.
type ConnectConfig struct {
	// IKEv2 is the gateway and our credentials; its Deliver is set by Connect.
	IKEv2 IKEv2Config
	// TUN is the device's name.
	TUN string
	// DNS is "auto" (apply the gateway's DNS servers to the TUN link with resolvectl, if
	// there is one) or "off".
	DNS string
	// Routes are used when the gateway pushes none (the package's routes).
	Routes []netip.Prefix
	// StatusFile, if set, receives the Status as JSON at every change and every few seconds.
	StatusFile string
	Log        *slog.Logger
}

// Status is what `p2sgw connect --status` shows.
type Status struct {
	State          string    `json:"state"` // connecting, connected, reconnecting
	Server         string    `json:"server"`
	TUN            string    `json:"tun"`
	PID            int       `json:"pid"`
	VPNAddress     string    `json:"vpn_address,omitempty"`
	Routes         []string  `json:"routes"`
	DNSServers     []string  `json:"dns_servers"`
	LocalAddress   string    `json:"local_address,omitempty"`
	ConnectedSince time.Time `json:"connected_since,omitzero"`
	Reconnects     int       `json:"reconnects"`
	LastError      string    `json:"last_error,omitempty"`
	IngressBytes   uint64    `json:"ingress_bytes"`
	EgressBytes    uint64    `json:"egress_bytes"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// ReadStatus reads a status file Connect wrote.
func ReadStatus(path string) (Status, error) {
	var st Status
	b, err := os.ReadFile(path)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// connector is one Connect run.
type connector struct {
	cfg  ConnectConfig
	log  *slog.Logger
	dev  tun.Device
	link netlink.Link
	cur  atomic.Pointer[IKEv2]

	mu     sync.Mutex // guards status and the TUN's address and routes
	status Status
	addr   netip.Addr
	routes []netip.Prefix
}

// Connect keeps a tunnel to the gateway up until ctx is done: it creates the TUN device,
// connects, gives the TUN the address and routes the gateway pushed, and when the tunnel ends
// (the gateway restarted or deleted it, the network went away) connects again with backoff —
// the gateway's sticky leases give the same address back while it is free. A change of our
// own address is told to the gateway with MOBIKE (the tunnel's Run notices it).
func Connect(ctx context.Context, cfg ConnectConfig) error {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	c := &connector{cfg: cfg, log: cfg.Log}
	c.status = Status{State: "connecting", Server: cfg.IKEv2.Server, TUN: cfg.TUN, PID: os.Getpid(), Routes: []string{}, DNSServers: []string{}}
	dev, err := tun.CreateTUN(cfg.TUN, TUNMTU)
	if err != nil {
		return fmt.Errorf("create TUN %s: %w (p2sgw connect needs CAP_NET_ADMIN and /dev/net/tun)", cfg.TUN, err)
	}
	c.dev = dev
	defer dev.Close()
	if c.link, err = netlink.LinkByName(cfg.TUN); err != nil {
		return fmt.Errorf("TUN %s: %w", cfg.TUN, err)
	}
	if err := netlink.LinkSetUp(c.link); err != nil {
		return fmt.Errorf("TUN %s: up: %w", cfg.TUN, err)
	}
	if cfg.StatusFile != "" {
		defer os.Remove(cfg.StatusFile)
	}
	go c.readTUN()
	stopStatus := c.statusLoop(ctx)
	defer stopStatus()

	cfg.IKEv2.Deliver = c.deliver
	cfg.IKEv2.Moved = func(src netip.AddrPort) { c.update(func(s *Status) { s.LocalAddress = src.String() }) }
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		t, err := DialIKEv2(ctx, cfg.IKEv2)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			backoff = min(max(2*backoff, time.Second), maxBackoff)
			c.log.Warn("connect failed; trying again", "server", cfg.IKEv2.Server, "err", err, "retry_in", backoff)
			c.update(func(s *Status) { s.LastError = err.Error() })
			sleep(ctx, backoff)
			continue
		}
		if err := c.configure(t); err != nil {
			t.Close()
			return err
		}
		backoff = 0
		c.cur.Store(t)
		c.log.Info("connected", "server", cfg.IKEv2.Server, "vpn_address", t.Lease.Addr,
			"routes", c.routes, "dns", t.Lease.DNS, "local", t.Source())
		err = t.Run(ctx)
		c.cur.Store(nil)
		in, out := t.Traffic()
		c.update(func(s *Status) {
			s.State, s.LastError, s.ConnectedSince = "reconnecting", err.Error(), time.Time{}
			s.IngressBytes += in
			s.EgressBytes += out
			s.Reconnects++
		})
		if ctx.Err() != nil {
			break
		}
		c.log.Warn("tunnel ended; reconnecting", "reason", err)
	}
	c.log.Info("disconnected")
	return nil
}

// Close ends a tunnel that was dialled but will not run.
func (t *IKEv2) Close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.conn.Close()
	<-t.readDone
}

func sleep(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}

// configure gives the TUN the tunnel's address and routes, changing only what differs from
// the previous connection, and applies the DNS servers.
func (c *connector) configure(t *IKEv2) error {
	routes := t.Lease.Subnets
	if len(routes) == 0 {
		routes = c.cfg.Routes
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.addr != t.Lease.Addr {
		if c.addr.IsValid() {
			netlink.AddrDel(c.link, hostAddr(c.addr)) // its routes go with it
			c.routes = nil
		}
		if err := netlink.AddrReplace(c.link, hostAddr(t.Lease.Addr)); err != nil {
			return fmt.Errorf("TUN %s: address %s: %w", c.cfg.TUN, t.Lease.Addr, err)
		}
		c.addr = t.Lease.Addr
	}
	for _, r := range c.routes {
		if !slices.Contains(routes, r) {
			netlink.RouteDel(c.route(r))
		}
	}
	for _, r := range routes {
		if err := netlink.RouteReplace(c.route(r)); err != nil {
			return fmt.Errorf("TUN %s: route %s: %w", c.cfg.TUN, r, err)
		}
	}
	c.routes = slices.Clone(routes)
	if c.cfg.DNS == "auto" && len(t.Lease.DNS) > 0 {
		c.applyDNS(t.Lease.DNS)
	}
	c.status.State, c.status.LastError = "connected", ""
	c.status.VPNAddress = t.Lease.Addr.String()
	c.status.LocalAddress = t.Source().String()
	c.status.ConnectedSince = time.Now()
	c.status.Routes = strs(routes)
	c.status.DNSServers = strs(t.Lease.DNS)
	c.writeStatus()
	return nil
}

func (c *connector) route(p netip.Prefix) *netlink.Route {
	return &netlink.Route{LinkIndex: c.link.Attrs().Index, Dst: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), 32)},
		Src: c.addr.AsSlice(), Scope: netlink.SCOPE_LINK}
}

func hostAddr(a netip.Addr) *netlink.Addr {
	return &netlink.Addr{IPNet: &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(32, 32)}}
}

// applyDNS gives the TUN link the gateway's DNS servers through systemd-resolved.
func (c *connector) applyDNS(dns []netip.Addr) {
	if _, err := exec.LookPath("resolvectl"); err != nil {
		c.log.Warn("the gateway pushed DNS servers but there is no resolvectl to apply them; add them to your resolver", "dns", dns)
		return
	}
	args := []string{"dns", c.cfg.TUN}
	for _, a := range dns {
		args = append(args, a.String())
	}
	if out, err := exec.Command("resolvectl", args...).CombinedOutput(); err != nil {
		c.log.Warn("resolvectl dns failed; DNS servers not applied", "dns", dns, "err", err, "output", string(out))
	}
}

// readTUN hands what the kernel routes to the TUN to the current tunnel, in batches; while
// there is none, packets are dropped (TCP retransmits once the tunnel is back).
func (c *connector) readTUN() {
	n := max(c.dev.BatchSize(), 1)
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = make([]byte, headroom+65535+tailroom)
	}
	sizes := make([]int, n)
	batch := make([][]byte, 0, n)
	for {
		count, err := c.dev.Read(bufs, sizes, headroom)
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return
			}
			if errors.Is(err, tun.ErrTooManySegments) {
				continue
			}
			c.log.Error("TUN read failed", "err", err)
			return
		}
		t := c.cur.Load()
		if t == nil {
			continue
		}
		batch = batch[:0]
		for i := range count {
			batch = append(batch, bufs[i][:headroom+sizes[i]:headroom+sizes[i]+tailroom])
		}
		t.Send(batch, headroom)
	}
}

// deliver writes what the gateway sent us to the TUN.
func (c *connector) deliver(bufs [][]byte, offset int) {
	if _, err := c.dev.Write(bufs, offset); err != nil && !errors.Is(err, os.ErrClosed) {
		c.log.Debug("TUN write failed", "err", err)
	}
}

// update changes the status and writes it.
func (c *connector) update(f func(*Status)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(&c.status)
	c.writeStatus()
}

// writeStatus writes the status file; c.mu is held.
func (c *connector) writeStatus() {
	if c.cfg.StatusFile == "" {
		return
	}
	st := c.status
	if t := c.cur.Load(); t != nil {
		st.LocalAddress = t.Source().String()
		in, out := t.Traffic()
		st.IngressBytes += in
		st.EgressBytes += out
	}
	st.UpdatedAt = time.Now()
	b, _ := json.MarshalIndent(st, "", "  ")
	if err := atomicfile.Write(c.cfg.StatusFile, append(b, '\n'), 0o644); err != nil {
		c.log.Debug("status file not written", "path", c.cfg.StatusFile, "err", err)
	}
}

// statusLoop rewrites the status every 5 s (for the traffic counters) until stopped.
func (c *connector) statusLoop(ctx context.Context) (stop func()) {
	c.update(func(*Status) {})
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-done:
				return
			case <-tick.C:
				c.update(func(*Status) {})
			}
		}
	}()
	return func() { close(done) }
}

func strs[T fmt.Stringer](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.String()
	}
	return out
}

// Package gateway builds the running gateway from its configuration: it opens the state
// store, loads the trust set, the address pools and the session registry, serves the admin API,
// and applies a new configuration on reload. It is the only package that knows every other
// one; protocol listeners plug in here.
package gateway

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/p2sgw/p2sgw/api"
	"github.com/p2sgw/p2sgw/certauth"
	"github.com/p2sgw/p2sgw/config"
	"github.com/p2sgw/p2sgw/dataplane"
	"github.com/p2sgw/p2sgw/internal/logcat"
	"github.com/p2sgw/p2sgw/pool"
	"github.com/p2sgw/p2sgw/session"
	"github.com/p2sgw/p2sgw/store"
	"github.com/p2sgw/p2sgw/store/bolt"
)

// StateFile is the state database's file name inside the state directory.
const StateFile = "state.db"

// Options are what New needs besides the configuration.
type Options struct {
	// ConfigPath is the file Reload reads again.
	ConfigPath string
	// Log is the logger; build it with logcat.New over LogLevels. LogLevels, if set, are set
	// from the config's log.level and log.categories at start and on every reload, and
	// loggers already derived follow at once.
	Log       *slog.Logger
	LogLevels *logcat.Levels
	// Version is reported by status.
	Version string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// AdminOnly starts the admin API alone: no protocol listener and no TUN device, whatever
	// the configuration says (for p2sgw demo's tour, which must not touch the host's network).
	AdminOnly bool
}

// Gateway is a running gateway. Create it with New, run it with Serve, end it by cancelling
// Serve's context. Its methods are safe for concurrent use.
type Gateway struct {
	opts      Options
	log       *slog.Logger // category gateway
	p2s       *slog.Logger // category p2s: connection events
	now       func() time.Time
	startedAt time.Time
	st        store.Store
	policy    *certauth.Policy
	sessions  *session.Registry

	mu       sync.RWMutex // guards the fields below
	cfg      *config.Config
	pools    pool.Set
	loadedAt time.Time

	// trustMu serialises changes to roots and revocations, so a limit check, the store write
	// and the policy update happen as one.
	trustMu sync.Mutex

	lnMu      sync.Mutex // guards listeners
	listeners []*listener

	// plane is the data plane while the IKEv2 listener runs (set once by Serve, before the
	// admin API can reload); nil otherwise.
	plane *dataplane.Plane

	// aaa is the RADIUS client when auth_types has radius (set once by Serve before the admin
	// API starts); nil otherwise.
	aaa *aaa

	metrics *metrics
}

// New opens the state in cfg.StateDir and prepares the gateway; it starts no listener.
func New(ctx context.Context, cfg *config.Config, opts Options) (*Gateway, error) {
	st, err := bolt.Open(filepath.Join(cfg.StateDir, StateFile))
	if err != nil {
		return nil, err
	}
	g, err := newWithStore(ctx, cfg, opts, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	return g, nil
}

func newWithStore(ctx context.Context, cfg *config.Config, opts Options, st store.Store) (*Gateway, error) {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	g := &Gateway{
		opts:      opts,
		log:       opts.Log.With(logcat.Key, logcat.Gateway),
		p2s:       opts.Log.With(logcat.Key, logcat.P2S),
		now:       opts.Now,
		startedAt: opts.Now(),
		st:        st,
		policy:    new(certauth.Policy),
		cfg:       cfg,
		loadedAt:  opts.Now(),
	}
	var err error
	if g.sessions, err = session.NewRegistry(ctx, st, cfg.Name); err != nil {
		return nil, err
	}
	g.metrics = newMetrics(g)
	if g.pools, err = buildPools(ctx, cfg, nil, st, opts.Now); err != nil {
		return nil, err
	}
	if err := g.loadTrust(ctx); err != nil {
		return nil, err
	}
	g.setLogLevel(cfg)
	return g, nil
}

// logFor returns the logger of a diagnostic log category (logcat's names).
func (g *Gateway) logFor(category string) *slog.Logger {
	return g.opts.Log.With(logcat.Key, category)
}

// Close releases the state store. Serve must have returned.
func (g *Gateway) Close() error { return g.st.Close() }

// Config returns the configuration in force. The caller must not modify it.
func (g *Gateway) Config() *config.Config {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.cfg
}

// Policy returns the client-certificate policy the protocols verify clients against.
func (g *Gateway) Policy() *certauth.Policy { return g.policy }

// Sessions returns the registry of live sessions.
func (g *Gateway) Sessions() *session.Registry { return g.sessions }

// Pools returns the client address pools in force.
func (g *Gateway) Pools() pool.Set {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.pools
}

// Serve runs the admin API listeners (and, as they land, the protocol listeners) until ctx is
// done, then stops them and waits for them. ready, if not nil, is called once every listener
// is up.
func (g *Gateway) Serve(ctx context.Context, ready func()) error {
	cfg := g.Config()
	if slices.Contains(cfg.AuthTypes, config.AuthRADIUS) {
		a, err := newAAA(cfg, g.logFor(logcat.RADIUS), func(s *session.Session, reason string) {
			if err := g.endSession(context.Background(), s, reason); err != nil {
				g.log.Error("ending session", "id", s.ID, "err", err)
			}
		}, g.metrics.observeRADIUS)
		if err != nil {
			return err
		}
		g.aaa = a
		defer a.close() // after the sessions' Stops are queued below
	}
	handler := g.withMetrics(api.NewHandler(g, g.logFor(logcat.Admin)))
	if err := g.listenAdmin(cfg, handler); err != nil {
		g.closeListeners()
		return err
	}
	if err := g.listenMetrics(cfg); err != nil {
		g.closeListeners()
		return err
	}
	var protocols []<-chan struct{}
	ikev2, sstp := slices.Contains(cfg.TunnelTypes, config.TunnelIKEv2), slices.Contains(cfg.TunnelTypes, config.TunnelSSTP)
	if (ikev2 || sstp) && !g.opts.AdminOnly {
		plane, planeDone, err := g.startDataPlane(ctx, cfg)
		if err != nil {
			g.closeListeners()
			return fmt.Errorf("tun: %w", err)
		}
		protocols = append(protocols, planeDone)
		for _, p := range []struct {
			on    bool
			name  string
			start func(context.Context, *config.Config, *dataplane.Plane) (<-chan struct{}, error)
		}{{ikev2, "ikev2", g.startIKEv2}, {sstp, "sstp", g.startSSTP}} {
			if !p.on {
				continue
			}
			done, err := p.start(ctx, cfg, plane)
			if err != nil {
				g.closeListeners()
				return fmt.Errorf("%s: %w", p.name, err)
			}
			protocols = append(protocols, done)
		}
	}
	g.noteProtocolListeners(cfg)
	g.log.Info("gateway started", "name", cfg.Name, "sku", g.sku(cfg).Name, "public_address", cfg.PublicAddress,
		"tunnel_types", cfg.TunnelTypes, "auth_types", cfg.AuthTypes, "admin_socket", cfg.Admin.Socket)
	g.logWarnings(cfg)
	if ready != nil {
		ready()
	}
	<-ctx.Done()
	g.log.Info("gateway stopping", "reason", context.Cause(ctx))
	for _, done := range protocols {
		<-done // they tell their clients and end their sessions
	}
	g.closeListeners()
	for _, s := range g.sessions.List() {
		if err := g.endSession(context.Background(), s, "gateway shutting down"); err != nil {
			g.log.Error("ending session at shutdown", "id", s.ID, "err", err)
		}
	}
	g.log.Info("gateway stopped")
	return nil
}

// endSession closes s's tunnel with reason and unregisters it. A session with a protocol
// behind it (Close set) releases its address when its protocol has torn the tunnel down, so
// the address is not handed out while the old tunnel still holds it; one without is released
// here.
func (g *Gateway) endSession(ctx context.Context, s *session.Session, reason string) error {
	if err := g.sessions.Disconnect(ctx, s.ID, reason); err != nil && !errors.Is(err, session.ErrNotFound) {
		return err
	}
	if s.Close == nil && s.VPNAddr.IsValid() {
		return g.Pools().Release(ctx, s.VPNAddr, s.ID)
	}
	return nil
}

// reload reads the configuration file again and applies it. An invalid file is refused with
// its error and the running configuration stays.
func (g *Gateway) reload(ctx context.Context) ([]string, error) {
	cfg, err := config.Load(g.opts.ConfigPath)
	if err != nil {
		g.log.Error("reload refused: the running configuration stays", "config", g.opts.ConfigPath, "err", err)
		return nil, err
	}
	return g.apply(ctx, cfg)
}

// apply makes cfg the configuration in force. Settings that need new sockets or a new state
// directory cannot change while running: they are kept and a warning says so. Everything else
// takes effect at once without touching the sessions it does not concern: roots and
// revocations (in the store), VNet prefixes, DNS servers and client-to-client (for new
// connections, and the data plane's policy at once), the SKU's limits and rate, log levels,
// the RADIUS servers, and the client address pools — a session whose address lies in no pool
// any more is ended.
func (g *Gateway) apply(ctx context.Context, cfg *config.Config) ([]string, error) {
	orphans, kept, err := g.swap(ctx, cfg)
	if err != nil {
		g.log.Error("reload refused: the running configuration stays", "config", g.opts.ConfigPath, "err", err)
		return nil, err
	}
	for _, s := range orphans {
		g.p2s.Info("ending session: its address pool was removed", "id", s.ID, "user", s.User, "vpn_address", s.VPNAddr)
		if err := g.endSession(ctx, s, "its address pool was removed from the configuration"); err != nil {
			g.log.Error("ending session", "id", s.ID, "err", err)
		}
	}
	return kept, nil
}

// swap applies cfg (see apply) and returns the sessions that lost their pool, for the caller to
// end once the gateway's lock is released. On error nothing has changed.
func (g *Gateway) swap(ctx context.Context, cfg *config.Config) (orphans []*session.Session, kept []string, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.cfg
	tunnels := g.plane != nil
	kept = restartOnly(old, cfg, tunnels)
	for _, f := range kept {
		g.log.Warn("reload: setting changed but needs a restart of p2sgw serve; keeping the running value", "setting", f)
	}
	keepRestartOnly(old, cfg, tunnels)
	pools, err := buildPools(ctx, cfg, g.pools, g.st, g.now)
	if err != nil {
		return nil, nil, err
	}
	if g.aaa != nil && cfg.RADIUS != nil {
		// Always: a secret file may have changed while the section did not.
		if err := g.aaa.reconfigure(cfg.RADIUS); err != nil {
			return nil, nil, err
		}
	}
	if tunnels {
		link, err := netlink.LinkByName(cfg.TUN)
		if err == nil {
			err = setTUNAddrs(link, g.pools, pools)
		}
		if err != nil {
			if g.aaa != nil && old.RADIUS != nil {
				g.aaa.reconfigure(old.RADIUS) // as it was: it was valid then
			}
			return nil, nil, fmt.Errorf("tun %s: %w", cfg.TUN, err)
		}
	}
	// Last, as it cannot fail: new clients cannot lease from pools until the lock is released.
	orphans = g.carryLeases(ctx, g.pools, pools)
	g.cfg, g.pools, g.loadedAt = cfg, pools, g.now()
	g.setLogLevel(cfg)
	sku := g.sku(cfg)
	if g.plane != nil {
		g.plane.SetPolicy(planePolicy(cfg))
		g.plane.SetRate(rateOf(sku))
	}
	if n, max := g.rootCount(ctx), sku.MaxRootCerts; max > 0 && n > max {
		g.log.Warn("more trusted roots than the SKU allows; new ones will be refused until some are removed", "roots", n, "max_root_certs", max)
	}
	g.logWarnings(cfg)
	g.log.Info("configuration reloaded", "config", g.opts.ConfigPath, "sku", sku.Name, "max_mbps", sku.ThroughputMbps,
		"pools", cfg.ClientAddressPools, "vnet", cfg.VNetAddressSpace, "dns", cfg.DNSServers)
	return orphans, kept, nil
}

// carryLeases keeps the live sessions' addresses across a change of pools: a pool of next that
// is new (not in old) takes over the lease of every session whose address it holds. It returns
// the sessions whose address no pool of next can hold, and releases their leases in old (their
// pools are gone, so nothing else will lease those addresses).
func (g *Gateway) carryLeases(ctx context.Context, old, next pool.Set) (orphans []*session.Session) {
	for _, s := range g.sessions.List() {
		if !s.VPNAddr.IsValid() {
			continue
		}
		p := next.Find(s.VPNAddr)
		if p != nil && slices.Contains(old, p) {
			continue
		}
		if p != nil {
			err := p.AcquireAddr(ctx, s.VPNAddr, s.User, s.ID)
			if err == nil {
				continue
			}
			g.log.Warn("reload: a new pool cannot hold a live session's address", "id", s.ID, "vpn_address", s.VPNAddr, "pool", p.Prefix(), "err", err)
		}
		if op := old.Find(s.VPNAddr); op != nil {
			op.Release(ctx, s.VPNAddr, s.ID)
		}
		orphans = append(orphans, s)
	}
	return orphans
}

// rateOf is the data plane's rate limit for a SKU, in bits per second (0: unlimited).
func rateOf(sku config.SKU) int64 { return int64(sku.ThroughputMbps) * 1_000_000 }

// logWarnings logs what in cfg deserves attention but does not stop the gateway (a
// certificate close to expiry, a short RADIUS secret, ...).
func (g *Gateway) logWarnings(cfg *config.Config) {
	for _, w := range cfg.Warnings() {
		g.log.Warn("configuration warning", "field", w.Field, "warning", w.Msg, "config", g.opts.ConfigPath)
	}
}

// setLogLevel applies cfg's default level and category levels to the loggers.
func (g *Gateway) setLogLevel(cfg *config.Config) {
	if g.opts.LogLevels == nil {
		return
	}
	g.opts.LogLevels.Set(cfg.Log.Levels())
}

func (g *Gateway) sku(cfg *config.Config) config.SKU { return cfg.EffectiveSKU() }

func (g *Gateway) rootCount(ctx context.Context) int {
	roots, err := g.st.RootCerts(ctx)
	if err != nil {
		return 0
	}
	return len(roots)
}

// restartOnly lists the settings that differ between a and b and cannot change live. With
// the IKEv2 listener running (tunnels), so are the ones it was built from: its sockets,
// proposals, timers, certificate and the TUN device. The RADIUS servers change live, but not
// whether accounting is on, nor its interval.
func restartOnly(a, b *config.Config, tunnels bool) []string {
	var out []string
	add := func(changed bool, name string) {
		if changed {
			out = append(out, name)
		}
	}
	add(a.Name != b.Name, "name")
	add(a.StateDir != b.StateDir, "state_dir")
	add(a.Admin != b.Admin, "admin")
	add(a.MetricsListen != b.MetricsListen, "metrics_listen")
	add(a.Listen != b.Listen, "listen")
	add(a.Log.Format != b.Log.Format, "log.format")
	add(!slices.Equal(a.TunnelTypes, b.TunnelTypes), "tunnel_types")
	add(!slices.Equal(a.AuthTypes, b.AuthTypes), "auth_types")
	if a.RADIUS != nil && b.RADIUS != nil {
		acct := func(r *config.RADIUS) bool { return r.Accounting == nil || *r.Accounting }
		add(acct(a.RADIUS) != acct(b.RADIUS), "radius.accounting")
		add(a.RADIUS.InterimInterval != b.RADIUS.InterimInterval, "radius.interim_interval")
	} else {
		add(a.RADIUS != b.RADIUS, "radius")
	}
	if tunnels {
		add(a.TUN != b.TUN, "tun")
		add(a.IKE != b.IKE, "ike")
		add(a.LegacyWindowsProposals != b.LegacyWindowsProposals, "legacy_windows_proposals")
		add(a.ServerCertificate != b.ServerCertificate || a.ServerKey != b.ServerKey, "server_certificate")
	}
	return out
}

// keepRestartOnly puts the running values of the restart-only settings into next.
func keepRestartOnly(running, next *config.Config, tunnels bool) {
	next.StateDir, next.Admin, next.Listen, next.Name, next.Log.Format = running.StateDir, running.Admin, running.Listen, running.Name, running.Log.Format
	next.MetricsListen = running.MetricsListen
	next.TunnelTypes, next.AuthTypes = running.TunnelTypes, running.AuthTypes
	if running.RADIUS == nil || next.RADIUS == nil {
		next.RADIUS = running.RADIUS
	} else {
		r := *next.RADIUS
		r.Accounting, r.InterimInterval = running.RADIUS.Accounting, running.RADIUS.InterimInterval
		next.RADIUS = &r
	}
	if tunnels {
		next.TUN, next.IKE, next.LegacyWindowsProposals = running.TUN, running.IKE, running.LegacyWindowsProposals
		next.ServerCertificate, next.ServerKey = running.ServerCertificate, running.ServerKey
	}
}

// buildPools returns the pools of cfg, reusing those of old with the same prefix so their
// in-memory state carries over.
func buildPools(ctx context.Context, cfg *config.Config, old pool.Set, st store.Store, now func() time.Time) (pool.Set, error) {
	var set pool.Set
	for _, pfx := range cfg.ClientAddressPools {
		i := slices.IndexFunc(old, func(p *pool.Pool) bool { return p.Prefix() == pfx.Masked() })
		if i >= 0 {
			set = append(set, old[i])
			continue
		}
		p, err := pool.New(ctx, pfx, st, cfg.Name, now)
		if err != nil {
			return nil, err
		}
		set = append(set, p)
	}
	return set, nil
}

// recheckSessions ends every live session whose certificate no longer passes the policy, right
// after a revocation or a root removal: Azure applies those to new connections only; p2sgw
// applies them at once.
func (g *Gateway) recheckSessions(ctx context.Context) {
	now := g.now()
	for _, s := range g.sessions.List() {
		if len(s.Certificates) == 0 {
			continue
		}
		certs, err := parseCerts(s.Certificates)
		if err == nil {
			_, err = g.policy.Verify(certs[0], certs[1:], now)
		}
		if err != nil {
			reason := strings.TrimPrefix(err.Error(), "certauth: ")
			g.log.Info("ending session: its certificate no longer passes the policy", "id", s.ID, "user", s.User, "reason", reason)
			if err := g.endSession(ctx, s, reason); err != nil {
				g.log.Error("ending session", "id", s.ID, "err", err)
			}
		}
	}
}

// parseCerts parses a session's certificates (DER, the client's first).
func parseCerts(der [][]byte) ([]*x509.Certificate, error) {
	out := make([]*x509.Certificate, len(der))
	for i, d := range der {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return nil, fmt.Errorf("certauth: the session's certificate %d does not parse: %w", i+1, err)
		}
		out[i] = c
	}
	return out, nil
}

// loadTrust loads the roots and revocations from the store into the policy.
func (g *Gateway) loadTrust(ctx context.Context) error {
	roots, err := g.st.RootCerts(ctx)
	if err != nil {
		return fmt.Errorf("load trusted roots: %w", err)
	}
	m := make(map[string]*x509.Certificate, len(roots))
	for _, r := range roots {
		c, err := x509.ParseCertificate(r.DER)
		if err != nil {
			// Stored only after parsing; a bad one means the file was tampered with.
			return fmt.Errorf("trusted root %q in the state database does not parse: %w", r.Name, err)
		}
		m[r.Name] = c
	}
	revoked, err := g.st.RevokedCerts(ctx)
	if err != nil {
		return fmt.Errorf("load revoked certificates: %w", err)
	}
	rm := make(map[string]string, len(revoked))
	for _, r := range revoked {
		rm[r.Thumbprint] = r.Name
	}
	g.policy.SetRoots(m)
	g.policy.SetRevoked(rm)
	return nil
}

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
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

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
	log       *slog.Logger
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
		log:       opts.Log,
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
		a, err := newAAA(cfg, g.log.With("component", "radius"), func(s *session.Session, reason string) {
			if err := g.endSession(context.Background(), s, reason); err != nil {
				g.log.Error("ending session", "id", s.ID, "err", err)
			}
		})
		if err != nil {
			return err
		}
		g.aaa = a
		defer a.close() // after the sessions' Stops are queued below
	}
	handler := g.withMetrics(api.NewHandler(g, g.log.With("component", "admin")))
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
// directory cannot change while running: they are kept and a warning says so.
func (g *Gateway) apply(ctx context.Context, cfg *config.Config) ([]string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.cfg
	kept := restartOnly(old, cfg, g.plane != nil)
	for _, f := range kept {
		g.log.Warn("reload: setting changed but needs a restart of p2sgw serve; keeping the running value", "setting", f)
	}
	keepRestartOnly(old, cfg, g.plane != nil)
	pools, err := buildPools(ctx, cfg, g.pools, g.st, g.now)
	if err != nil {
		g.log.Error("reload refused: the running configuration stays", "err", err)
		return nil, err
	}
	g.cfg, g.pools, g.loadedAt = cfg, pools, g.now()
	g.setLogLevel(cfg)
	if g.plane != nil {
		g.plane.SetPolicy(planePolicy(cfg))
	}
	if n, max := g.rootCount(ctx), g.sku(cfg).MaxRootCerts; max > 0 && n > max {
		g.log.Warn("more trusted roots than the SKU allows; new ones will be refused until some are removed", "roots", n, "max_root_certs", max)
	}
	g.logWarnings(cfg)
	g.log.Info("configuration reloaded", "config", g.opts.ConfigPath, "sku", g.sku(cfg).Name, "pools", cfg.ClientAddressPools, "vnet", cfg.VNetAddressSpace)
	return kept, nil
}

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
// proposals, timers, certificate, the TUN device and the pools it holds.
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
	add(!reflect.DeepEqual(a.RADIUS, b.RADIUS), "radius")
	if tunnels {
		add(a.TUN != b.TUN, "tun")
		add(a.IKE != b.IKE, "ike")
		add(a.LegacyWindowsProposals != b.LegacyWindowsProposals, "legacy_windows_proposals")
		add(a.ServerCertificate != b.ServerCertificate || a.ServerKey != b.ServerKey, "server_certificate")
		add(!slices.Equal(a.ClientAddressPools, b.ClientAddressPools), "client_address_pools")
	}
	return out
}

// keepRestartOnly puts the running values of the restart-only settings into next.
func keepRestartOnly(running, next *config.Config, tunnels bool) {
	next.StateDir, next.Admin, next.Listen, next.Name, next.Log.Format = running.StateDir, running.Admin, running.Listen, running.Name, running.Log.Format
	next.MetricsListen = running.MetricsListen
	next.TunnelTypes, next.AuthTypes, next.RADIUS = running.TunnelTypes, running.AuthTypes, running.RADIUS
	if tunnels {
		next.TUN, next.IKE, next.LegacyWindowsProposals = running.TUN, running.IKE, running.LegacyWindowsProposals
		next.ServerCertificate, next.ServerKey = running.ServerCertificate, running.ServerKey
		next.ClientAddressPools = running.ClientAddressPools
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
		if _, err := g.policy.Verify(s.Certificates[0], s.Certificates[1:], now); err != nil {
			reason := strings.TrimPrefix(err.Error(), "certauth: ")
			g.log.Info("ending session: its certificate no longer passes the policy", "id", s.ID, "user", s.User, "reason", reason)
			if err := g.endSession(ctx, s, reason); err != nil {
				g.log.Error("ending session", "id", s.ID, "err", err)
			}
		}
	}
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

package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/p2sgw/p2sgw/api"
	"github.com/p2sgw/p2sgw/config"
)

// listener is one socket the gateway serves on, for status and for shutdown.
type listener struct {
	info   api.Listener
	server *http.Server // nil for protocol listeners
	ln     net.Listener
	done   chan struct{}
}

// listenAdmin starts the admin API on the unix socket and, if configured, on TCP with mutual
// TLS.
func (g *Gateway) listenAdmin(cfg *config.Config, h http.Handler) error {
	ln, err := listenUnix(cfg.Admin.Socket)
	if err != nil {
		return err
	}
	g.serveHTTP(api.Listener{Name: "admin", Network: "unix", Address: cfg.Admin.Socket}, ln, h, nil)
	if cfg.Admin.Listen == "" {
		return nil
	}
	tlsCfg, err := adminTLS(cfg.Admin)
	if err != nil {
		return err
	}
	tln, err := net.Listen("tcp", cfg.Admin.Listen)
	if err != nil {
		return fmt.Errorf("admin.listen %s: %w", cfg.Admin.Listen, err)
	}
	g.serveHTTP(api.Listener{Name: "admin-tls", Network: "tcp", Address: tln.Addr().String()}, tln, h, tlsCfg)
	return nil
}

func (g *Gateway) serveHTTP(info api.Listener, ln net.Listener, h http.Handler, tlsCfg *tls.Config) {
	info.State = "listening"
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       60 * time.Second,
		TLSConfig:         tlsCfg,
		ErrorLog:          nil,
	}
	l := &listener{info: info, server: srv, ln: ln, done: make(chan struct{})}
	g.lnMu.Lock()
	g.listeners = append(g.listeners, l)
	g.lnMu.Unlock()
	go func() {
		defer close(l.done)
		var err error
		if tlsCfg != nil {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.log.Error("admin listener failed", "listener", info.Name, "address", info.Address, "err", err)
		}
	}()
	g.log.Info("admin API listening", "listener", info.Name, "network", info.Network, "address", info.Address)
}

// noteProtocolListeners records the configured tunnel types whose listeners this build does
// not have yet (all but IKEv2), so status says so instead of pretending.
func (g *Gateway) noteProtocolListeners(cfg *config.Config) {
	addr := map[string]string{
		config.TunnelIKEv2:   cfg.Listen.IKE + ", " + cfg.Listen.NATT,
		config.TunnelSSTP:    cfg.Listen.SSTP,
		config.TunnelOpenVPN: cfg.Listen.OpenVPN,
	}
	network := map[string]string{config.TunnelIKEv2: "udp", config.TunnelSSTP: "tcp", config.TunnelOpenVPN: "udp"}
	g.lnMu.Lock()
	defer g.lnMu.Unlock()
	for _, t := range cfg.TunnelTypes {
		if (t == config.TunnelIKEv2 || t == config.TunnelSSTP) && !g.opts.AdminOnly {
			continue // started by startIKEv2, startSSTP
		}
		g.listeners = append(g.listeners, &listener{info: api.Listener{
			Name: t, Network: network[t], Address: addr[t], State: notStarted(t, g.opts.AdminOnly),
		}})
		g.log.Warn("tunnel type configured but not available in this build", "tunnel_type", t)
	}
}

func (g *Gateway) closeListeners() {
	g.lnMu.Lock()
	ls := g.listeners
	g.listeners = nil
	g.lnMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, l := range ls {
		if l.server == nil {
			continue
		}
		if err := l.server.Shutdown(ctx); err != nil {
			l.server.Close()
		}
		<-l.done
		if l.info.Network == "unix" {
			os.Remove(l.info.Address)
		}
	}
}

func (g *Gateway) listenerInfo() []api.Listener {
	g.lnMu.Lock()
	defer g.lnMu.Unlock()
	out := make([]api.Listener, 0, len(g.listeners))
	for _, l := range g.listeners {
		out = append(out, l.info)
	}
	return out
}

// listenUnix listens on a unix socket with mode 0600, creating its directory (0755) if needed.
// A stale socket left by a crash is replaced; a live one (another p2sgw serve) is an error.
func listenUnix(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("admin socket directory: %w", err)
	}
	if _, err := os.Stat(path); err == nil {
		c, derr := net.DialTimeout("unix", path, time.Second)
		if derr == nil {
			c.Close()
			return nil, fmt.Errorf("admin socket %s is in use: is another p2sgw serve running?", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale admin socket %s: %w", path, err)
		}
	}
	old := syscall.Umask(0o177) // the socket is never connectable by others, not even briefly
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("admin socket %s: %w", path, err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false) // closeListeners removes it after shutdown
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket %s: %w", path, err)
	}
	return ln, nil
}

// adminTLS builds the TCP admin listener's TLS configuration: the listener's certificate, and
// client certificates required and verified against the admin client CA.
func adminTLS(a config.Admin) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(a.TLSCertificate, a.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("admin.tls_certificate/tls_key: %w", err)
	}
	caPEM, err := os.ReadFile(a.ClientCA)
	if err != nil {
		return nil, fmt.Errorf("admin.client_ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("admin.client_ca: %s holds no PEM certificate", a.ClientCA)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}, nil
}

func notStarted(tunnel string, adminOnly bool) string {
	if (tunnel == config.TunnelIKEv2 || tunnel == config.TunnelSSTP) && adminOnly {
		return "not started: admin-only run"
	}
	return "not started: this build has no " + tunnel + " listener yet"
}

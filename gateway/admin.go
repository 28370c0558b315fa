package gateway

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/p2sgw/p2sgw/api"
	"github.com/p2sgw/p2sgw/certauth"
	"github.com/p2sgw/p2sgw/pki"
	"github.com/p2sgw/p2sgw/session"
	"github.com/p2sgw/p2sgw/store"
)

// The gateway is the admin API's backend.
var _ api.Backend = (*Gateway)(nil)

// nameRE is the rule for root and revocation entry names: like Azure's resource names, no
// spaces.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$`)

func checkName(name string) error {
	if !nameRE.MatchString(name) {
		return api.BadRequest(api.CodeInvalidName, "invalid name %q: use 1 to 80 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	return nil
}

// Status implements api.Backend.
func (g *Gateway) Status(ctx context.Context) (api.Status, error) {
	g.mu.RLock()
	cfg, pools, loadedAt := g.cfg, g.pools, g.loadedAt
	g.mu.RUnlock()
	roots, err := g.st.RootCerts(ctx)
	if err != nil {
		return api.Status{}, err
	}
	revoked, err := g.st.RevokedCerts(ctx)
	if err != nil {
		return api.Status{}, err
	}
	sku := g.sku(cfg)
	st := api.Status{
		Name:          cfg.Name,
		Version:       g.opts.Version,
		PublicAddress: cfg.PublicAddress,
		SKU: api.SKU{
			Name:               sku.Name,
			MaxConnections:     sku.MaxConnections,
			MaxIKEv2OpenVPN:    sku.MaxIKEv2OpenVPN,
			MaxIKEv2:           sku.MaxIKEv2,
			MaxOpenVPN:         sku.MaxOpenVPN,
			MaxSSTP:            sku.MaxSSTP,
			ThroughputMbps:     sku.ThroughputMbps,
			MaxRootCerts:       sku.MaxRootCerts,
			AllowedTunnelTypes: sku.TunnelTypes,
			AllowedAuthTypes:   sku.AuthTypes,
		},
		TunnelTypes:      cfg.TunnelTypes,
		AuthTypes:        cfg.AuthTypes,
		Listeners:        g.listenerInfo(),
		Connections:      api.ConnectionInfo{Total: g.sessions.Count(""), ByProtocol: map[string]int{}},
		RootCerts:        len(roots),
		RevokedCerts:     len(revoked),
		ConfigFile:       g.opts.ConfigPath,
		ConfigLoadedAt:   loadedAt.UTC(),
		StartedAt:        g.startedAt.UTC(),
		VNetAddressSpace: []string{},
		DNSServers:       []string{},
	}
	for _, p := range cfg.VNetAddressSpace {
		st.VNetAddressSpace = append(st.VNetAddressSpace, p.String())
	}
	for _, a := range cfg.DNSServers {
		st.DNSServers = append(st.DNSServers, a.String())
	}
	for _, p := range pools {
		st.Pools = append(st.Pools, api.Pool{Prefix: p.Prefix().String(), Gateway: p.Gateway().String(), Size: p.Size(), InUse: p.InUse()})
	}
	for _, proto := range []string{session.IKEv2, session.SSTP, session.OpenVPN} {
		st.Connections.ByProtocol[proto] = g.sessions.Count(proto)
	}
	if g.aaa != nil {
		st.RADIUSServers = g.aaa.status()
	}
	return st, nil
}

// RootCerts implements api.Backend.
func (g *Gateway) RootCerts(ctx context.Context) ([]api.RootCert, error) {
	roots, err := g.st.RootCerts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]api.RootCert, 0, len(roots))
	for _, r := range roots {
		c, err := x509.ParseCertificate(r.DER)
		if err != nil {
			return nil, fmt.Errorf("trusted root %q in the state database does not parse: %w", r.Name, err)
		}
		out = append(out, rootInfo(r, c))
	}
	return out, nil
}

func rootInfo(r store.RootCert, c *x509.Certificate) api.RootCert {
	s1, s256 := certauth.Thumbprints(r.DER)
	return api.RootCert{
		Name:             r.Name,
		PublicCertData:   base64.StdEncoding.EncodeToString(r.DER),
		Subject:          c.Subject.String(),
		Thumbprint:       s1,
		ThumbprintSHA256: s256,
		NotBefore:        c.NotBefore.UTC(),
		NotAfter:         c.NotAfter.UTC(),
		AddedAt:          r.AddedAt.UTC(),
	}
}

// AddRootCert implements api.Backend: it checks the certificate is a usable CA, within the
// SKU's limit and not uploaded already, stores it and trusts it at once.
func (g *Gateway) AddRootCert(ctx context.Context, req api.AddRootCertRequest) (api.RootCert, error) {
	if err := checkName(req.Name); err != nil {
		return api.RootCert{}, err
	}
	data := strings.Join(strings.Fields(req.PublicCertData), "")
	if data == "" {
		return api.RootCert{}, api.BadRequest(api.CodeInvalidCert, "public_cert_data is empty: give the base64 of the root's .cer (DER) file")
	}
	cert, err := pki.ParseCertificate([]byte(req.PublicCertData))
	if err != nil {
		return api.RootCert{}, api.BadRequest(api.CodeInvalidCert, "public_cert_data is %s", strings.TrimPrefix(err.Error(), "pki: "))
	}
	if err := certauth.CheckRoot(cert, g.now()); err != nil {
		code := api.CodeInvalidCert
		if errors.Is(err, certauth.ErrNotCA) {
			code = api.CodeNotCA
		}
		return api.RootCert{}, api.BadRequest(code, "%s", strings.TrimPrefix(err.Error(), "certauth: "))
	}

	g.trustMu.Lock()
	defer g.trustMu.Unlock()
	roots, err := g.st.RootCerts(ctx)
	if err != nil {
		return api.RootCert{}, err
	}
	for _, r := range roots {
		if r.Name == req.Name {
			return api.RootCert{}, api.Conflict("a root certificate named %q exists already (remove it first to replace it)", req.Name)
		}
		if string(r.DER) == string(cert.Raw) {
			return api.RootCert{}, api.Conflict("this certificate is uploaded already, as %q", r.Name)
		}
	}
	if max := g.sku(g.Config()).MaxRootCerts; max > 0 && len(roots) >= max {
		return api.RootCert{}, api.Errorf(http.StatusForbidden, api.CodeLimit, "the gateway holds %d trusted root certificate(s), the most its SKU %s allows; remove one first", len(roots), g.sku(g.Config()).Name)
	}
	rec := store.RootCert{Name: req.Name, DER: cert.Raw, AddedAt: g.now().UTC()}
	if err := g.st.AddRootCert(ctx, rec); err != nil {
		if errors.Is(err, store.ErrExists) {
			return api.RootCert{}, api.Conflict("a root certificate named %q exists already", req.Name)
		}
		return api.RootCert{}, err
	}
	if err := g.loadTrust(ctx); err != nil {
		return api.RootCert{}, err
	}
	g.log.Info("trusted root certificate added", "name", req.Name, "subject", cert.Subject.String(), "not_after", cert.NotAfter)
	return rootInfo(rec, cert), nil
}

// RemoveRootCert implements api.Backend. Clients chained to the root are refused from now on.
func (g *Gateway) RemoveRootCert(ctx context.Context, name string) error {
	g.trustMu.Lock()
	defer g.trustMu.Unlock()
	if err := g.st.RemoveRootCert(ctx, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return api.NotFound("no root certificate named %q (see p2sgw root-cert list)", name)
		}
		return err
	}
	if err := g.loadTrust(ctx); err != nil {
		return err
	}
	g.log.Info("trusted root certificate removed", "name", name)
	g.recheckSessions(ctx)
	return nil
}

// RevokedCerts implements api.Backend.
func (g *Gateway) RevokedCerts(ctx context.Context) ([]api.RevokedCert, error) {
	recs, err := g.st.RevokedCerts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]api.RevokedCert, 0, len(recs))
	for _, r := range recs {
		out = append(out, api.RevokedCert{Name: r.Name, Thumbprint: r.Thumbprint, AddedAt: r.AddedAt.UTC()})
	}
	return out, nil
}

// AddRevokedCert implements api.Backend.
func (g *Gateway) AddRevokedCert(ctx context.Context, req api.AddRevokedCertRequest) (api.RevokedCert, error) {
	if err := checkName(req.Name); err != nil {
		return api.RevokedCert{}, err
	}
	tp, err := certauth.ParseThumbprint(req.Thumbprint)
	if err != nil {
		return api.RevokedCert{}, api.BadRequest(api.CodeBadThumbprint, "thumbprint %q: %s", req.Thumbprint, strings.TrimPrefix(err.Error(), "certauth: "))
	}
	g.trustMu.Lock()
	defer g.trustMu.Unlock()
	recs, err := g.st.RevokedCerts(ctx)
	if err != nil {
		return api.RevokedCert{}, err
	}
	for _, r := range recs {
		if r.Name == req.Name {
			return api.RevokedCert{}, api.Conflict("a revoked certificate entry named %q exists already", req.Name)
		}
		if r.Thumbprint == tp {
			return api.RevokedCert{}, api.Conflict("thumbprint %s is revoked already, as %q", tp, r.Name)
		}
	}
	rec := store.RevokedCert{Name: req.Name, Thumbprint: tp, AddedAt: g.now().UTC()}
	if err := g.st.AddRevokedCert(ctx, rec); err != nil {
		if errors.Is(err, store.ErrExists) {
			return api.RevokedCert{}, api.Conflict("a revoked certificate entry named %q exists already", req.Name)
		}
		return api.RevokedCert{}, err
	}
	if err := g.loadTrust(ctx); err != nil {
		return api.RevokedCert{}, err
	}
	g.log.Info("client certificate revoked", "name", req.Name, "thumbprint", tp)
	g.recheckSessions(ctx)
	return api.RevokedCert{Name: rec.Name, Thumbprint: rec.Thumbprint, AddedAt: rec.AddedAt}, nil
}

// RemoveRevokedCert implements api.Backend: the certificate may connect again.
func (g *Gateway) RemoveRevokedCert(ctx context.Context, name string) error {
	g.trustMu.Lock()
	defer g.trustMu.Unlock()
	if err := g.st.RemoveRevokedCert(ctx, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return api.NotFound("no revoked certificate entry named %q (see p2sgw revoked-cert list)", name)
		}
		return err
	}
	if err := g.loadTrust(ctx); err != nil {
		return err
	}
	g.log.Info("client certificate reinstated", "name", name)
	return nil
}

// Connections implements api.Backend.
func (g *Gateway) Connections(ctx context.Context) ([]api.Connection, error) {
	now := g.now()
	list := g.sessions.List()
	out := make([]api.Connection, 0, len(list))
	for _, s := range list {
		c := api.Connection{
			ID:          s.ID,
			User:        s.User,
			Protocol:    s.Protocol,
			AuthMethod:  s.AuthMethod,
			ConnectedAt: s.StartedAt.UTC(),
			DurationSec: int64(now.Sub(s.StartedAt).Seconds()),
		}
		tr := s.Traffic()
		c.IngressBytes, c.IngressPackets, c.EgressBytes, c.EgressPackets = tr.IngressBytes, tr.IngressPackets, tr.EgressBytes, tr.EgressPackets
		if pa := s.PublicAddr; s.Remote != nil {
			c.PublicAddress = s.Remote().String()
		} else if pa.IsValid() {
			c.PublicAddress = pa.String()
		}
		if s.VPNAddr.IsValid() {
			c.VPNAddress = s.VPNAddr.String()
		}
		out = append(out, c)
	}
	return out, nil
}

// Disconnect implements api.Backend. Every id must be a live connection; if one is not,
// nothing is disconnected and the error names it.
func (g *Gateway) Disconnect(ctx context.Context, ids []string) ([]string, error) {
	var unknown []string
	for _, id := range ids {
		if g.sessions.Get(id) == nil {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		return nil, api.NotFound("no connection with id %s (see p2sgw connections list)", strings.Join(unknown, ", "))
	}
	var done []string
	for _, id := range ids {
		s := g.sessions.Get(id)
		if s == nil {
			continue // ended on its own meanwhile
		}
		if err := g.endSession(ctx, s, "disconnected by admin"); err != nil {
			return done, err
		}
		g.log.Info("connection disconnected by admin", "id", id, "user", s.User, "protocol", s.Protocol)
		done = append(done, id)
	}
	return done, nil
}

// Reload implements api.Backend: it reads the configuration file again and applies it. An
// invalid file is refused (400, naming its problems) and the running configuration stays.
func (g *Gateway) Reload(ctx context.Context) (api.ReloadResult, error) {
	kept, err := g.reload(ctx)
	if err != nil {
		return api.ReloadResult{}, api.BadRequest(api.CodeInvalidConfig, "%v", err)
	}
	return api.ReloadResult{Result: "reloaded", NeedsRestart: kept}, nil
}

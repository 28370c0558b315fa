package gateway

import (
	"context"
	"os"
	"slices"

	"github.com/p2sgw/p2sgw/api"
	"github.com/p2sgw/p2sgw/config"
)

// VPN client authentication methods, as `vpn-client generate --auth` names them.
const (
	clientAuthCertificate = "certificate"  // IKEv2 certificate (Windows: EAP-TLS in IKEv2/SSTP)
	clientAuthEAPTLS      = "eap-tls"      // EAP-TLS everywhere
	clientAuthMSCHAPv2    = "eap-mschapv2" // user name and password, checked by RADIUS
)

// VPNClientSettings implements api.Backend: the live configuration as the VPN client
// configuration package describes it, so a package always matches the gateway.
func (g *Gateway) VPNClientSettings(ctx context.Context, auth string) (api.VPNClientSettings, error) {
	cfg := g.Config()
	cert := slices.Contains(cfg.AuthTypes, config.AuthCertificate)
	radius := slices.Contains(cfg.AuthTypes, config.AuthRADIUS)
	switch auth {
	case "":
		auth = clientAuthCertificate
		if !cert {
			auth = clientAuthMSCHAPv2
		}
	case clientAuthCertificate, clientAuthEAPTLS:
		if !cert {
			return api.VPNClientSettings{}, api.BadRequest(api.CodeBadRequest, "--auth %s needs certificate in the gateway's auth_types (it has %v)", auth, cfg.AuthTypes)
		}
	case clientAuthMSCHAPv2:
		if !radius {
			return api.VPNClientSettings{}, api.BadRequest(api.CodeBadRequest, "--auth eap-mschapv2 needs radius in the gateway's auth_types (it has %v)", cfg.AuthTypes)
		}
	default:
		return api.VPNClientSettings{}, api.BadRequest(api.CodeBadRequest, "unknown auth %q: use certificate, eap-tls or eap-mschapv2", auth)
	}
	if cfg.ServerRoot == "" {
		return api.VPNClientSettings{}, api.BadRequest(api.CodeInvalidConfig, "server_root is not set in the configuration: the package must carry the root that signed the gateway's certificate (p2sgw init writes pki/server-root.crt)")
	}
	root, err := os.ReadFile(cfg.ServerRoot)
	if err != nil {
		return api.VPNClientSettings{}, err
	}
	s := api.VPNClientSettings{Name: cfg.Name, Server: cfg.PublicAddress, Auth: auth, ServerRootPEM: string(root), Routes: []string{}, DNSServers: []string{}}
	for _, t := range cfg.TunnelTypes {
		if t == config.TunnelIKEv2 || t == config.TunnelSSTP {
			s.TunnelTypes = append(s.TunnelTypes, t)
		}
	}
	for _, p := range cfg.VNetAddressSpace {
		s.Routes = append(s.Routes, p.String())
	}
	if cfg.ClientToClient {
		for _, p := range cfg.ClientAddressPools {
			s.Routes = append(s.Routes, p.String())
		}
	}
	for _, a := range cfg.DNSServers {
		s.DNSServers = append(s.DNSServers, a.String())
	}
	return s, nil
}

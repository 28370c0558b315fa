package api

import (
	"fmt"
	"net/netip"

	"github.com/p2sgw/p2sgw/clientconfig"
	"github.com/p2sgw/p2sgw/pki"
)

// Package renders the VPN client configuration zip from s, with client's identity embedded
// when it is not nil.
func (s VPNClientSettings) Package(client *clientconfig.Client) ([]byte, error) {
	cs := clientconfig.Settings{Name: s.Name, Server: s.Server, TunnelTypes: s.TunnelTypes, Auth: s.Auth, Client: client}
	for _, r := range s.Routes {
		p, err := netip.ParsePrefix(r)
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", r, err)
		}
		cs.Routes = append(cs.Routes, p)
	}
	for _, d := range s.DNSServers {
		a, err := netip.ParseAddr(d)
		if err != nil {
			return nil, fmt.Errorf("DNS server %q: %w", d, err)
		}
		cs.DNS = append(cs.DNS, a)
	}
	root, err := pki.ParseCertificate([]byte(s.ServerRootPEM))
	if err != nil {
		return nil, fmt.Errorf("server root: %w", err)
	}
	cs.ServerRoot = root
	files, err := clientconfig.Generate(cs)
	if err != nil {
		return nil, err
	}
	return clientconfig.Zip(files)
}

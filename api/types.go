package api

import "time"

// RootCert is a trusted root certificate (Azure's VpnClientRootCertificate).
type RootCert struct {
	Name string `json:"name"`
	// PublicCertData is the base64 of the DER certificate, as Azure's --public-cert-data.
	PublicCertData   string    `json:"public_cert_data"`
	Subject          string    `json:"subject"`
	Thumbprint       string    `json:"thumbprint"`        // SHA-1, upper-case hex (Azure's form)
	ThumbprintSHA256 string    `json:"thumbprint_sha256"` // upper-case hex
	NotBefore        time.Time `json:"not_before"`
	NotAfter         time.Time `json:"not_after"`
	AddedAt          time.Time `json:"added_at"`
}

// AddRootCertRequest uploads a root: PublicCertData is base64 of the DER certificate.
type AddRootCertRequest struct {
	Name           string `json:"name"`
	PublicCertData string `json:"public_cert_data"`
}

// RevokedCert is a revoked client certificate (Azure's VpnClientRevokedCertificate).
type RevokedCert struct {
	Name       string    `json:"name"`
	Thumbprint string    `json:"thumbprint"` // upper-case hex, SHA-1 or SHA-256
	AddedAt    time.Time `json:"added_at"`
}

// AddRevokedCertRequest revokes a thumbprint (any case, colons and spaces allowed).
type AddRevokedCertRequest struct {
	Name       string `json:"name"`
	Thumbprint string `json:"thumbprint"`
}

// Connection is one connected client: Azure's connection health fields
// (VpnClientConnectionHealthDetail).
type Connection struct {
	ID             string    `json:"id"`             // vpnConnectionId: IKEv2_…, SSTP_…, OVPN_…
	User           string    `json:"user"`           // vpnUserName
	PublicAddress  string    `json:"public_address"` // publicIpAddress, ip:port
	VPNAddress     string    `json:"vpn_address"`    // privateIpAddress
	Protocol       string    `json:"protocol"`
	AuthMethod     string    `json:"auth_method"`
	ConnectedAt    time.Time `json:"connected_at"`     // vpnConnectionTime
	DurationSec    int64     `json:"duration_seconds"` // vpnConnectionDuration
	IngressBytes   uint64    `json:"ingress_bytes"`    // ingressBytesTransferred (from the client)
	EgressBytes    uint64    `json:"egress_bytes"`     // egressBytesTransferred (to the client)
	IngressPackets uint64    `json:"ingress_packets"`
	EgressPackets  uint64    `json:"egress_packets"`
}

// DisconnectRequest names the connections to end.
type DisconnectRequest struct {
	IDs []string `json:"ids"`
}

// DisconnectResponse lists the connections that were ended.
type DisconnectResponse struct {
	Disconnected []string `json:"disconnected"`
}

// Status is the gateway at a glance.
type Status struct {
	Name             string         `json:"name"`
	Version          string         `json:"version"`
	PublicAddress    string         `json:"public_address"`
	SKU              SKU            `json:"sku"`
	TunnelTypes      []string       `json:"tunnel_types"`
	AuthTypes        []string       `json:"auth_types"`
	VNetAddressSpace []string       `json:"vnet_address_space"`
	DNSServers       []string       `json:"dns_servers"`
	Listeners        []Listener     `json:"listeners"`
	Pools            []Pool         `json:"pools"`
	Connections      ConnectionInfo `json:"connections"`
	RootCerts        int            `json:"root_certs"`
	RevokedCerts     int            `json:"revoked_certs"`
	RADIUSServers    []RADIUSServer `json:"radius_servers,omitempty"`
	ConfigFile       string         `json:"config_file"`
	ConfigLoadedAt   time.Time      `json:"config_loaded_at"`
	StartedAt        time.Time      `json:"started_at"`
}

// VPNClientSettings are what the VPN client configuration package describes.
type VPNClientSettings struct {
	Name          string   `json:"name"`
	Server        string   `json:"server"`
	TunnelTypes   []string `json:"tunnel_types"`
	Auth          string   `json:"auth"` // certificate, eap-tls or eap-mschapv2
	Routes        []string `json:"routes"`
	DNSServers    []string `json:"dns_servers"`
	ServerRootPEM string   `json:"server_root_pem"`
}

// RADIUSServer is one RADIUS server's health as the gateway sees it.
type RADIUSServer struct {
	Address      string    `json:"address"`
	AcctAddress  string    `json:"acct_address"`
	Priority     int       `json:"priority"`
	State        string    `json:"state"` // unknown (not asked yet), up, down
	LastError    string    `json:"last_error,omitempty"`
	LastOK       time.Time `json:"last_ok,omitzero"`
	Requests     uint64    `json:"requests"`
	Timeouts     uint64    `json:"timeouts"`
	BadResponses uint64    `json:"bad_responses"`
}

// SKU is a gateway SKU's limits; 0 means no limit.
type SKU struct {
	Name               string   `json:"name"`
	MaxConnections     int      `json:"max_connections"`
	MaxIKEv2OpenVPN    int      `json:"max_ikev2_openvpn_connections"`
	MaxIKEv2           int      `json:"max_ikev2_connections"`
	MaxOpenVPN         int      `json:"max_openvpn_connections"`
	MaxSSTP            int      `json:"max_sstp_connections"`
	ThroughputMbps     int      `json:"throughput_mbps"`
	MaxRootCerts       int      `json:"max_root_certs"`
	AllowedTunnelTypes []string `json:"allowed_tunnel_types"`
	AllowedAuthTypes   []string `json:"allowed_auth_types"`
}

// Listener is one socket the gateway serves on, or one configured but not running.
type Listener struct {
	Name    string `json:"name"`    // "admin", "admin-tls", "ikev2", …
	Network string `json:"network"` // "unix", "tcp", "udp"
	Address string `json:"address"`
	State   string `json:"state"` // "listening", or why not
}

// Pool is one client address pool's use.
type Pool struct {
	Prefix  string `json:"prefix"`
	Gateway string `json:"gateway"`
	Size    int    `json:"size"`
	InUse   int    `json:"in_use"`
}

// ConnectionInfo counts live connections.
type ConnectionInfo struct {
	Total      int            `json:"total"`
	ByProtocol map[string]int `json:"by_protocol"`
}

// ReloadResult says what a reload did.
type ReloadResult struct {
	Result string `json:"result"` // "reloaded"
	// NeedsRestart lists the changed settings that apply only after p2sgw serve restarts
	// (listen addresses, state_dir, admin, name, log.format); the running values stay.
	NeedsRestart []string `json:"needs_restart"`
}

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error Error `json:"error"`
}

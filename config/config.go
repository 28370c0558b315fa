// Package config is the gateway's configuration: the typed form of gateway.yaml, its defaults,
// strict decoding (an unknown key is an error), validation with messages a user can act on, and
// the SKU profiles (connection and throughput limits, allowed tunnel and auth types).
//
// It reads files (the config, certificates, secrets) but opens no sockets and starts nothing:
// package gateway builds the running system from a validated Config.
package config

import (
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/p2sgw/p2sgw/internal/logcat"
)

// DefaultPath is where p2sgw serve looks for its configuration.
const DefaultPath = "/etc/p2sgw/gateway.yaml"

// Defaults for paths and listeners.
const (
	DefaultStateDir    = "/var/lib/p2sgw"
	DefaultSocket      = "/run/p2sgw/control.sock"
	DefaultIKEListen   = ":500"
	DefaultNATTListen  = ":4500"
	DefaultSSTPListen  = ":443"
	DefaultOVPNListen  = ":1194"
	DefaultSKU         = "VpnGw1"
	DefaultLogFormat   = "text"
	DefaultLogLevel    = "info"
	DefaultTUN         = "p2sgw0"
	DefaultRADIUSPort  = 1812
	DefaultRADIUSAcct  = 1813
	MinPoolPrefixBits4 = 29 // the smallest pool is a /29, as Azure's
	MaxPoolPrefixBits4 = 8  // the largest pool is a /8
)

// Tunnel types.
const (
	TunnelIKEv2   = "ikev2"
	TunnelSSTP    = "sstp"
	TunnelOpenVPN = "openvpn"
)

// Auth types.
const (
	AuthCertificate = "certificate"
	AuthRADIUS      = "radius"
)

// Config is gateway.yaml. Paths may be relative: they are relative to the file's directory
// and Load makes them absolute.
type Config struct {
	// Name identifies the gateway (Azure's virtual network gateway name); it is the
	// NAS-Identifier default and the node name in logs.
	Name string `yaml:"name"`
	// SKU is Basic, VpnGw1…VpnGw5 or Custom (then Limits is required).
	SKU string `yaml:"sku"`
	// Limits sets a Custom SKU's limits; it is an error with any other SKU.
	Limits *Limits `yaml:"limits,omitempty"`
	// PublicAddress is the FQDN or IP address clients connect to; the server certificate
	// must name it.
	PublicAddress string `yaml:"public_address"`
	// ServerCertificate is a PEM file with the gateway's certificate first, then its chain.
	ServerCertificate string `yaml:"server_certificate"`
	// ServerKey is the PEM private key of ServerCertificate.
	ServerKey string `yaml:"server_key"`
	// ServerRoot is the CA that signed ServerCertificate (the "VpnServerRoot" that clients
	// must trust); it goes into the VPN client configuration package.
	ServerRoot string `yaml:"server_root,omitempty"`
	// ClientAddressPools are the prefixes client addresses come from (Azure's
	// VpnClientAddressPool).
	ClientAddressPools []netip.Prefix `yaml:"client_address_pools"`
	// VNetAddressSpace are the prefixes behind the gateway that clients reach.
	VNetAddressSpace []netip.Prefix `yaml:"vnet_address_space"`
	// DNSServers are pushed to clients.
	DNSServers []netip.Addr `yaml:"dns_servers,omitempty"`
	// TunnelTypes are the enabled protocols: ikev2, sstp, openvpn.
	TunnelTypes []string `yaml:"tunnel_types"`
	// AuthTypes are the enabled client authentication types: certificate, radius.
	AuthTypes []string `yaml:"auth_types"`
	// LegacyWindowsProposals also accepts the Windows built-in client's defaults (MODP-1024,
	// SHA-1): weak, off by default; our Windows profile sets a strong policy instead.
	LegacyWindowsProposals bool `yaml:"legacy_windows_proposals"`
	// ClientToClient lets clients reach each other's addresses (off: they reach only the VNet).
	ClientToClient bool `yaml:"client_to_client"`
	// SSTPPAP also offers PAP to SSTP clients (with RADIUS): the password travels in the clear
	// inside TLS and the SSTP crypto binding cannot protect it (its key is all zeros). Off by
	// default; MS-CHAPv2 and EAP are offered either way.
	SSTPPAP bool `yaml:"sstp_pap"`
	// IKE tunes IKEv2 timers.
	IKE IKE `yaml:"ike"`
	// TUN is the name of the data plane's TUN device, which holds each pool's gateway address.
	TUN string `yaml:"tun,omitempty"`
	// RADIUS is required when AuthTypes has radius.
	RADIUS *RADIUS `yaml:"radius,omitempty"`
	// Listen sets the protocol listeners' addresses.
	Listen Listen `yaml:"listen"`
	// StateDir holds the state database.
	StateDir string `yaml:"state_dir"`
	// Admin sets the admin API's listeners.
	Admin Admin `yaml:"admin"`
	// MetricsListen, if set, serves /metrics and /healthz in plain HTTP on this host:port, for
	// a Prometheus server and load balancers (the admin listeners serve /metrics too).
	MetricsListen string `yaml:"metrics_listen,omitempty"`
	// Log sets logging.
	Log Log `yaml:"log"`
}

// Limits are a Custom SKU's limits. Zero means "no limit" except for MaxConnections, which a
// Custom SKU must set.
type Limits struct {
	MaxConnections        int `yaml:"max_connections"`                   // all protocols together
	MaxIKEv2Connections   int `yaml:"max_ikev2_connections,omitempty"`   // 0: only MaxConnections applies
	MaxSSTPConnections    int `yaml:"max_sstp_connections,omitempty"`    // 0: only MaxConnections applies
	MaxOpenVPNConnections int `yaml:"max_openvpn_connections,omitempty"` // 0: only MaxConnections applies
	MaxMbps               int `yaml:"max_mbps,omitempty"`                // aggregate; 0: unshaped
	MaxRootCerts          int `yaml:"max_root_certs,omitempty"`          // 0: 20, as Azure
}

// RADIUS configures the RADIUS client.
type RADIUS struct {
	Servers []RADIUSServer `yaml:"servers"`
	// NASIdentifier defaults to the gateway's Name.
	NASIdentifier string `yaml:"nas_identifier,omitempty"`
	// Timeout per try, e.g. "5s"; Retries is the number of tries after the first.
	Timeout string `yaml:"timeout,omitempty"`
	Retries *int   `yaml:"retries,omitempty"`
	// Accounting turns RADIUS accounting (RFC 2866) of RADIUS-authenticated sessions on or
	// off; on by default.
	Accounting *bool `yaml:"accounting,omitempty"`
	// InterimInterval is how often an Interim-Update reports a session's traffic, e.g. "5m".
	InterimInterval string `yaml:"interim_interval,omitempty"`
}

// Interim returns the Interim-Update interval; Validate has checked it.
func (r *RADIUS) Interim() time.Duration {
	d, _ := time.ParseDuration(r.InterimInterval)
	return d
}

// RADIUSServer is one RADIUS server. Exactly one of Secret and SecretFile is set.
type RADIUSServer struct {
	Address     string `yaml:"address"`                // host:port (auth port; default 1812)
	AcctAddress string `yaml:"acct_address,omitempty"` // host:port; default host:1813
	Secret      string `yaml:"secret,omitempty"`
	SecretFile  string `yaml:"secret_file,omitempty"`
	Priority    int    `yaml:"priority,omitempty"` // lower is tried first
}

// Listen holds the protocol listeners' host:port addresses.
type Listen struct {
	IKE     string `yaml:"ike"`     // UDP, default :500
	NATT    string `yaml:"nat_t"`   // UDP, default :4500
	SSTP    string `yaml:"sstp"`    // TCP, default :443
	OpenVPN string `yaml:"openvpn"` // default :1194
}

// Admin configures the admin API: always a unix socket, optionally TCP with mutual TLS.
type Admin struct {
	Socket string `yaml:"socket"`
	// Listen is a host:port for the admin API over TCP with mutual TLS; empty disables it.
	Listen string `yaml:"listen,omitempty"`
	// TLSCertificate and TLSKey are the TCP listener's server certificate and key.
	TLSCertificate string `yaml:"tls_certificate,omitempty"`
	TLSKey         string `yaml:"tls_key,omitempty"`
	// ClientCA is the CA whose client certificates may use the TCP listener.
	ClientCA string `yaml:"client_ca,omitempty"`
}

// IKE holds the IKEv2 timers, as Go durations ("30s", "2m").
type IKE struct {
	// DPDInterval is how long a client may be silent (no IKE, no ESP) before the gateway
	// checks it is alive (dead peer detection).
	DPDInterval string `yaml:"dpd_interval"`
	// DeadPeerTimeout is how long the gateway retransmits a request (a liveness check) without
	// an answer before it removes the client and frees its address.
	DeadPeerTimeout string `yaml:"dead_peer_timeout"`
	// ChildLifetime is how long the gateway uses a CHILD SA's keys before it rekeys the SA
	// itself, if the client has not rekeyed it first (clients usually do, sooner).
	ChildLifetime string `yaml:"child_lifetime"`
	// IKELifetime is the same for the IKE SA.
	IKELifetime string `yaml:"ike_lifetime"`
}

// Default IKE timers.
const (
	DefaultDPDInterval     = "30s"
	DefaultDeadPeerTimeout = "2m"
	DefaultChildLifetime   = "3h"
	DefaultIKELifetime     = "8h"
)

// IKEDurations are the IKE timers, parsed.
type IKEDurations struct {
	DPDInterval, DeadPeerTimeout, ChildLifetime, IKELifetime time.Duration
}

// Durations returns the parsed timers; Validate has checked them.
func (k IKE) Durations() IKEDurations {
	parse := func(s string) time.Duration {
		d, _ := time.ParseDuration(s)
		return d
	}
	return IKEDurations{
		DPDInterval:     parse(k.DPDInterval),
		DeadPeerTimeout: parse(k.DeadPeerTimeout),
		ChildLifetime:   parse(k.ChildLifetime),
		IKELifetime:     parse(k.IKELifetime),
	}
}

// Log configures logging.
type Log struct {
	Format string `yaml:"format"` // text or json
	// Level is the default level: debug, info, warn or error.
	Level string `yaml:"level"`
	// Categories sets the level of a category of log lines (logcat.Categories: p2s, ikev2,
	// sstp, radius, dataplane, admin, gateway), like an Azure gateway's diagnostic log
	// categories; a category absent here logs at Level. Nil and empty mean none.
	Categories map[string]string `yaml:"categories,omitempty"`
}

// Levels returns the default level and the level of each category in Categories, for
// logcat.Levels.Set; Validate has checked them. A level that does not parse (a Log that
// was not validated) counts as info, and a category whose level does not parse is left out.
func (l Log) Levels() (def slog.Level, per map[string]slog.Level) {
	def, err := logcat.ParseLevel(l.Level)
	if err != nil {
		def = slog.LevelInfo
	}
	for name, s := range l.Categories {
		lv, err := logcat.ParseLevel(s)
		if err != nil {
			continue
		}
		if per == nil {
			per = make(map[string]slog.Level, len(l.Categories))
		}
		per[strings.ToLower(name)] = lv
	}
	return def, per
}

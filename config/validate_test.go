package config

import (
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestValidConfig(t *testing.T) {
	tf := newTestFiles(t)
	for name, mutate := range map[string]func(*Config){
		"minimal":           func(c *Config) {},
		"radius":            func(c *Config) { withRADIUS(tf, c) },
		"radius only":       func(c *Config) { withRADIUS(tf, c); c.AuthTypes = []string{AuthRADIUS} },
		"basic sstp":        func(c *Config) { c.SKU = "basic"; c.TunnelTypes = []string{"SSTP"} },
		"custom":            func(c *Config) { c.SKU = "custom"; c.Limits = &Limits{MaxConnections: 50} },
		"ip public address": func(c *Config) { c.PublicAddress = "198.18.0.1" },
		"rsa pkcs1 key":     func(c *Config) { c.ServerCertificate, c.ServerKey = tf.rsaCert, tf.rsaKeyPKCS1 },
		"ec sec1 key":       func(c *Config) { c.ServerKey = tf.ecKeySEC1 },
		"no server root":    func(c *Config) { c.ServerRoot = "" },
		"all tunnels":       func(c *Config) { c.TunnelTypes = []string{"ikev2", "sstp", "openvpn"} },
		"two dns servers": func(c *Config) {
			c.DNSServers = []netip.Addr{netip.MustParseAddr("198.19.0.4"), netip.MustParseAddr("2001:db8::53")}
		},
		"several prefixes": func(c *Config) { c.VNetAddressSpace = prefixes("10.1.0.0/16", "10.2.0.0/16", "192.168.0.0/24") },
		"log categories": func(c *Config) {
			c.Log.Categories = map[string]string{"p2s": "debug", "IKEv2": "DEBUG", "radius": "warn", "gateway": "error"}
		},
		"admin tcp": func(c *Config) {
			c.Admin.Listen = "127.0.0.1:8443"
			c.Admin.TLSCertificate, c.Admin.TLSKey, c.Admin.ClientCA = tf.cert, tf.key, tf.root
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := validConfig(tf)
			mutate(c)
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if w := c.Warnings(); len(w) != 0 {
				t.Errorf("Warnings: %v", w)
			}
		})
	}
}

func TestValidateRules(t *testing.T) {
	tf := newTestFiles(t)
	missing := filepath.Join(tf.dir, "missing.pem")
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		// name
		{"name empty", func(c *Config) { c.Name = "" }, `name: required: a short name for this gateway, e.g. "gw1"`},
		{"name too long", func(c *Config) { c.Name = strings.Repeat("a", 81) }, `name: 81 characters is too long (at most 80)`},
		{"name bad char", func(c *Config) { c.Name = "gw 1" }, `name: "gw 1" holds ' '; use letters, digits, '.', '_' and '-'`},
		{"name non-ascii", func(c *Config) { c.Name = "gwé" }, `name: "gwé" holds 'é'; use letters, digits, '.', '_' and '-'`},
		{"name leading dash", func(c *Config) { c.Name = "-gw" }, `name: "-gw" must start with a letter or a digit`},

		// sku and limits
		{"sku empty", func(c *Config) { c.SKU = "" }, `sku: required: one of Basic, VpnGw1, VpnGw2, VpnGw3, VpnGw4, VpnGw5 or Custom`},
		{"sku unknown", func(c *Config) { c.SKU = "VpnGw9" }, `sku: unknown SKU "VpnGw9" (want Basic, VpnGw1, VpnGw2, VpnGw3, VpnGw4, VpnGw5 or Custom)`},
		{"sku az", func(c *Config) { c.SKU = "VpnGw2AZ" }, `sku: unknown SKU "VpnGw2AZ" (want Basic, VpnGw1, VpnGw2, VpnGw3, VpnGw4, VpnGw5 or Custom); zone-redundant SKUs have the same P2S limits: use VpnGw2`},
		{"limits without custom", func(c *Config) { c.Limits = &Limits{MaxConnections: 10} }, `limits: only allowed with sku Custom (sku VpnGw1 has fixed limits)`},
		{"custom without limits", func(c *Config) { c.SKU = "Custom" }, `limits: required with sku Custom (set at least max_connections)`},
		{"custom zero max", func(c *Config) { c.SKU = "Custom"; c.Limits = &Limits{MaxSSTPConnections: 5} }, `limits.max_connections: must be at least 1 with sku Custom (got 0)`},
		{"limits negative", func(c *Config) { c.SKU = "Custom"; c.Limits = &Limits{MaxConnections: 5, MaxSSTPConnections: -1} }, `limits.max_sstp_connections: -1 is negative (0 means no cap of its own)`},
		{"limits negative mbps", func(c *Config) { c.SKU = "Custom"; c.Limits = &Limits{MaxConnections: 5, MaxMbps: -10} }, `limits.max_mbps: -10 is negative (0 means unshaped)`},
		{"limits negative roots", func(c *Config) { c.SKU = "Custom"; c.Limits = &Limits{MaxConnections: 5, MaxRootCerts: -1} }, `limits.max_root_certs: -1 is negative (0 means 20)`},

		// public_address
		{"public address empty", func(c *Config) { c.PublicAddress = "" }, `public_address: required: the DNS name or IP address clients connect to, e.g. vpn.example.com`},
		{"public address scheme", func(c *Config) { c.PublicAddress = "https://vpn.example.com/" }, `public_address: "https://vpn.example.com/" has a scheme (https://); give the bare name, e.g. vpn.example.com`},
		{"public address port", func(c *Config) { c.PublicAddress = "vpn.example.com:443" }, `public_address: "vpn.example.com:443" has a port (443); give the bare vpn.example.com (ports are set under listen)`},
		{"public address bad label", func(c *Config) { c.PublicAddress = "vpn_gw.example.com" }, `public_address: "vpn_gw.example.com" is neither an IP address nor a DNS name: it holds '_'; use letters, digits and hyphens between dots`},
		{"public address hyphen", func(c *Config) { c.PublicAddress = "-vpn.example.com" }, `public_address: "-vpn.example.com" is neither an IP address nor a DNS name: label "-vpn" starts or ends with a hyphen`},
		{"public address long label", func(c *Config) { c.PublicAddress = strings.Repeat("a", 64) + ".com" }, `public_address: "` + strings.Repeat("a", 64) + `.com" is neither an IP address nor a DNS name: label "aaaaaaaaaaaaaaaaaaaa"… is longer than 63 characters`},
		{"public address too long", func(c *Config) { c.PublicAddress = strings.Repeat("a.", 127) + "com" }, `public_address: "` + strings.Repeat("a.", 127) + `com" is neither an IP address nor a DNS name: it is longer than 253 characters`},
		{"public address empty label", func(c *Config) { c.PublicAddress = "vpn..example.com" }, `public_address: "vpn..example.com" is neither an IP address nor a DNS name: it has an empty label (two dots, or a dot at an end)`},
		{"public address bad ip", func(c *Config) { c.PublicAddress = "10.1.0.300" }, `public_address: "10.1.0.300" is neither an IP address nor a DNS name: its last label is a number`},
		{"public address unspecified", func(c *Config) { c.PublicAddress = "0.0.0.0" }, `public_address: 0.0.0.0 is not an address clients can connect to`},

		// server certificate, key and root
		{"server cert empty", func(c *Config) { c.ServerCertificate = "" }, `server_certificate: required: a PEM file with the gateway's certificate, then its chain`},
		{"server cert missing", func(c *Config) { c.ServerCertificate = missing }, `server_certificate: ` + missing + ` does not exist`},
		{"server cert directory", func(c *Config) { c.ServerCertificate = tf.dir }, `server_certificate: ` + tf.dir + ` is not a regular file`},
		{"server cert not pem", func(c *Config) { c.ServerCertificate = tf.notPEM }, `server_certificate: ` + tf.notPEM + `: no PEM CERTIFICATE block`},
		{"server cert expired", func(c *Config) { c.ServerCertificate, c.ServerKey = tf.expiredCert, tf.expiredKey }, `server_certificate: ` + tf.expiredCert + ` (CN=vpn.example.com) expired on `},
		{"server key empty", func(c *Config) { c.ServerKey = "" }, `server_key: required: the PEM private key of server_certificate`},
		{"server key missing", func(c *Config) { c.ServerKey = missing }, `server_key: ` + missing + ` does not exist`},
		{"server key not pem", func(c *Config) { c.ServerKey = tf.notPEM }, `server_key: ` + tf.notPEM + `: not a private key: expected a PEM or DER private key (PKCS#8, PKCS#1 or SEC 1)`},
		{"server key encrypted", func(c *Config) { c.ServerKey = tf.encryptedKey }, `server_key: ` + tf.encryptedKey + `: private key is encrypted: decrypt it first`},
		{"server key mismatch", func(c *Config) { c.ServerKey = tf.otherKey }, `server_key: key does not match server_certificate (the key is ECDSA P-256 SHA256:`},
		{"server root not pem", func(c *Config) { c.ServerRoot = tf.notPEM }, `server_root: ` + tf.notPEM + `: no PEM CERTIFICATE block`},

		// client_address_pools
		{"pools empty", func(c *Config) { c.ClientAddressPools = nil }, `client_address_pools: at least one prefix is required (e.g. 172.16.201.0/24); clients get their addresses from it`},
		{"pools too many", func(c *Config) {
			c.ClientAddressPools = nil
			for i := range 33 {
				c.ClientAddressPools = append(c.ClientAddressPools, netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64, byte(i), 0}), 24))
			}
		}, `client_address_pools: 33 pools is too many (at most 32)`},
		{"pool zero", func(c *Config) { c.ClientAddressPools = []netip.Prefix{{}} }, `client_address_pools[0]: empty; want an IP prefix such as 10.1.0.0/24`},
		{"pool ipv6", func(c *Config) { c.ClientAddressPools = prefixes("2001:db8::/64") }, `client_address_pools[0]: 2001:db8::/64 is IPv6; IPv6 pools are not supported yet`},
		{"pool host bits", func(c *Config) { c.ClientAddressPools = prefixes("10.1.0.1/24") }, `client_address_pools[0]: 10.1.0.1/24 has host bits set; did you mean 10.1.0.0/24?`},
		{"pool too small", func(c *Config) { c.ClientAddressPools = prefixes("100.64.0.0/30") }, `client_address_pools[0]: 100.64.0.0/30 is too small; a pool must be at least a /29 (8 addresses)`},
		{"dpd interval not a duration", func(c *Config) { c.IKE.DPDInterval = "often" }, `ike.dpd_interval: "often" is not a duration; write e.g. 30s or 2m`},
		{"dead peer timeout too long", func(c *Config) { c.IKE.DeadPeerTimeout = "3h" }, `ike.dead_peer_timeout: 3h0m0s is out of range; use 2s to 1h0m0s`},
		{"child lifetime too short", func(c *Config) { c.IKE.ChildLifetime = "1s" }, `ike.child_lifetime: 1s is out of range; use 2s to 24h0m0s`},
		{"IKE lifetime too long", func(c *Config) { c.IKE.IKELifetime = "48h" }, `ike.ike_lifetime: 48h0m0s is out of range; use 2s to 24h0m0s`},
		{"pool too large", func(c *Config) { c.ClientAddressPools = prefixes("100.0.0.0/7") }, `client_address_pools[0]: 100.0.0.0/7 is too large; a pool may be at most a /8 (use several pools)`},
		{"pool everything", func(c *Config) { c.ClientAddressPools = prefixes("0.0.0.0/0") }, `client_address_pools[0]: 0.0.0.0/0 covers every address; list the prefixes themselves`},
		{"pool loopback", func(c *Config) { c.ClientAddressPools = prefixes("127.1.0.0/24") }, `client_address_pools[0]: 127.1.0.0/24 overlaps the loopback range 127.0.0.0/8`},
		{"pool multicast", func(c *Config) { c.ClientAddressPools = prefixes("224.1.0.0/24") }, `client_address_pools[0]: 224.1.0.0/24 overlaps the multicast range 224.0.0.0/4`},
		{"pool link-local", func(c *Config) { c.ClientAddressPools = prefixes("169.254.0.0/24") }, `client_address_pools[0]: 169.254.0.0/24 overlaps the link-local range 169.254.0.0/16`},
		{"pool overlaps vnet", func(c *Config) {
			c.VNetAddressSpace = prefixes("10.1.0.0/16")
			c.ClientAddressPools = prefixes("10.1.0.0/24")
		}, `client_address_pools[0]: 10.1.0.0/24 overlaps vnet_address_space[0] 10.1.0.0/16`},
		{"pools overlap", func(c *Config) { c.ClientAddressPools = prefixes("100.64.0.0/16", "100.64.1.0/24") }, `client_address_pools[1]: 100.64.1.0/24 overlaps client_address_pools[0] 100.64.0.0/16`},

		// vnet_address_space
		{"vnet empty", func(c *Config) { c.VNetAddressSpace = nil }, `vnet_address_space: at least one prefix is required: the networks clients reach through the gateway, e.g. 10.1.0.0/16`},
		{"vnet too many", func(c *Config) {
			c.VNetAddressSpace = nil
			for i := range 601 {
				c.VNetAddressSpace = append(c.VNetAddressSpace, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24))
			}
		}, `vnet_address_space: 601 prefixes is too many (at most 600, as Azure)`},
		{"vnet ipv6", func(c *Config) { c.VNetAddressSpace = prefixes("2001:db8::/48") }, `vnet_address_space[0]: 2001:db8::/48 is IPv6; IPv6 is not supported yet (clients get IPv4 addresses only)`},
		{"vnet host bits", func(c *Config) { c.VNetAddressSpace = prefixes("10.1.2.3/16") }, `vnet_address_space[0]: 10.1.2.3/16 has host bits set; did you mean 10.1.0.0/16?`},
		{"vnet everything", func(c *Config) { c.VNetAddressSpace = prefixes("0.0.0.0/0") }, `vnet_address_space[0]: 0.0.0.0/0 covers every address; list the prefixes themselves`},
		{"vnet overlap", func(c *Config) { c.VNetAddressSpace = prefixes("10.1.0.0/16", "10.1.4.0/24") }, `vnet_address_space[1]: 10.1.4.0/24 overlaps vnet_address_space[0] 10.1.0.0/16`},

		// dns_servers
		{"dns too many", func(c *Config) {
			for i := range 9 {
				c.DNSServers = append(c.DNSServers, netip.AddrFrom4([4]byte{198, 19, 0, byte(i + 1)}))
			}
		}, `dns_servers: 9 servers is too many (at most 8)`},
		{"dns zero", func(c *Config) { c.DNSServers = []netip.Addr{{}} }, `dns_servers[0]: empty; want an IP address such as 10.1.0.4`},
		{"dns loopback", func(c *Config) { c.DNSServers = []netip.Addr{netip.MustParseAddr("127.0.0.53")} }, `dns_servers[0]: 127.0.0.53 is a loopback address, so clients would ask themselves; give the VNet's DNS server`},
		{"dns multicast", func(c *Config) { c.DNSServers = []netip.Addr{netip.MustParseAddr("224.0.0.251")} }, `dns_servers[0]: 224.0.0.251 is not a unicast address clients can reach`},
		{"dns zone", func(c *Config) { c.DNSServers = []netip.Addr{netip.MustParseAddr("fe80::1%eth0")} }, `dns_servers[0]: fe80::1%eth0 has a zone; give a plain address`},
		{"dns twice", func(c *Config) {
			c.DNSServers = []netip.Addr{netip.MustParseAddr("198.19.0.4"), netip.MustParseAddr("198.19.0.4")}
		}, `dns_servers[1]: 198.19.0.4 is listed twice`},

		// tunnel_types
		{"tunnels empty", func(c *Config) { c.TunnelTypes = nil }, `tunnel_types: at least one is required (ikev2, sstp or openvpn)`},
		{"tunnel unknown", func(c *Config) { c.TunnelTypes = []string{"sstp", "l2tp"} }, `tunnel_types[1]: unknown tunnel type "l2tp" (want ikev2, sstp or openvpn)`},
		{"tunnel twice", func(c *Config) { c.TunnelTypes = []string{"sstp", "SSTP"} }, `tunnel_types[1]: "SSTP" is listed twice`},
		{"basic ikev2", func(c *Config) { c.SKU = "Basic" }, `tunnel_types[0]: sku Basic does not support IKEv2 (use VpnGw1 or higher)`},
		{"basic openvpn", func(c *Config) { c.SKU = "Basic"; c.TunnelTypes = []string{"openvpn"} }, `tunnel_types[0]: sku Basic does not support OpenVPN (use VpnGw1 or higher)`},

		// auth_types and radius
		{"auth empty", func(c *Config) { c.AuthTypes = nil }, `auth_types: at least one is required (certificate or radius)`},
		{"auth unknown", func(c *Config) { c.AuthTypes = []string{"aad"} }, `auth_types[0]: unknown auth type "aad" (want certificate or radius)`},
		{"auth twice", func(c *Config) { c.AuthTypes = []string{"certificate", "certificate"} }, `auth_types[1]: "certificate" is listed twice`},
		{"basic radius", func(c *Config) {
			withRADIUS(tf, c)
			c.SKU, c.TunnelTypes = "Basic", []string{"sstp"}
		}, `auth_types[1]: sku Basic does not support RADIUS (use VpnGw1 or higher)`},
		{"radius auth without block", func(c *Config) { c.AuthTypes = []string{"radius"} }, `radius: required when auth_types includes radius (list at least one server)`},
		{"radius block without auth", func(c *Config) { withRADIUS(tf, c); c.AuthTypes = []string{"certificate"} }, `radius: radius is configured but auth_types does not include radius (add it there, or remove this section)`},
		{"radius no servers", func(c *Config) { withRADIUS(tf, c); c.RADIUS.Servers = nil }, `radius.servers: at least one server is required`},
		{"radius address empty", func(c *Config) { withRADIUS(tf, c); c.RADIUS.Servers[0].Address = "" }, `radius.servers[0].address: required: host or host:port (the port defaults to 1812)`},
		{"radius address bad port", func(c *Config) { withRADIUS(tf, c); c.RADIUS.Servers[0].Address = "198.19.0.10:radius" }, `radius.servers[0].address: port "radius" is not a number from 1 to 65535`},
		{"radius address bad host", func(c *Config) { withRADIUS(tf, c); c.RADIUS.Servers[0].Address = "nps_1:1812" }, `radius.servers[0].address: host "nps_1" is neither an IP address nor a DNS name: it holds '_'; use letters, digits and hyphens between dots`},
		{"radius address not hostport", func(c *Config) { withRADIUS(tf, c); c.RADIUS.Servers[0].Address = "a:b:c" }, `radius.servers[0].address: "a:b:c" is not host:port (e.g. "radius.example.com:1812")`},
		{"radius address twice", func(c *Config) {
			withRADIUS(tf, c)
			c.RADIUS.Servers = append(c.RADIUS.Servers, c.RADIUS.Servers[0])
		}, `radius.servers[1].address: 198.19.0.10:1812 is also radius.servers[0]`},
		{"radius acct address", func(c *Config) { withRADIUS(tf, c); c.RADIUS.Servers[0].AcctAddress = "198.19.0.10:0" }, `radius.servers[0].acct_address: port "0" is not a number from 1 to 65535`},
		{"radius both secrets", func(c *Config) { withRADIUS(tf, c); c.RADIUS.Servers[0].Secret = "x" }, `radius.servers[0]: set secret or secret_file, not both`},
		{"radius no secret", func(c *Config) { withRADIUS(tf, c); c.RADIUS.Servers[0].SecretFile = "" }, `radius.servers[0]: a shared secret is required: secret_file (a file only p2sgw can read) or secret`},
		{"radius secret file missing", func(c *Config) { withRADIUS(tf, c); c.RADIUS.Servers[0].SecretFile = missing }, `radius.servers[0].secret_file: ` + missing + ` does not exist`},
		{"radius secret file empty", func(c *Config) { withRADIUS(tf, c); c.RADIUS.Servers[0].SecretFile = tf.emptySecret }, `radius.servers[0].secret_file: ` + tf.emptySecret + ` is empty`},
		{"radius secret file open", func(c *Config) { withRADIUS(tf, c); c.RADIUS.Servers[0].SecretFile = tf.openSecret }, `radius.servers[0].secret_file: ` + tf.openSecret + ` is readable by others (mode 0644; chmod 600)`},
		{"radius priority", func(c *Config) { withRADIUS(tf, c); c.RADIUS.Servers[0].Priority = -1 }, `radius.servers[0].priority: -1 is negative (lower numbers are tried first, from 0)`},
		{"radius timeout syntax", func(c *Config) { withRADIUS(tf, c); c.RADIUS.Timeout = "5" }, `radius.timeout: "5" is not a duration (e.g. "5s")`},
		{"radius timeout range", func(c *Config) { withRADIUS(tf, c); c.RADIUS.Timeout = "2m" }, `radius.timeout: 2m is out of range (1s to 1m0s)`},
		{"radius retries", func(c *Config) { withRADIUS(tf, c); c.RADIUS.Retries = ptr(11) }, `radius.retries: 11 is out of range (0 to 10)`},
		{"metrics_listen without a port", func(c *Config) { c.MetricsListen = "198.19.0.1" }, `metrics_listen: "198.19.0.1" is not host:port (e.g. "198.19.0.1:9100")`},
		{"radius interim syntax", func(c *Config) { withRADIUS(tf, c); c.RADIUS.InterimInterval = "often" }, `radius.interim_interval: "often" is not a duration (e.g. "5m")`},
		{"radius interim range", func(c *Config) { withRADIUS(tf, c); c.RADIUS.InterimInterval = "500ms" }, `radius.interim_interval: 500ms is out of range (1s to 24h0m0s)`},
		{"radius nas identifier", func(c *Config) { withRADIUS(tf, c); c.RADIUS.NASIdentifier = strings.Repeat("n", 254) }, `radius.nas_identifier: 254 characters is too long (at most 253)`},

		// listen
		{"listen bad", func(c *Config) { c.Listen.IKE = "500" }, `listen.ike: "500" is not host:port (e.g. ":500")`},
		{"listen port range", func(c *Config) { c.Listen.SSTP = ":70000" }, `listen.sstp: port "70000" is not a number from 1 to 65535`},
		{"listen empty for enabled", func(c *Config) { c.Listen.NATT = "" }, `listen.nat_t: required when tunnel_types includes ikev2 (e.g. ":4500")`},
		{"listen same ports", func(c *Config) { c.Listen.NATT = ":500" }, `listen.nat_t: :500 is also listen.ike; NAT-T needs a port of its own (usually :4500)`},
		{"listen bad host", func(c *Config) { c.Listen.OpenVPN = "bad host:1194" }, `listen.openvpn: host "bad host" is neither an IP address nor a DNS name: it holds ' '; use letters, digits and hyphens between dots`},

		// state_dir and admin
		{"state dir empty", func(c *Config) { c.StateDir = "" }, `state_dir: required: an absolute path`},
		{"state dir relative", func(c *Config) { c.StateDir = "state" }, `state_dir: "state" is not an absolute path`},
		{"socket relative", func(c *Config) { c.Admin.Socket = "control.sock" }, `admin.socket: "control.sock" is not an absolute path`},
		{"admin listen bad", func(c *Config) {
			c.Admin.Listen = "8443"
			c.Admin.TLSCertificate, c.Admin.TLSKey, c.Admin.ClientCA = tf.cert, tf.key, tf.root
		}, `admin.listen: "8443" is not host:port (e.g. "127.0.0.1:8443")`},
		{"admin listen no cert", func(c *Config) { c.Admin.Listen = ":8443"; c.Admin.TLSKey, c.Admin.ClientCA = tf.key, tf.root }, `admin.tls_certificate: required: with admin.listen set, the admin API's TLS server certificate`},
		{"admin listen no key", func(c *Config) { c.Admin.Listen = ":8443"; c.Admin.TLSCertificate, c.Admin.ClientCA = tf.cert, tf.root }, `admin.tls_key: required: with admin.listen set, the key of admin.tls_certificate`},
		{"admin listen no ca", func(c *Config) { c.Admin.Listen = ":8443"; c.Admin.TLSCertificate, c.Admin.TLSKey = tf.cert, tf.key }, `admin.client_ca: required: with admin.listen set, the CA whose client certificates may use the admin API`},
		{"admin ca not pem", func(c *Config) {
			c.Admin.Listen = ":8443"
			c.Admin.TLSCertificate, c.Admin.TLSKey, c.Admin.ClientCA = tf.cert, tf.key, tf.notPEM
		}, `admin.client_ca: ` + tf.notPEM + `: no PEM CERTIFICATE block`},
		{"admin key mismatch", func(c *Config) {
			c.Admin.Listen = ":8443"
			c.Admin.TLSCertificate, c.Admin.TLSKey, c.Admin.ClientCA = tf.cert, tf.otherKey, tf.root
		}, `admin.tls_key: key does not match admin.tls_certificate (the key is ECDSA P-256 SHA256:`},

		// log
		{"log format", func(c *Config) { c.Log.Format = "xml" }, `log.format: unknown format "xml" (want text or json)`},
		{"log level", func(c *Config) { c.Log.Level = "verbose" }, `log.level: unknown level "verbose" (want debug, info, warn or error)`},
		{"log category unknown", func(c *Config) { c.Log.Categories = map[string]string{"ike": "debug"} }, `log.categories.ike: unknown category "ike" (want p2s, ikev2, sstp, radius, dataplane, admin or gateway)`},
		{"log category empty name", func(c *Config) { c.Log.Categories = map[string]string{"": "debug"} }, `log.categories.: unknown category "" (want p2s, ikev2, sstp, radius, dataplane, admin or gateway)`},
		{"log category level", func(c *Config) { c.Log.Categories = map[string]string{"sstp": "trace"} }, `log.categories.sstp: unknown level "trace" (want debug, info, warn or error)`},
		{"log category level empty", func(c *Config) { c.Log.Categories = map[string]string{"sstp": ""} }, `log.categories.sstp: unknown level "" (want debug, info, warn or error)`},
		{"log category twice", func(c *Config) { c.Log.Categories = map[string]string{"P2S": "debug", "p2s": "info"} }, `log.categories.p2s: "p2s" is also listed as "P2S"`},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		if seen[tt.name] {
			t.Fatalf("case %q appears twice", tt.name)
		}
		seen[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(tf)
			tt.mutate(c)
			err := c.Validate()
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a *ValidationError", err)
			}
			for _, p := range ve.Problems {
				if strings.HasPrefix(p.Error(), tt.want) {
					return
				}
			}
			t.Errorf("no problem starts with\n\t%s\ngot\n\t%v", tt.want, err)
		})
	}
}

func TestValidateReportsAllProblems(t *testing.T) {
	tf := newTestFiles(t)
	c := validConfig(tf)
	c.Name = ""
	c.ClientAddressPools = prefixes("198.19.1.0/24")
	c.TunnelTypes = []string{"l2tp"}
	c.Log.Level = "loud"
	err := c.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate = %v", err)
	}
	var fields []string
	for _, p := range ve.Problems {
		fields = append(fields, p.Field)
	}
	want := "name client_address_pools[0] tunnel_types[0] log.level"
	if got := strings.Join(fields, " "); got != want {
		t.Errorf("problem fields = %s, want %s", got, want)
	}
	if !strings.HasPrefix(err.Error(), "4 problems:\n\tname: required") {
		t.Errorf("Error() = %q", err)
	}
	if n := len(ve.Unwrap()); n != 4 {
		t.Errorf("Unwrap gave %d errors", n)
	}
}

func TestLogLevels(t *testing.T) {
	for _, tt := range []struct {
		name    string
		log     Log
		wantDef slog.Level
		wantPer map[string]slog.Level
	}{
		{"defaults", Log{Level: "info"}, slog.LevelInfo, nil},
		{"categories", Log{Level: "warn", Categories: map[string]string{"ikev2": "debug", "p2s": "info"}},
			slog.LevelWarn, map[string]slog.Level{"ikev2": slog.LevelDebug, "p2s": slog.LevelInfo}},
		{"any case", Log{Level: "ERROR", Categories: map[string]string{"IKEv2": "Debug"}},
			slog.LevelError, map[string]slog.Level{"ikev2": slog.LevelDebug}},
		{"not validated", Log{Level: "loud", Categories: map[string]string{"sstp": "loud", "radius": "debug"}},
			slog.LevelInfo, map[string]slog.Level{"radius": slog.LevelDebug}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			def, per := tt.log.Levels()
			if def != tt.wantDef || !reflect.DeepEqual(per, tt.wantPer) {
				t.Errorf("Levels = %v, %v; want %v, %v", def, per, tt.wantDef, tt.wantPer)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	tf := newTestFiles(t)
	openKey := filepath.Join(tf.dir, "open.key")
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"certificate expires soon", func(c *Config) { c.ServerCertificate, c.ServerKey = tf.soonCert, tf.soonKey }, "server_certificate: " + tf.soonCert + " (CN=vpn.example.com) expires on "},
		{"certificate does not name public address", func(c *Config) { c.PublicAddress = "gw.example.net" }, "server_certificate: " + tf.cert + " does not name public_address gw.example.net, so clients will refuse it (it names vpn.example.com, 198.18.0.1)"},
		{"server root does not verify", func(c *Config) { c.ServerRoot = tf.rsaCert }, "server_root: " + tf.rsaCert + " does not verify server_certificate: "},
		{"server key readable by others", func(c *Config) {
			data, err := os.ReadFile(tf.key)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(openKey, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(openKey, 0o644); err != nil {
				t.Fatal(err)
			}
			c.ServerKey = openKey
		}, "server_key: " + openKey + " is readable by others (mode 0644; chmod 600)"},
		{"short radius secret", func(c *Config) { withRADIUS(tf, c); c.RADIUS.Servers[0].SecretFile = tf.shortSecret }, "radius.servers[0].secret_file: the secret has 6 characters; 16 or more are recommended"},
		{"short inline secret", func(c *Config) {
			withRADIUS(tf, c)
			c.RADIUS.Servers[0].SecretFile, c.RADIUS.Servers[0].Secret = "", "abc"
		}, "radius.servers[0].secret: the secret has 3 characters; 16 or more are recommended"},
		{"more than two dns servers with sstp", func(c *Config) {
			c.DNSServers = []netip.Addr{netip.MustParseAddr("198.19.0.4"), netip.MustParseAddr("198.19.0.5"), netip.MustParseAddr("198.19.0.6")}
		}, "dns_servers: SSTP clients get only the first two (PPP IPCP carries a primary and a secondary)"},
		{"many routes", func(c *Config) {
			c.VNetAddressSpace = nil
			for i := range 30 {
				c.VNetAddressSpace = append(c.VNetAddressSpace, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), 0, 0}), 16))
			}
		}, "vnet_address_space: 31 routes: Windows IKEv2 clients without KB5005625 fail above 25 (error 13834)"},
		{"admin tls without listen", func(c *Config) { c.Admin.TLSCertificate = tf.cert }, "admin: tls_certificate, tls_key and client_ca are ignored while admin.listen is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(tf)
			tt.mutate(c)
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			var got []string
			for _, w := range c.Warnings() {
				if strings.HasPrefix(w.Error(), tt.want) {
					return
				}
				got = append(got, w.Error())
			}
			t.Errorf("no warning starts with\n\t%s\ngot %q", tt.want, got)
		})
	}
}

func TestSharedSecret(t *testing.T) {
	tf := newTestFiles(t)
	for _, tt := range []struct {
		name string
		s    RADIUSServer
		want string
	}{
		{"inline", RADIUSServer{Secret: "abc"}, "abc"},
		{"file without newline", RADIUSServer{SecretFile: tf.shortSecret}, "s3cret"},
		{"file with newline", RADIUSServer{SecretFile: tf.secret}, "0123456789abcdefghijklmn"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.SharedSecret()
			if err != nil || string(got) != tt.want {
				t.Errorf("SharedSecret = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestFieldErrorFormat(t *testing.T) {
	for _, tt := range []struct {
		e    FieldError
		want string
	}{
		{FieldError{Field: "name", Msg: "required"}, "name: required"},
		{FieldError{Msg: `unknown key "tunnel_type"`, Line: 7}, `unknown key "tunnel_type" (line 7)`},
		{FieldError{Field: "radius", Msg: "x", Line: 3}, "radius: x (line 3)"},
	} {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%#v.Error() = %q, want %q", tt.e, got, tt.want)
		}
	}
}

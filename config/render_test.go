package config

import (
	"bytes"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestRenderRoundTrip(t *testing.T) {
	tf := newTestFiles(t)
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"minimal", func(c *Config) {}},
		{"everything", func(c *Config) {
			withRADIUS(tf, c)
			c.RADIUS.Servers = append(c.RADIUS.Servers, RADIUSServer{
				Address: "[2001:db8::10]:1812", Secret: "a secret: with # and 'quotes'", Priority: 1})
			c.RADIUS.Retries = ptr(0)
			c.ApplyDefaults()
			c.SKU = SKUCustom
			c.Limits = &Limits{MaxConnections: 100, MaxIKEv2Connections: 60, MaxMbps: 500}
			c.TunnelTypes = []string{"ikev2", "sstp", "openvpn"}
			c.DNSServers = []netip.Addr{netip.MustParseAddr("198.19.0.4"), netip.MustParseAddr("198.19.0.5")}
			c.ClientAddressPools = prefixes("100.64.0.0/24", "100.64.8.0/29")
			c.VNetAddressSpace = prefixes("198.19.0.0/16", "10.0.0.0/8")
			c.Listen.SSTP = "198.18.0.1:443"
			c.Admin.Listen = "127.0.0.1:8443"
			c.Admin.TLSCertificate, c.Admin.TLSKey, c.Admin.ClientCA = tf.cert, tf.key, tf.root
			c.Log = Log{Format: "json", Level: "debug", Categories: map[string]string{"ikev2": "debug", "radius": "warn"}}
		}},
		{"name that looks like a number", func(c *Config) { c.Name = "1e3" }},
		{"name that looks like a bool", func(c *Config) { c.Name = "yes" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(tf)
			tt.mutate(c)
			if err := c.Validate(); err != nil {
				t.Fatalf("the test config is invalid: %v", err)
			}
			out, err := Render(c)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(out, tf.dir)
			if err != nil {
				t.Fatalf("Parse(Render(c)): %v\n%s", err, out)
			}
			if !reflect.DeepEqual(got, c) {
				t.Errorf("round trip changed the config:\ngot  %+v\nwant %+v\n%s", got, c, out)
			}
		})
	}
}

func TestRenderComments(t *testing.T) {
	tf := newTestFiles(t)
	c := validConfig(tf)
	withRADIUS(tf, c)
	out, err := Render(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, []byte("# gateway.yaml: the configuration of p2sgw")) {
		t.Errorf("no header comment:\n%s", out)
	}
	for key, comment := range sectionComments {
		if key == "limits" || key == "dns_servers" || key == "metrics_listen" {
			continue // absent from this config
		}
		if !strings.Contains(string(out), "\n# "+comment+"\n"+key+":") {
			t.Errorf("section %s lacks its comment %q:\n%s", key, comment, out)
		}
	}
	if !strings.Contains(string(out), "tunnel_types: [ikev2, sstp]\n") {
		t.Errorf("short lists are not in flow style:\n%s", out)
	}
}

func TestRenderFillsDefaults(t *testing.T) {
	tf := newTestFiles(t)
	c := &Config{
		Name: "gw1", PublicAddress: "vpn.example.com",
		ServerCertificate: "server.pem", ServerKey: "server.key",
		ClientAddressPools: prefixes("100.64.0.0/16"), VNetAddressSpace: prefixes("198.19.0.0/16"),
		AuthTypes: []string{"certificate", "radius"},
		RADIUS:    &RADIUS{Servers: []RADIUSServer{{Address: "198.19.0.10", SecretFile: "radius.secret"}}},
	}
	before := c.clone()
	out, err := Render(c)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, before) {
		t.Errorf("Render changed its argument:\n%+v\n%+v", c, before)
	}
	for _, want := range []string{"\nsku: VpnGw1\n", "  ike: :500 # UDP, IKE\n", "\nstate_dir: /var/lib/p2sgw\n",
		"    - address: 198.19.0.10:1812\n", "  nas_identifier: gw1\n", "server_key: server.key\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("rendered file lacks %q:\n%s", want, out)
		}
	}
	got, err := Parse(out, tf.dir)
	if err != nil {
		t.Fatalf("Parse(Render(c)): %v\n%s", err, out)
	}
	want, err := Parse(mustRenderRaw(t, c), tf.dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse(Render(c)) = %+v\nwant %+v", got, want)
	}
}

// mustRenderRaw encodes c as it is, without Render's defaults or comments.
func mustRenderRaw(t *testing.T, c *Config) []byte {
	t.Helper()
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

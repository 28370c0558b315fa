package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// minimalYAML is the smallest valid gateway.yaml, with paths relative to testFiles.dir.
const minimalYAML = `name: gw1
public_address: vpn.example.com
server_certificate: server.pem
server_key: server.key
client_address_pools: [100.64.0.0/16]
vnet_address_space: [198.19.0.0/16]
`

func writeConfig(t *testing.T, dir, content string) string {
	t.Helper()
	p := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadMinimal(t *testing.T) {
	tf := newTestFiles(t)
	c, err := Load(writeConfig(t, tf.dir, minimalYAML))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := &Config{
		Name:               "gw1",
		SKU:                "VpnGw1",
		PublicAddress:      "vpn.example.com",
		ServerCertificate:  tf.cert,
		ServerKey:          tf.key,
		ClientAddressPools: prefixes("100.64.0.0/16"),
		VNetAddressSpace:   prefixes("198.19.0.0/16"),
		TunnelTypes:        []string{"ikev2", "sstp"},
		AuthTypes:          []string{"certificate"},
		TUN:                "p2sgw0",
		IKE:                IKE{DPDInterval: "30s", DeadPeerTimeout: "2m", ChildLifetime: "3h", IKELifetime: "8h"},
		Listen:             Listen{IKE: ":500", NATT: ":4500", SSTP: ":443", OpenVPN: ":1194"},
		StateDir:           "/var/lib/p2sgw",
		Admin:              Admin{Socket: "/run/p2sgw/control.sock"},
		Log:                Log{Format: "text", Level: "info"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load =\n%+v\nwant\n%+v", c, want)
	}
}

func TestLoadRelativePaths(t *testing.T) {
	tf := newTestFiles(t)
	if err := os.Mkdir(filepath.Join(tf.dir, "secrets"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tf.secret, filepath.Join(tf.dir, "secrets", "nps")); err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, tf.dir, minimalYAML+`server_root: ./root.pem
state_dir: state
auth_types: [certificate, radius]
radius:
  servers:
    - address: 198.19.0.10
      secret_file: secrets/nps
admin:
  socket: run/control.sock
`)
	// Load a relative path from the directory above, so that the paths must be resolved
	// against the file's directory, not the working directory.
	t.Chdir(filepath.Dir(tf.dir))
	c, err := Load(filepath.Join(filepath.Base(tf.dir), "gateway.yaml"))
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	for field, got := range map[string]string{
		"server_certificate":            c.ServerCertificate,
		"server_root":                   c.ServerRoot,
		"state_dir":                     c.StateDir,
		"admin.socket":                  c.Admin.Socket,
		"radius.servers[0].secret_file": c.RADIUS.Servers[0].SecretFile,
	} {
		if !filepath.IsAbs(got) || !strings.HasPrefix(got, tf.dir) {
			t.Errorf("%s = %s, want an absolute path in %s", field, got, tf.dir)
		}
	}
	if got := c.RADIUS.Servers[0]; got.Address != "198.19.0.10:1812" || got.AcctAddress != "198.19.0.10:1813" {
		t.Errorf("radius server addresses = %s, %s; want the default ports", got.Address, got.AcctAddress)
	}
	if c.RADIUS.NASIdentifier != "gw1" || c.RADIUS.Timeout != "5s" || *c.RADIUS.Retries != 2 {
		t.Errorf("radius defaults = %q %q %d", c.RADIUS.NASIdentifier, c.RADIUS.Timeout, *c.RADIUS.Retries)
	}
}

func TestApplyDefaults(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   Config
		want []string
	}{
		{"vpngw1", Config{}, []string{"ikev2", "sstp"}},
		{"basic has no ikev2", Config{SKU: "basic"}, []string{"sstp"}},
		{"set tunnel types stay", Config{TunnelTypes: []string{"openvpn"}}, []string{"openvpn"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.in
			c.ApplyDefaults()
			if !reflect.DeepEqual(c.TunnelTypes, tt.want) {
				t.Errorf("TunnelTypes = %v, want %v", c.TunnelTypes, tt.want)
			}
		})
	}
}

func TestParseCanonicalizes(t *testing.T) {
	tf := newTestFiles(t)
	c, err := Parse([]byte(minimalYAML+"sku: vpngw2\ntunnel_types: [IKEv2, SSTP]\nlog: {format: JSON, level: Debug, categories: {IKEv2: Debug, radius: WARN}}\n"), tf.dir)
	if err != nil {
		t.Fatal(err)
	}
	wantLog := Log{Format: "json", Level: "debug", Categories: map[string]string{"ikev2": "debug", "radius": "warn"}}
	if c.SKU != "VpnGw2" || !reflect.DeepEqual(c.TunnelTypes, []string{"ikev2", "sstp"}) || !reflect.DeepEqual(c.Log, wantLog) {
		t.Errorf("got sku %q, tunnel types %v, log %+v", c.SKU, c.TunnelTypes, c.Log)
	}
}

// TestParseLogCategories: log.categories is a mapping of category to level; an empty one is
// none at all, and its problems carry the line of the category.
func TestParseLogCategories(t *testing.T) {
	tf := newTestFiles(t)
	for _, tt := range []struct {
		name string
		yaml string
		want map[string]string
		err  string // the whole error of Parse, or "" for success
	}{
		{"absent", "log: {level: info}\n", nil, ""},
		{"empty", "log: {categories: {}}\n", nil, ""},
		{"block style", "log:\n  level: warn\n  categories:\n    p2s: info\n    ikev2: debug\n", map[string]string{"p2s": "info", "ikev2": "debug"}, ""},
		{"anchor and merge", "log:\n  categories:\n    <<: &c {sstp: debug}\n    radius: error\n", map[string]string{"sstp": "debug", "radius": "error"}, ""},
		{"unknown category", "log:\n  categories:\n    ikev2: debug\n    ike: debug\n",
			nil, `config: log.categories.ike: unknown category "ike" (want p2s, ikev2, sstp, radius, dataplane, admin or gateway) (line 10)`},
		{"bad level in capitals", "log:\n  categories:\n    IKEv2: verbose\n",
			nil, `config: log.categories.ikev2: unknown level "verbose" (want debug, info, warn or error) (line 9)`},
		{"repeated in another case", "log:\n  categories:\n    ikev2: debug\n    IKEv2: info\n",
			nil, `config: log.categories.ikev2: "ikev2" is also listed as "IKEv2" (line 9)`},
		{"repeated", "log:\n  categories:\n    ikev2: debug\n    ikev2: info\n",
			nil, `config: log.categories: key "ikev2" is repeated (first at line 9) (line 10)`},
		{"list", "log: {categories: [ikev2]}\n",
			nil, `config: log.categories: want a mapping of keys, got a list (line 7)`},
		{"level a list", "log: {categories: {ikev2: [debug]}}\n",
			nil, `config: log.categories.ikev2: want a single value, got a list (line 7)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(minimalYAML+tt.yaml), tf.dir)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Errorf("Parse error\n\tgot  %v\n\twant %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Log.Categories, tt.want) {
				t.Errorf("categories = %#v, want %#v", c.Log.Categories, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tf := newTestFiles(t)
	tests := []struct {
		name string
		yaml string
		want string // the whole error of Parse
	}{
		{"unknown key", minimalYAML + "tunnel_type: [sstp]\n",
			`config: unknown key "tunnel_type", did you mean "tunnel_types"? (line 7)`},
		{"unknown key far from any", minimalYAML + "colour: blue\n",
			`config: unknown key "colour" (line 7)`},
		{"unknown nested key", minimalYAML + "auth_types: [radius]\nradius:\n  servers:\n    - address: nps\n      secrt: x\n",
			`config: radius.servers[0]: unknown key "secrt", did you mean "secret"? (line 11)`},
		{"repeated key", minimalYAML + "name: gw2\n",
			`config: key "name" is repeated (first at line 1) (line 7)`},
		{"string for a list", minimalYAML + "tunnel_types: sstp\n",
			`config: tunnel_types: want a list ([a, b], or one "- item" a line), got "sstp" (line 7)`},
		{"list for a string", minimalYAML + "sku: [VpnGw1]\n",
			`config: sku: want a single value, got a list (line 7)`},
		{"word for a number", minimalYAML + "sku: Custom\nlimits:\n  max_connections: lots\n",
			`config: limits.max_connections: want a whole number, got "lots" (line 9)`},
		{"scalar for a mapping", minimalYAML + "listen: :500\n",
			`config: listen: want a mapping of keys, got ":500" (line 7)`},
		{"bad prefix", strings.Replace(minimalYAML, "100.64.0.0/16", "100.64.0.300/16", 1),
			`config: client_address_pools[0]: "100.64.0.300/16" is not an IP prefix (want address/length, e.g. 10.1.0.0/24) (line 5)`},
		{"address for a prefix", strings.Replace(minimalYAML, "198.19.0.0/16", "198.19.0.0", 1),
			`config: vnet_address_space[0]: "198.19.0.0" is an address, not a prefix: add its length, e.g. 198.19.0.0/24 (line 6)`},
		{"bad dns server", minimalYAML + "dns_servers: [dns.example.com]\n",
			`config: dns_servers[0]: "dns.example.com" is not an IP address (e.g. 10.1.0.4) (line 7)`},
		{"host bits with line", strings.Replace(minimalYAML, "100.64.0.0/16", "100.64.0.1/16", 1),
			`config: client_address_pools[0]: 100.64.0.1/16 has host bits set; did you mean 100.64.0.0/16? (line 5)`},
		{"validation with line", minimalYAML + "log:\n  level: loud\n",
			`config: log.level: unknown level "loud" (want debug, info, warn or error) (line 8)`},
		{"two documents", minimalYAML + "---\nname: gw2\n",
			`config: more than one YAML document (gateway.yaml holds one; remove the extra ---) (the second starts at line 7)`},
		{"empty", "", `config: the configuration is empty`},
		{"only comments", "# nothing\n", `config: the configuration is empty`},
		{"null document", "~\n", `config: the configuration is empty`},
		{"list at top", "- a\n", `config: the file must be a mapping of keys (name:, sku:, …), not a list (line 1)`},
		{"syntax", "name: gw1\n  sku: x\n", `config: YAML syntax: mapping values are not allowed in this context (line 2)`},
		{"self alias", minimalYAML + "radius: &r\n  <<: *r\n", `config: `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), tf.dir)
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", c)
			}
			if got := err.Error(); got != tt.want && !(strings.HasSuffix(tt.want, ": ") && strings.HasPrefix(got, tt.want)) {
				t.Errorf("Parse error\n\tgot  %s\n\twant %s", got, tt.want)
			}
		})
	}
}

func TestParseSentinels(t *testing.T) {
	for _, tt := range []struct {
		name string
		data string
		want error
	}{
		{"empty", "", ErrEmpty},
		{"two documents", "name: a\n---\nname: b\n", ErrMultipleDocuments},
		{"too large", "name: " + strings.Repeat("a", MaxSize), ErrTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse([]byte(tt.data), ""); !errors.Is(err, tt.want) {
				t.Errorf("Parse = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseMergeKeys(t *testing.T) {
	tf := newTestFiles(t)
	c, err := Parse([]byte(minimalYAML+`auth_types: [radius]
radius:
  servers:
    - &nps {address: 198.19.0.10, secret_file: radius.secret}
    - <<: *nps
      address: 198.19.0.11
`), tf.dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.RADIUS.Servers[1]; got.Address != "198.19.0.11:1812" || got.SecretFile != tf.secret {
		t.Errorf("merged server = %+v", got)
	}
}

func TestLoadErrors(t *testing.T) {
	tf := newTestFiles(t)
	missing := filepath.Join(tf.dir, "nope.yaml")
	if _, err := Load(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want ErrNotExist", err)
	}
	path := writeConfig(t, tf.dir, minimalYAML+"tunnel_type: [sstp]\n")
	_, err := Load(path)
	want := "config: " + path + `: unknown key "tunnel_type", did you mean "tunnel_types"? (line 7)`
	if err == nil || err.Error() != want {
		t.Errorf("Load = %v\nwant %s", err, want)
	}
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Problems[0].Line != 7 {
		t.Errorf("Load error is not a *ValidationError with the line: %#v", err)
	}
	if _, err := Load(tf.dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Load(dir) = %v", err)
	}
}

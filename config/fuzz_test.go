package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// fullYAML sets every section, with an anchor, a merge and flow mappings.
const fullYAML = minimalYAML + `sku: VpnGw2
server_root: root.pem
dns_servers: [198.19.0.4]
tunnel_types: [ikev2, sstp, openvpn]
auth_types: [certificate, radius]
radius:
  servers:
    - &s {address: 198.19.0.10, secret_file: radius.secret, priority: 1}
    - {<<: *s, address: "[2001:db8::1]:1812"}
  timeout: 3s
  retries: 1
listen: {ike: ":500", nat_t: ":4500", sstp: "198.18.0.1:443"}
admin: {socket: /run/p2sgw/control.sock}
log: {format: json, level: debug, categories: {ikev2: debug, p2s: info}}
`

// FuzzParse feeds Parse arbitrary bytes: it must never panic, must fail with a
// *ValidationError or a sentinel, and whatever it accepts must survive Render and Parse
// unchanged.
func FuzzParse(f *testing.F) {
	tf := newTestFiles(f)
	for _, seed := range []string{
		minimalYAML,
		fullYAML,
		strings.Replace(minimalYAML, "100.64.0.0/16", "100.64.0.1/16", 1),
		strings.Replace(minimalYAML, "100.64.0.0/16", "not-a-prefix", 1),
		minimalYAML + "tunnel_type: [sstp]\n",
		minimalYAML + "---\nname: gw2\n",
		minimalYAML + "sku: Custom\nlimits: {max_connections: -1}\n",
		minimalYAML + "sku: [x]\nlisten: 5\n",
		minimalYAML + "log: {categories: {IKEv2: Debug, ikev2: info, ~: x, 5: [y]}}\n",
		minimalYAML + "log: {categories: {}}\n",
		"a: &a [*a]\n",
		"name: &n x\nsku: *n\n",
		"radius: &r {<<: *r}\n",
		"{",
		"",
		"~",
		"- - -",
		"name: !!binary aGVsbG8=\n",
		"\xff\xfe",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, tf.dir)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) && !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrMultipleDocuments) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Parse error of unexpected type %T: %v", err, err)
			}
			if ve != nil && len(ve.Problems) == 0 {
				t.Fatal("ValidationError without problems")
			}
			return
		}
		out, err := Render(c)
		if err != nil {
			t.Fatalf("Render of a parsed config: %v", err)
		}
		again, err := Parse(out, tf.dir)
		if err != nil {
			t.Fatalf("Parse(Render(c)): %v\n%s", err, out)
		}
		if !reflect.DeepEqual(again, c) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v", c, again)
		}
	})
}

func TestFullYAMLParses(t *testing.T) {
	tf := newTestFiles(t)
	c, err := Parse([]byte(fullYAML), tf.dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.RADIUS.Servers[1]; got.Address != "[2001:db8::1]:1812" || got.Priority != 1 || got.AcctAddress != "[2001:db8::1]:1813" {
		t.Errorf("merged server = %+v", got)
	}
	if c.Listen.OpenVPN != DefaultOVPNListen {
		t.Errorf("listen.openvpn = %q, want the default", c.Listen.OpenVPN)
	}
}

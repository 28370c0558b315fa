package config

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/p2sgw/p2sgw/internal/logcat"
)

// Limits that Validate enforces.
const (
	MaxNameLength         = 80
	MaxClientAddressPools = 32
	MaxVNetPrefixes       = 600 // Azure's limit of VNet address prefixes per VPN gateway
	MaxDNSServers         = 8
	MaxRADIUSServers      = 16
	MaxRADIUSRetries      = 10
	MinRADIUSTimeout      = time.Second
	MaxRADIUSTimeout      = 60 * time.Second
	MinInterim            = time.Second
	MaxInterim            = 24 * time.Hour
	RecommendedSecretLen  = 16
	maxNASIdentifierLen   = 253 // a RADIUS attribute's value
	certExpiryWarning     = 30 * 24 * time.Hour
)

// now is Validate's clock for certificate validity; tests replace it.
var now = time.Now

// Validate checks c and returns every problem found as a *ValidationError, or nil. It
// expects defaults applied (Parse and Load do it; on a Config built in code, call
// ApplyDefaults first) and reads the files c names: certificates, keys, secrets. Enumerated
// values are matched case-insensitively. Issues that do not stop the gateway (a short RADIUS
// secret, a certificate close to expiry) are not errors: see Warnings.
func (c *Config) Validate() error {
	v := c.check()
	if len(v.errs) == 0 {
		return nil
	}
	return &ValidationError{Problems: v.errs}
}

// Warnings returns the issues in c that deserve a log line but do not stop the gateway,
// such as a server certificate that does not name public_address or expires within 30
// days. It reads the same files as Validate.
func (c *Config) Warnings() []FieldError {
	return c.check().warns
}

// checker collects the problems of one validation.
type checker struct {
	c           *Config
	now         time.Time
	sku         SKU
	skuKnown    bool
	errs, warns []FieldError
}

func (v *checker) errorf(field, format string, args ...any) {
	v.errs = append(v.errs, FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (v *checker) warnf(field, format string, args ...any) {
	v.warns = append(v.warns, FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (c *Config) check() *checker {
	v := &checker{c: c, now: now()}
	v.name()
	v.skuAndLimits()
	v.publicAddress()
	v.serverCertificate()
	v.addressSpace()
	v.dnsServers()
	v.tunnelTypes()
	v.authTypes()
	v.radius()
	v.listen()
	v.ikeTimers()
	v.stateAndAdmin()
	v.log()
	return v
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func (v *checker) name() {
	n := v.c.Name
	switch {
	case n == "":
		v.errorf("name", `required: a short name for this gateway, e.g. "gw1"`)
	case len(n) > MaxNameLength:
		v.errorf("name", "%d characters is too long (at most %d)", len(n), MaxNameLength)
	case !nameRE.MatchString(n):
		if i := strings.IndexFunc(n, func(r rune) bool { return !isNameChar(r) }); i >= 0 {
			v.errorf("name", "%q holds %q; use letters, digits, '.', '_' and '-'", n, []rune(n[i:])[0])
		} else {
			v.errorf("name", "%q must start with a letter or a digit", n)
		}
	}
}

func isNameChar(r rune) bool {
	return r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
}

func (v *checker) skuAndLimits() {
	c := v.c
	want := strings.Join(SKUNames()[:len(SKUNames())-1], ", ") + " or " + SKUCustom
	name := canonicalSKU(c.SKU)
	switch {
	case c.SKU == "":
		v.errorf("sku", "required: one of %s", want)
		return
	case name == "":
		msg := fmt.Sprintf("unknown SKU %q (want %s)", c.SKU, want)
		if base, ok := strings.CutSuffix(strings.ToLower(c.SKU), "az"); ok && canonicalSKU(base) != "" {
			msg += fmt.Sprintf("; zone-redundant SKUs have the same P2S limits: use %s", canonicalSKU(base))
		}
		v.errorf("sku", "%s", msg)
		return
	}
	if name != SKUCustom {
		if c.Limits != nil {
			v.errorf("limits", "only allowed with sku Custom (sku %s has fixed limits)", name)
		}
	} else if c.Limits == nil {
		v.errorf("limits", "required with sku Custom (set at least max_connections)")
	} else if c.Limits.MaxConnections <= 0 {
		v.errorf("limits.max_connections", "must be at least 1 with sku Custom (got %d)", c.Limits.MaxConnections)
	}
	if l := c.Limits; l != nil {
		for _, f := range []struct {
			field   string
			n       int
			meaning string
		}{
			{"max_ikev2_connections", l.MaxIKEv2Connections, "0 means no cap of its own"},
			{"max_sstp_connections", l.MaxSSTPConnections, "0 means no cap of its own"},
			{"max_openvpn_connections", l.MaxOpenVPNConnections, "0 means no cap of its own"},
			{"max_mbps", l.MaxMbps, "0 means unshaped"},
			{"max_root_certs", l.MaxRootCerts, fmt.Sprintf("0 means %d", DefaultMaxRootCerts)},
		} {
			if f.n < 0 {
				v.errorf("limits."+f.field, "%d is negative (%s)", f.n, f.meaning)
			}
		}
	}
	v.sku, v.skuKnown = c.EffectiveSKU(), name != SKUCustom || c.Limits != nil
}

func (v *checker) tunnelTypes() {
	types := v.c.TunnelTypes
	if len(types) == 0 {
		v.errorf("tunnel_types", "at least one is required (ikev2, sstp or openvpn)")
		return
	}
	for i, t := range types {
		field := fmt.Sprintf("tunnel_types[%d]", i)
		lt := strings.ToLower(t)
		switch {
		case !slices.Contains([]string{TunnelIKEv2, TunnelSSTP, TunnelOpenVPN}, lt):
			v.errorf(field, "unknown tunnel type %q (want ikev2, sstp or openvpn)", t)
		case slices.ContainsFunc(types[:i], func(s string) bool { return strings.EqualFold(s, t) }):
			v.errorf(field, "%q is listed twice", t)
		case v.skuKnown && !v.sku.AllowsTunnel(lt):
			v.errorf(field, "sku %s does not support %s (use VpnGw1 or higher)", v.sku.Name, displayName(lt))
		}
	}
}

func (v *checker) authTypes() {
	c := v.c
	types := c.AuthTypes
	if len(types) == 0 {
		v.errorf("auth_types", "at least one is required (certificate or radius)")
	}
	for i, t := range types {
		field := fmt.Sprintf("auth_types[%d]", i)
		lt := strings.ToLower(t)
		switch {
		case lt != AuthCertificate && lt != AuthRADIUS:
			v.errorf(field, "unknown auth type %q (want certificate or radius)", t)
		case slices.ContainsFunc(types[:i], func(s string) bool { return strings.EqualFold(s, t) }):
			v.errorf(field, "%q is listed twice", t)
		case v.skuKnown && !v.sku.AllowsAuth(lt):
			v.errorf(field, "sku %s does not support %s (use VpnGw1 or higher)", v.sku.Name, displayName(lt))
		}
	}
	hasRADIUS := slices.ContainsFunc(types, func(s string) bool { return strings.EqualFold(s, AuthRADIUS) })
	switch {
	case hasRADIUS && c.RADIUS == nil:
		v.errorf("radius", "required when auth_types includes radius (list at least one server)")
	case !hasRADIUS && c.RADIUS != nil:
		v.errorf("radius", "radius is configured but auth_types does not include radius (add it there, or remove this section)")
	}
}

// displayName spells a tunnel or auth type as Azure's documentation does.
func displayName(t string) string {
	switch t {
	case TunnelIKEv2:
		return "IKEv2"
	case TunnelSSTP:
		return "SSTP"
	case TunnelOpenVPN:
		return "OpenVPN"
	case AuthRADIUS:
		return "RADIUS"
	}
	return t
}

func (v *checker) log() {
	if f := v.c.Log.Format; !slices.Contains([]string{"text", "json"}, strings.ToLower(f)) {
		v.errorf("log.format", "unknown format %q (want text or json)", f)
	}
	if l := v.c.Log.Level; !isLevel(l) {
		v.errorf("log.level", "unknown level %q (want %s)", l, oneOf(logcat.LevelNames()))
	}
	cats := v.c.Log.Categories
	names := slices.Sorted(maps.Keys(cats))
	for i, name := range names {
		field := "log.categories." + name
		same := slices.IndexFunc(names[:i], func(s string) bool { return strings.EqualFold(s, name) })
		switch {
		case !logcat.IsCategory(strings.ToLower(name)):
			v.errorf(field, "unknown category %q (want %s)", name, oneOf(logcat.Categories()))
		case same >= 0:
			v.errorf(field, "%q is also listed as %q", name, names[same])
		}
		if l := cats[name]; !isLevel(l) {
			v.errorf(field, "unknown level %q (want %s)", l, oneOf(logcat.LevelNames()))
		}
	}
}

func isLevel(s string) bool {
	_, err := logcat.ParseLevel(s)
	return err == nil
}

// oneOf lists names for a message: "a, b or c".
func oneOf(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// ikeTimers checks the IKEv2 timers: durations, within sane bounds.
func (v *checker) ikeTimers() {
	check := func(field, s string, min, max time.Duration) time.Duration {
		d, err := time.ParseDuration(s)
		switch {
		case err != nil:
			v.errorf(field, "%q is not a duration; write e.g. 30s or 2m", s)
		case d < min || d > max:
			v.errorf(field, "%s is out of range; use %s to %s", d, min, max)
		}
		return d
	}
	iv := check("ike.dpd_interval", v.c.IKE.DPDInterval, time.Second, time.Hour)
	to := check("ike.dead_peer_timeout", v.c.IKE.DeadPeerTimeout, 2*time.Second, time.Hour)
	check("ike.child_lifetime", v.c.IKE.ChildLifetime, 2*time.Second, 24*time.Hour)
	check("ike.ike_lifetime", v.c.IKE.IKELifetime, 2*time.Second, 24*time.Hour)
	if iv > 0 && to > 0 && to < 2*time.Second {
		v.errorf("ike.dead_peer_timeout", "%s leaves no time for a retransmission", to)
	}
}

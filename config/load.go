package config

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
)

// Defaults that config.go does not list.
const (
	DefaultRADIUSTimeout = "5s"
	DefaultRADIUSRetries = 2
	DefaultInterim       = "5m"
)

// Load reads the configuration file at path and returns it with defaults applied and
// relative paths made absolute (relative to the file's directory), validated. Its errors
// start with "config: " and the path; the problems in the file are a *ValidationError
// (errors.As), each with the YAML path and, where known, the line.
func Load(path string) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	data, err := readRegularFile(abs, MaxSize)
	if err != nil {
		if errors.Is(err, errTooBig) {
			err = ErrTooLarge
		}
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	c, err := parse(data, filepath.Dir(abs))
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes data as gateway.yaml: strictly (an unknown key is an error, and so is a
// second YAML document), then applies defaults, makes relative paths absolute by joining
// them to baseDir (left relative if baseDir is empty), and validates, reading the files the
// configuration names. It never panics, whatever the bytes. Problems are returned together
// in a *ValidationError (errors.As).
func Parse(data []byte, baseDir string) (*Config, error) {
	c, err := parse(data, baseDir)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

func parse(data []byte, baseDir string) (*Config, error) {
	c, lines, err := decode(data)
	if err != nil {
		return nil, err
	}
	c.ApplyDefaults()
	c.canonicalize()
	c.resolvePaths(baseDir)
	if err := c.Validate(); err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			for i := range ve.Problems {
				if ve.Problems[i].Line == 0 {
					ve.Problems[i].Line = lines.lookup(ve.Problems[i].Field)
				}
			}
		}
		return nil, err
	}
	return c, nil
}

// ApplyDefaults fills every empty field that has a default and leaves set fields alone: sku
// VpnGw1; tunnel types IKEv2 and SSTP (SSTP alone on Basic, which has no IKEv2); certificate
// authentication; the listeners, state directory, admin socket and logging of config.go's
// Default constants; and for RADIUS the NAS-Identifier (the name), timeout, retries, the
// auth port 1812 on addresses without one and the accounting address host:1813. It is safe
// on a zero Config. Name has no default: Validate requires it.
func (c *Config) ApplyDefaults() {
	if c.SKU == "" {
		c.SKU = DefaultSKU
	}
	if c.TUN == "" {
		c.TUN = DefaultTUN
	}
	if c.IKE.DPDInterval == "" {
		c.IKE.DPDInterval = DefaultDPDInterval
	}
	if c.IKE.DeadPeerTimeout == "" {
		c.IKE.DeadPeerTimeout = DefaultDeadPeerTimeout
	}
	if c.IKE.ChildLifetime == "" {
		c.IKE.ChildLifetime = DefaultChildLifetime
	}
	if c.IKE.IKELifetime == "" {
		c.IKE.IKELifetime = DefaultIKELifetime
	}
	if len(c.TunnelTypes) == 0 {
		if strings.EqualFold(c.SKU, "Basic") {
			c.TunnelTypes = []string{TunnelSSTP}
		} else {
			c.TunnelTypes = []string{TunnelIKEv2, TunnelSSTP}
		}
	}
	if len(c.AuthTypes) == 0 {
		c.AuthTypes = []string{AuthCertificate}
	}
	setDefault(&c.Listen.IKE, DefaultIKEListen)
	setDefault(&c.Listen.NATT, DefaultNATTListen)
	setDefault(&c.Listen.SSTP, DefaultSSTPListen)
	setDefault(&c.Listen.OpenVPN, DefaultOVPNListen)
	setDefault(&c.StateDir, DefaultStateDir)
	setDefault(&c.Admin.Socket, DefaultSocket)
	setDefault(&c.Log.Format, DefaultLogFormat)
	setDefault(&c.Log.Level, DefaultLogLevel)
	if r := c.RADIUS; r != nil {
		setDefault(&r.NASIdentifier, c.Name)
		setDefault(&r.Timeout, DefaultRADIUSTimeout)
		setDefault(&r.InterimInterval, DefaultInterim)
		if r.Accounting == nil {
			on := true
			r.Accounting = &on
		}
		if r.Retries == nil {
			n := DefaultRADIUSRetries
			r.Retries = &n
		}
		for i := range r.Servers {
			s := &r.Servers[i]
			s.Address = withDefaultPort(s.Address, DefaultRADIUSPort)
			if s.AcctAddress == "" {
				if host, _, err := net.SplitHostPort(s.Address); err == nil {
					s.AcctAddress = net.JoinHostPort(host, strconv.Itoa(DefaultRADIUSAcct))
				}
			} else {
				s.AcctAddress = withDefaultPort(s.AcctAddress, DefaultRADIUSAcct)
			}
		}
	}
}

func setDefault(field *string, def string) {
	if *field == "" {
		*field = def
	}
}

// withDefaultPort returns addr with port added when it is a bare host; anything else,
// valid or not, comes back unchanged for Validate to judge.
func withDefaultPort(addr string, port int) string {
	if addr == "" {
		return addr
	}
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	host := addr
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if strings.Contains(host, ":") && !isIP(host) {
		return addr
	}
	if strings.ContainsAny(host, "[]") {
		return addr
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// canonicalize spells the enumerated values as the documentation does (the SKU as in
// SKUNames, tunnel and auth types and log settings in lower case) and makes empty lists nil,
// so that "dns_servers: []" and no dns_servers at all give equal Configs.
func (c *Config) canonicalize() {
	nilIfEmpty(&c.ClientAddressPools)
	nilIfEmpty(&c.VNetAddressSpace)
	nilIfEmpty(&c.DNSServers)
	if c.RADIUS != nil {
		nilIfEmpty(&c.RADIUS.Servers)
	}
	if n := canonicalSKU(c.SKU); n != "" {
		c.SKU = n
	}
	for i, t := range c.TunnelTypes {
		c.TunnelTypes[i] = strings.ToLower(t)
	}
	for i, t := range c.AuthTypes {
		c.AuthTypes[i] = strings.ToLower(t)
	}
	c.Log.Format = strings.ToLower(c.Log.Format)
	c.Log.Level = strings.ToLower(c.Log.Level)
	c.Log.Categories = lowerMap(c.Log.Categories)
}

// lowerMap returns m with its keys and values in lower case, or nil if m is empty. Keys
// that differ only in case stay as written, so that Validate reports the repeat rather
// than one of them silently winning.
func lowerMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	n := make(map[string]int, len(m))
	for k := range m {
		n[strings.ToLower(k)]++
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if lk := strings.ToLower(k); n[lk] == 1 {
			k = lk
		}
		out[k] = strings.ToLower(v)
	}
	return out
}

func nilIfEmpty[S ~[]E, E any](s *S) {
	if len(*s) == 0 {
		*s = nil
	}
}

// resolvePaths makes the relative file paths absolute by joining them to baseDir.
func (c *Config) resolvePaths(baseDir string) {
	if baseDir == "" {
		return
	}
	for _, p := range c.paths() {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(baseDir, *p)
		}
	}
}

// paths returns pointers to every field that holds a file path.
func (c *Config) paths() []*string {
	ps := []*string{
		&c.ServerCertificate, &c.ServerKey, &c.ServerRoot, &c.StateDir,
		&c.Admin.Socket, &c.Admin.TLSCertificate, &c.Admin.TLSKey, &c.Admin.ClientCA,
	}
	if c.RADIUS != nil {
		for i := range c.RADIUS.Servers {
			ps = append(ps, &c.RADIUS.Servers[i].SecretFile)
		}
	}
	return ps
}

package main

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/p2sgw/p2sgw/api"
)

func runRootCertAdd(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "root-cert add", "")
	var cf clientFlags
	cf.register(fs, env)
	name := fs.String("name", "", "a name for the root (letters, digits, '.', '_', '-')")
	file := fs.String("file", "", "the root certificate: .cer (DER) or .crt (PEM)")
	data := fs.String("public-cert-data", "", "the root as base64 of its DER, one line (Azure's --public-cert-data)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return usagef("--name is required")
	}
	if (*file == "") == (*data == "") {
		return usagef("give the root with exactly one of --file and --public-cert-data")
	}
	b64 := *data
	if *file != "" {
		raw, err := os.ReadFile(*file)
		if err != nil {
			return err
		}
		if der, ok, err := certificateBlock(raw); err != nil {
			return fmt.Errorf("%s: %w", *file, err)
		} else if ok {
			raw = der
		}
		b64 = base64.StdEncoding.EncodeToString(raw)
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	r, err := c.AddRootCert(ctx, api.AddRootCertRequest{Name: *name, PublicCertData: b64})
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(env.stdout, r)
	}
	fmt.Fprintf(env.stdout, "Added trusted root %q: %s\n  thumbprint %s\n  valid until %s\n", r.Name, r.Subject, r.Thumbprint, r.NotAfter.Format(time.DateOnly))
	fmt.Fprintln(env.stdout, "Client certificates issued by this root can connect now.")
	return nil
}

func runRootCertList(ctx context.Context, env *cmdEnv, args []string) error {
	c, cf, err := adminCommand(env, "root-cert list", args)
	if err != nil {
		return err
	}
	roots, err := c.RootCerts(ctx)
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(env.stdout, roots)
	}
	if len(roots) == 0 {
		fmt.Fprintln(env.stdout, "No trusted root certificates. Upload one with: p2sgw root-cert add --name NAME --file root.cer")
		return nil
	}
	tw := newTable(env.stdout)
	fmt.Fprintln(tw, "NAME\tSUBJECT\tTHUMBPRINT (SHA-1)\tNOT AFTER\tADDED")
	for _, r := range roots {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, r.Subject, r.Thumbprint, r.NotAfter.Format(time.DateOnly), r.AddedAt.Format(time.DateTime))
	}
	return tw.Flush()
}

func runRootCertRemove(ctx context.Context, env *cmdEnv, args []string) error {
	return removeByName(ctx, env, "root-cert remove", args, func(ctx context.Context, cf *clientFlags, name string) (string, error) {
		c, err := cf.client()
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Removed trusted root %q: client certificates issued by it can no longer connect.", name), c.RemoveRootCert(ctx, name)
	})
}

func runRevokedCertAdd(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "revoked-cert add", "")
	var cf clientFlags
	cf.register(fs, env)
	name := fs.String("name", "", "a name for the entry (letters, digits, '.', '_', '-')")
	tp := fs.String("thumbprint", "", "the client certificate's SHA-1 or SHA-256 thumbprint (hex; any case; colons or spaces allowed)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *name == "" || *tp == "" {
		return usagef("--name and --thumbprint are required")
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	r, err := c.AddRevokedCert(ctx, api.AddRevokedCertRequest{Name: *name, Thumbprint: *tp})
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(env.stdout, r)
	}
	fmt.Fprintf(env.stdout, "Revoked %s as %q: a client with this certificate can no longer connect.\n", r.Thumbprint, r.Name)
	return nil
}

func runRevokedCertList(ctx context.Context, env *cmdEnv, args []string) error {
	c, cf, err := adminCommand(env, "revoked-cert list", args)
	if err != nil {
		return err
	}
	list, err := c.RevokedCerts(ctx)
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(env.stdout, list)
	}
	if len(list) == 0 {
		fmt.Fprintln(env.stdout, "No revoked certificates.")
		return nil
	}
	tw := newTable(env.stdout)
	fmt.Fprintln(tw, "NAME\tTHUMBPRINT\tADDED")
	for _, r := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, r.Thumbprint, r.AddedAt.Format(time.DateTime))
	}
	return tw.Flush()
}

func runRevokedCertRemove(ctx context.Context, env *cmdEnv, args []string) error {
	return removeByName(ctx, env, "revoked-cert remove", args, func(ctx context.Context, cf *clientFlags, name string) (string, error) {
		c, err := cf.client()
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Reinstated %q: the certificate can connect again.", name), c.RemoveRevokedCert(ctx, name)
	})
}

// removeByName runs a "NOUN remove NAME" command: fn removes one name and says what happened.
func removeByName(ctx context.Context, env *cmdEnv, cmd string, args []string, fn func(context.Context, *clientFlags, string) (string, error)) error {
	fs := newFlagSet(env, cmd, "NAME")
	var cf clientFlags
	cf.register(fs, env)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("give exactly one NAME")
	}
	msg, err := fn(ctx, &cf, pos[0])
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(env.stdout, map[string]string{"removed": pos[0]})
	}
	fmt.Fprintln(env.stdout, msg)
	return nil
}

func runConnectionsList(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "connections list", "")
	var cf clientFlags
	cf.register(fs, env)
	var f connFilter
	f.register(fs)
	sortBy := fs.String("sort", "connected", "order by: connected (oldest first), user, protocol, duration, in, out (the biggest first for in and out)")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	if !slices.Contains([]string{"connected", "user", "protocol", "duration", "in", "out"}, *sortBy) {
		return usagef("--sort %q: use connected, user, protocol, duration, in or out", *sortBy)
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	conns, err := c.Connections(ctx)
	if err != nil {
		return err
	}
	conns = f.apply(conns)
	sortConnections(conns, *sortBy)
	if cf.json {
		return printJSON(env.stdout, conns)
	}
	if len(conns) == 0 {
		fmt.Fprintln(env.stdout, "No connections.")
		return nil
	}
	tw := newTable(env.stdout)
	fmt.Fprintln(tw, "ID\tUSER\tPUBLIC ADDRESS\tVPN ADDRESS\tPROTOCOL\tAUTH\tCONNECTED\tDURATION\tIN (B/PKT)\tOUT (B/PKT)")
	for _, k := range conns {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d/%d\t%d/%d\n", k.ID, k.User, k.PublicAddress, k.VPNAddress, k.Protocol, k.AuthMethod,
			k.ConnectedAt.Format(time.DateTime), time.Duration(k.DurationSec)*time.Second, k.IngressBytes, k.IngressPackets, k.EgressBytes, k.EgressPackets)
	}
	return tw.Flush()
}

func runConnectionsDisconnect(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "connections disconnect", "ID…")
	var cf clientFlags
	cf.register(fs, env)
	var f connFilter
	f.register(fs)
	ids, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(ids) == 0 && f.empty() {
		return usagef("give at least one connection ID, or --user/--protocol (see p2sgw connections list)")
	}
	if len(ids) > 0 && !f.empty() {
		return usagef("give connection IDs or --user/--protocol, not both")
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	if !f.empty() {
		conns, err := c.Connections(ctx)
		if err != nil {
			return err
		}
		for _, k := range f.apply(conns) {
			ids = append(ids, k.ID)
		}
		if len(ids) == 0 {
			return fmt.Errorf("no connection matches %s (see p2sgw connections list)", f)
		}
	}
	done, err := c.Disconnect(ctx, ids)
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(env.stdout, api.DisconnectResponse{Disconnected: done})
	}
	for _, id := range done {
		fmt.Fprintf(env.stdout, "Disconnected %s\n", id)
	}
	return nil
}

// connFilter selects connections by user and protocol, for list and disconnect.
type connFilter struct{ user, protocol string }

func (f *connFilter) register(fs *flag.FlagSet) {
	fs.StringVar(&f.user, "user", "", "only this user's connections (as connections list shows the name; any case)")
	fs.StringVar(&f.protocol, "protocol", "", "only connections of this protocol: IKEv2, SSTP or OpenVPN (any case)")
}

func (f connFilter) empty() bool { return f.user == "" && f.protocol == "" }

func (f connFilter) String() string {
	var parts []string
	if f.user != "" {
		parts = append(parts, "--user "+f.user)
	}
	if f.protocol != "" {
		parts = append(parts, "--protocol "+f.protocol)
	}
	return strings.Join(parts, " ")
}

func (f connFilter) apply(conns []api.Connection) []api.Connection {
	out := conns[:0:0]
	for _, k := range conns {
		if (f.user == "" || strings.EqualFold(k.User, f.user)) && (f.protocol == "" || strings.EqualFold(k.Protocol, f.protocol)) {
			out = append(out, k)
		}
	}
	return out
}

// sortConnections orders conns by key: stable, so equal keys keep the gateway's order (oldest
// connection first).
func sortConnections(conns []api.Connection, key string) {
	slices.SortStableFunc(conns, func(a, b api.Connection) int {
		switch key {
		case "user":
			return strings.Compare(strings.ToLower(a.User), strings.ToLower(b.User))
		case "protocol":
			return strings.Compare(a.Protocol, b.Protocol)
		case "duration":
			return cmp.Compare(b.DurationSec, a.DurationSec)
		case "in":
			return cmp.Compare(b.IngressBytes, a.IngressBytes)
		case "out":
			return cmp.Compare(b.EgressBytes, a.EgressBytes)
		}
		return a.ConnectedAt.Compare(b.ConnectedAt)
	})
}

func runStatus(ctx context.Context, env *cmdEnv, args []string) error {
	c, cf, err := adminCommand(env, "status", args)
	if err != nil {
		return err
	}
	s, err := c.Status(ctx)
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(env.stdout, s)
	}
	w := env.stdout
	fmt.Fprintf(w, "Gateway %s (p2sgw %s), up since %s\n", s.Name, s.Version, s.StartedAt.Local().Format(time.DateTime))
	fmt.Fprintf(w, "  public address:  %s\n", s.PublicAddress)
	fmt.Fprintf(w, "  SKU:             %s — %s\n", s.SKU.Name, skuLimits(s.SKU))
	fmt.Fprintf(w, "  tunnel types:    %s\n", strings.Join(s.TunnelTypes, ", "))
	fmt.Fprintf(w, "  auth types:      %s\n", strings.Join(s.AuthTypes, ", "))
	fmt.Fprintf(w, "  VNet:            %s\n", strings.Join(s.VNetAddressSpace, ", "))
	if len(s.DNSServers) > 0 {
		fmt.Fprintf(w, "  DNS servers:     %s\n", strings.Join(s.DNSServers, ", "))
	}
	fmt.Fprintf(w, "  trusted roots:   %d (max %s), revoked certificates: %d\n", s.RootCerts, limit(s.SKU.MaxRootCerts), s.RevokedCerts)
	fmt.Fprintf(w, "  configuration:   %s, loaded %s\n", s.ConfigFile, s.ConfigLoadedAt.Local().Format(time.DateTime))
	fmt.Fprintln(w, "Client address pools:")
	for _, p := range s.Pools {
		fmt.Fprintf(w, "  %-18s %d of %d addresses in use (gateway %s)\n", p.Prefix, p.InUse, p.Size, p.Gateway)
	}
	fmt.Fprintln(w, "Listeners:")
	for _, l := range s.Listeners {
		fmt.Fprintf(w, "  %-12s %s %s: %s\n", l.Name, l.Network, l.Address, l.State)
	}
	if len(s.RADIUSServers) > 0 {
		fmt.Fprintln(w, "RADIUS servers (tried by priority):")
		for _, r := range s.RADIUSServers {
			fmt.Fprintf(w, "  %-22s priority %d, accounting %s: %s", r.Address, r.Priority, r.AcctAddress, r.State)
			if !r.LastOK.IsZero() {
				fmt.Fprintf(w, ", last answer %s", r.LastOK.Local().Format(time.DateTime))
			}
			fmt.Fprintf(w, "; %d requests, %d unanswered, %d bad answers\n", r.Requests, r.Timeouts, r.BadResponses)
			if r.State == "down" && r.LastError != "" {
				fmt.Fprintf(w, "  %-22s last error: %s\n", "", r.LastError)
			}
		}
	}
	fmt.Fprintf(w, "Connections: %d (IKEv2 %d, SSTP %d, OpenVPN %d)\n", s.Connections.Total,
		s.Connections.ByProtocol["IKEv2"], s.Connections.ByProtocol["SSTP"], s.Connections.ByProtocol["OpenVPN"])
	return nil
}

func skuLimits(s api.SKU) string {
	parts := []string{
		"IKEv2+OpenVPN " + limit(s.MaxIKEv2OpenVPN),
		"SSTP " + limit(s.MaxSSTP),
	}
	if s.MaxIKEv2 > 0 {
		parts = append(parts, "IKEv2 "+limit(s.MaxIKEv2))
	}
	if s.MaxOpenVPN > 0 {
		parts = append(parts, "OpenVPN "+limit(s.MaxOpenVPN))
	}
	if s.MaxConnections > 0 {
		parts = append(parts, "total "+limit(s.MaxConnections))
	}
	tp := "unshaped"
	if s.ThroughputMbps > 0 {
		tp = fmt.Sprintf("%d Mbit/s", s.ThroughputMbps)
	}
	return "connections: " + strings.Join(parts, ", ") + "; throughput " + tp
}

func limit(n int) string {
	if n <= 0 {
		return "unlimited"
	}
	return fmt.Sprint(n)
}

func runReload(ctx context.Context, env *cmdEnv, args []string) error {
	c, cf, err := adminCommand(env, "reload", args)
	if err != nil {
		return err
	}
	res, err := c.Reload(ctx)
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(env.stdout, res)
	}
	fmt.Fprintln(env.stdout, "Configuration reloaded.")
	if len(res.NeedsRestart) > 0 {
		fmt.Fprintf(env.stdout, "Changed but kept until p2sgw serve restarts: %s\n", strings.Join(res.NeedsRestart, ", "))
	}
	return nil
}

// certificateBlock returns the first CERTIFICATE block of PEM data; ok is false for data that
// is not PEM (then it is taken as DER), and an error reports PEM without a certificate (a key
// file given by mistake, which must not be sent anywhere).
func certificateBlock(data []byte) (der []byte, ok bool, err error) {
	var kinds []string
	for rest := data; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type == "CERTIFICATE" {
			return blk.Bytes, true, nil
		}
		kinds = append(kinds, blk.Type)
	}
	if len(kinds) > 0 {
		return nil, false, fmt.Errorf("holds no certificate, only PEM %s; give the root's .cer or .crt", strings.Join(kinds, ", "))
	}
	return nil, false, nil
}

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/p2sgw/p2sgw/config"
	"github.com/p2sgw/p2sgw/gateway"
	"github.com/p2sgw/p2sgw/internal/logcat"
	"github.com/p2sgw/p2sgw/pki"
)

// runDemo implements `p2sgw demo`: the seed's procedure end to end, with the real commands,
// in a temporary directory. As root (with strongSwan installed: sudo scripts/demo) it is the
// full tour in network namespaces of its own: a gateway host, a VNet host with a web server
// and two client hosts running strongSwan; one client connects and fetches a page from the
// VNet through the tunnel, the other's revoked certificate is refused. Without root it is the
// admin tour alone. Nothing outside the directory and the namespaces is touched.
func runDemo(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet(env, "demo", "")
	dir := fs.String("dir", "", "work directory (default: a new temporary one, removed at the end unless --keep)")
	keep := fs.Bool("keep", false, "keep the gateway running (until Ctrl-C) and the directory, to try the CLI yourself")
	adminOnly := fs.Bool("admin-only", false, "the admin tour only, without namespaces and a real client (what runs without root)")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "p2sgw-demo-")
		if err != nil {
			return err
		}
		*dir = d
		if !*keep {
			defer os.RemoveAll(d)
		}
	}
	d := &demo{env: env, dir: *dir, sock: filepath.Join(*dir, "control.sock")}
	if *adminOnly || os.Geteuid() != 0 {
		if !*adminOnly {
			fmt.Fprintln(env.stdout, "(Not root: the admin tour only. `sudo scripts/demo` adds namespaces and a real IKEv2 client.)")
		}
		return d.run(ctx, *keep)
	}
	return d.runNetwork(ctx, *keep)
}

type demo struct {
	env  *cmdEnv
	dir  string
	sock string
	step int
}

func (d *demo) run(ctx context.Context, keep bool) error {
	w := d.env.stdout
	fmt.Fprintf(w, "p2sgw demo — a Point-to-Site gateway from scratch, in %s\n", d.dir)

	gwDir := filepath.Join(d.dir, "gateway")
	d.say("Create the gateway: configuration, server CA and server certificate")
	if err := d.cli(ctx, "init", "--dir", gwDir, "--name", "demo-gw", "--public-address", "vpn.demo.example",
		"--pool", "100.64.0.0/24", "--vnet", "198.19.0.0/16", "--dns", "198.19.0.53",
		"--state-dir", filepath.Join(d.dir, "state"), "--socket", d.sock); err != nil {
		return err
	}

	d.say("Start the gateway (p2sgw serve, here inside this process)")
	cfgPath := filepath.Join(gwDir, "gateway.yaml")
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	levels := logcat.NewLevels(slog.LevelWarn) // keep the tour readable; serve logs at info
	// The tour touches no network: the admin API only (the tunnel needs namespaces of its own).
	g, err := gateway.New(ctx, cfg, gateway.Options{ConfigPath: cfgPath, Log: newLogger(d.env.stderr, "text", levels), Version: version(), AdminOnly: true})
	if err != nil {
		return err
	}
	defer g.Close()
	gctx, stop := context.WithCancel(ctx)
	ready := make(chan struct{})
	served := make(chan error, 1)
	go func() { served <- g.Serve(gctx, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-served:
		stop()
		return err
	}
	// Whatever happens below, stop the gateway and wait for it before its store closes.
	defer func() { stop(); <-served }()
	fmt.Fprintf(w, "  admin API on %s\n", d.sock)

	rootDir := filepath.Join(d.dir, "client-root")
	d.say("Create a root certificate for client certificates")
	if err := d.cli(ctx, "pki", "create-root", "--cn", "P2SRootCert", "--out", rootDir); err != nil {
		return err
	}
	d.say("Upload the root's public key (.cer) to the gateway as a trusted root")
	if err := d.cli(ctx, "root-cert", "add", "--socket", d.sock, "--name", "P2SRootCert", "--file", filepath.Join(rootDir, "root.cer")); err != nil {
		return err
	}
	d.say("Generate client certificates from the root")
	for _, u := range []string{"alice@example.com", "bob@example.com"} {
		if err := d.cli(ctx, "pki", "issue-client", "--root", rootDir, "--cn", u, "--out", filepath.Join(d.dir, strings.Split(u, "@")[0]), "--p12-password", "demo-password"); err != nil {
			return err
		}
	}
	bobCert := filepath.Join(d.dir, "bob", "client.crt")
	bob, err := pki.ReadCertificate(bobCert)
	if err != nil {
		return err
	}
	d.say("Revoke bob's certificate by its thumbprint")
	if err := d.cli(ctx, "pki", "thumbprint", bobCert); err != nil {
		return err
	}
	if err := d.cli(ctx, "revoked-cert", "add", "--socket", d.sock, "--name", "bob-laptop", "--thumbprint", pki.ThumbprintsOf(bob.Raw).SHA1); err != nil {
		return err
	}
	if err := d.cli(ctx, "revoked-cert", "list", "--socket", d.sock); err != nil {
		return err
	}

	d.say("Check both certificates as the gateway will when they connect")
	for _, u := range []string{"alice", "bob"} {
		c, err := pki.ReadCertificate(filepath.Join(d.dir, u, "client.crt"))
		if err != nil {
			return err
		}
		if id, err := g.Policy().Verify(c, nil, time.Now()); err != nil {
			fmt.Fprintf(w, "  %-6s refused: %s\n", u, strings.TrimPrefix(err.Error(), "certauth: "))
		} else {
			fmt.Fprintf(w, "  %-6s accepted as %q (root %s)\n", u, id.Name, id.Root)
		}
	}

	d.say("The gateway at a glance")
	if err := d.cli(ctx, "status", "--socket", d.sock); err != nil {
		return err
	}
	if err := d.cli(ctx, "connections", "list", "--socket", d.sock); err != nil {
		return err
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "The tunnel protocols (IKEv2, SSTP) come next; then `p2sgw demo` also connects a real client.")
	if !keep {
		return nil
	}
	fmt.Fprintf(w, "\nThe gateway keeps running; try, in another shell:\n  p2sgw status --socket %s\nCtrl-C stops it. Files stay in %s.\n", d.sock, d.dir)
	<-ctx.Done()
	return nil
}

func (d *demo) say(what string) {
	d.step++
	fmt.Fprintf(d.env.stdout, "\n%d. %s\n", d.step, what)
}

// cli runs a p2sgw command in this process, showing it as typed and indenting its output.
func (d *demo) cli(ctx context.Context, args ...string) error {
	w := d.env.stdout
	fmt.Fprintf(w, "  $ p2sgw %s\n", strings.Join(args, " "))
	out := &indenter{w: w}
	sub := &cmdEnv{stdout: out, stderr: out, getenv: d.env.getenv}
	if code := run(ctx, sub, args); code != 0 {
		return fmt.Errorf("demo step failed: p2sgw %s (exit %d)", strings.Join(args, " "), code)
	}
	return nil
}

// indenter indents every line written through it by four spaces.
type indenter struct {
	w   io.Writer
	mid bool // in the middle of a line
}

func (in *indenter) Write(p []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if line == "" {
			continue
		}
		if !in.mid {
			io.WriteString(in.w, "    ")
		}
		io.WriteString(in.w, line)
		in.mid = !strings.HasSuffix(line, "\n")
	}
	return len(p), nil
}

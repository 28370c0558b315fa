// Command p2sgw is the Point-to-Site VPN gateway: the daemon (`p2sgw serve`), its admin CLI
// (`p2sgw root-cert …`, `p2sgw connections …`, …) and the offline tools (`p2sgw pki …`,
// `p2sgw init`).
//
// This package only parses flags and prints; the work is done by the packages it calls.
//
// tlsunsafeekm: EAP-TLS derives its keys with TLS's exporter. Go refuses the exporter on a TLS
// 1.2 connection without the Extended Master Secret extension (RFC 7627) unless told otherwise,
// and strongSwan 5.9.8 and older Windows clients do not offer it. EAP-TLS keys from such a
// connection are what RFC 5216 specifies and every EAP server computes; we accept that.
//
//go:debug tlsunsafeekm=1
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand. Nouns with verbs ("root-cert add") are keyed by both words.
type command struct {
	name    string // "root-cert add"
	summary string // one line for the command list
	run     func(ctx context.Context, env *cmdEnv, args []string) error
}

// cmdEnv is what a command may touch of the outside world, so tests can run commands
// in-process with their own output buffers.
type cmdEnv struct {
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// commands is every subcommand, in the order help lists them. It is set in init because
// `p2sgw demo` runs other commands through it.
var commands []*command

func init() {
	commands = []*command{
		{"init", "write a gateway configuration, its server CA and server certificate", runInit},
		{"serve", "run the gateway daemon", runServe},
		{"install-service", "write the systemd unit that runs p2sgw serve", runInstallService},
		{"connect", "connect to a gateway over IKEv2 with a client certificate, and stay connected", runConnect},
		{"demo", "a tour: gateway and real clients in namespaces of its own (as root), or the admin tour", runDemo},
		{"status", "show the gateway: SKU and limits, tunnel and auth types, listeners, pools, connections", runStatus},
		{"reload", "ask the running gateway to re-read its configuration", runReload},

		{"root-cert add", "upload a trusted root certificate (.cer or .crt, or --public-cert-data)", runRootCertAdd},
		{"root-cert list", "list the trusted root certificates", runRootCertList},
		{"root-cert remove", "remove a trusted root certificate by name", runRootCertRemove},

		{"revoked-cert add", "revoke a client certificate by thumbprint", runRevokedCertAdd},
		{"revoked-cert list", "list revoked client certificates", runRevokedCertList},
		{"revoked-cert remove", "reinstate a revoked client certificate", runRevokedCertRemove},

		{"connections list", "list connected clients (connection health)", runConnectionsList},
		{"connections disconnect", "disconnect clients by connection id", runConnectionsDisconnect},

		{"vpn-client generate", "write the VPN client configuration package (a zip for every native client)", runVPNClientGenerate},

		{"pki create-root", "create a root CA for client certificates", runPKICreateRoot},
		{"pki issue-client", "issue a client certificate (with .p12) from a root", runPKIIssueClient},
		{"pki issue-server", "issue a gateway server certificate from a root", runPKIIssueServer},
		{"pki thumbprint", "print a certificate's SHA-1 and SHA-256 thumbprints", runPKIThumbprint},

		{"bench ikev2", "IKEv2 load generator: open many sessions to a gateway, measure handshakes/s and setup latency", runBenchIKEv2},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := &cmdEnv{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(run(ctx, env, os.Args[1:]))
}

// run dispatches args to a command and returns the process exit code: 0 on success, 1 when
// the command failed, 2 on a usage error.
func run(ctx context.Context, env *cmdEnv, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.stdout)
		return 0
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Fprintln(env.stdout, "p2sgw", version())
		return 0
	}
	cmd, rest := lookup(args)
	if cmd == nil {
		fmt.Fprintf(env.stderr, "p2sgw: unknown command %q\n", strings.Join(args[:min(2, len(args))], " "))
		if verbs := verbsOf(args[0]); len(verbs) > 0 {
			fmt.Fprintf(env.stderr, "%s takes one of: %s\n", args[0], strings.Join(verbs, ", "))
		} else {
			fmt.Fprintln(env.stderr, "Run 'p2sgw help' for the list of commands.")
		}
		return 2
	}
	err := cmd.run(ctx, env, rest)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(env.stderr, "p2sgw %s: %v\n", cmd.name, err)
		return 2
	default:
		fmt.Fprintf(env.stderr, "p2sgw %s: %v\n", cmd.name, err)
		return 1
	}
}

func lookup(args []string) (*command, []string) {
	if len(args) >= 2 {
		for _, c := range commands {
			if c.name == args[0]+" "+args[1] {
				return c, args[2:]
			}
		}
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c, args[1:]
		}
	}
	return nil, nil
}

func verbsOf(noun string) []string {
	var verbs []string
	for _, c := range commands {
		if n, v, ok := strings.Cut(c.name, " "); ok && n == noun {
			verbs = append(verbs, v)
		}
	}
	sort.Strings(verbs)
	return verbs
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "p2sgw — a self-hosted Point-to-Site VPN gateway")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: p2sgw COMMAND [flags]   (p2sgw COMMAND -h for its flags)")
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-24s %s\n", c.name, c.summary)
	}
}

// usageError is an error in how a command was called; it exits with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// newFlagSet returns a flag set for cmd that reports errors to env.stderr and does not exit.
func newFlagSet(env *cmdEnv, name, argsUsage string) *flag.FlagSet {
	fs := flag.NewFlagSet("p2sgw "+name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "Usage: p2sgw %s [flags] %s\n\nFlags:\n", name, argsUsage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args with fs, allowing flags after positional arguments
// ("p2sgw root-cert remove NAME --json"), and returns the positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// noArgs parses args with fs and refuses positional arguments.
func noArgs(fs *flag.FlagSet, args []string) error {
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	return nil
}

// listFlag is a repeatable flag whose values may also be comma-separated lists.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

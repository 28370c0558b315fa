package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/p2sgw/p2sgw/internal/strongswan"
	"github.com/p2sgw/p2sgw/internal/testnet"
	"github.com/p2sgw/p2sgw/pki"
)

// runNetwork is the full tour: namespaces, p2sgw serve in the gateway host, strongSwan clients.
func (d *demo) runNetwork(ctx context.Context, keep bool) (err error) {
	for _, tool := range strongswan.Tools {
		if _, lerr := exec.LookPath(tool); lerr != nil {
			return fmt.Errorf("the tour needs strongSwan (%s not found): run sudo scripts/demo, which installs it, or p2sgw demo --admin-only", tool)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	dt := &demoT{dir: filepath.Join(d.dir, "tmp"), log: io.Discard}
	defer dt.cleanup()
	defer func() {
		if r := recover(); r != nil {
			if f, ok := r.(demoFatal); ok {
				err = errors.New(string(f))
				return
			}
			panic(r)
		}
	}()
	w := d.env.stdout
	fmt.Fprintf(w, "p2sgw demo — a Point-to-Site gateway and real clients, in %s\n", d.dir)

	d.say("Build the hosts: two clients on an \"internet\" (198.18.0.0/16), the gateway, a VNet host (198.19.0.10)")
	tp := testnet.New(dt, testnet.Options{Clients: 2, ForwardOnGateway: true})
	web := tp.StartVNetHTTP(dt)
	var names []string
	for _, ns := range tp.Namespaces() {
		names = append(names, ns.Name)
	}
	fmt.Fprintf(w, "  namespaces: %s\n  the VNet host serves %s\n", strings.Join(names, ", "), web)

	gwDir := filepath.Join(d.dir, "gateway")
	d.say("Create the gateway (IKEv2), its server CA and server certificate")
	if err := d.cli(ctx, "init", "--dir", gwDir, "--name", "demo-gw", "--public-address", "vpn.demo.example",
		"--pool", "100.64.0.0/24", "--vnet", testnet.VNetPrefix.String(), "--dns", "198.19.0.53", "--tunnel-types", "ikev2",
		"--state-dir", filepath.Join(d.dir, "state"), "--socket", d.sock); err != nil {
		return err
	}
	d.say("Start it on the gateway host")
	fmt.Fprintf(w, "  $ ip netns exec %s p2sgw serve --config %s\n", tp.Gateway.Name, filepath.Join(gwDir, "gateway.yaml"))
	gw := tp.Gateway.StartCmd(dt, tp.Gateway.Command(context.Background(), exe, "serve", "--config", filepath.Join(gwDir, "gateway.yaml")))
	if err := d.waitGateway(ctx, gw); err != nil {
		return err
	}

	rootDir := filepath.Join(d.dir, "client-root")
	d.say("Create a root certificate for clients and upload its public key")
	if err := d.cli(ctx, "pki", "create-root", "--cn", "P2SRootCert", "--out", rootDir); err != nil {
		return err
	}
	if err := d.cli(ctx, "root-cert", "add", "--socket", d.sock, "--name", "P2SRootCert", "--file", filepath.Join(rootDir, "root.cer")); err != nil {
		return err
	}
	d.say("Issue client certificates; revoke bob's")
	for _, u := range []string{"alice", "bob"} {
		if err := d.cli(ctx, "pki", "issue-client", "--root", rootDir, "--cn", u+"@example.com", "--out", filepath.Join(d.dir, u), "--p12-password", "demo-password"); err != nil {
			return err
		}
	}
	bob, err := pki.ReadCertificate(filepath.Join(d.dir, "bob", "client.crt"))
	if err != nil {
		return err
	}
	if err := d.cli(ctx, "revoked-cert", "add", "--socket", d.sock, "--name", "bob-laptop", "--thumbprint", pki.ThumbprintsOf(bob.Raw).SHA1); err != nil {
		return err
	}

	d.say("Connect alice with strongSwan (IKEv2, certificate) from client host 1")
	alice, err := d.swan(ctx, dt, tp, 0, "alice", gwDir)
	if err != nil {
		return err
	}
	if _, err := alice.Initiate(ctx, "p2s"); err != nil {
		return fmt.Errorf("alice could not connect: %v\n%s", err, gw.Output())
	}
	sas, _ := alice.ListSAs(ctx)
	fmt.Fprintf(w, "  connected:\n%s", indent(sas, "    "))

	d.say("Fetch a page from the VNet through the tunnel")
	resp, err := tp.Clients[0].HTTPClient(10 * time.Second).Get(web)
	if err != nil {
		return fmt.Errorf("fetch through the tunnel: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	resp.Body.Close()
	fmt.Fprintf(w, "  $ curl %s\n    %s", web, body)

	d.say("bob tries with his revoked certificate from client host 2")
	bobc, err := d.swan(ctx, dt, tp, 1, "bob", gwDir)
	if err != nil {
		return err
	}
	if _, err := bobc.Initiate(ctx, "p2s"); err == nil {
		return errors.New("bob connected with a revoked certificate")
	}
	fmt.Fprintln(w, "  refused (AUTHENTICATION_FAILED); the gateway's log says why:")
	for _, line := range strings.Split(gw.Output(), "\n") {
		if strings.Contains(line, `msg="client refused"`) {
			fmt.Fprintf(w, "    %s\n", line)
		}
	}

	d.say("The gateway at a glance")
	if err := d.cli(ctx, "connections", "list", "--socket", d.sock); err != nil {
		return err
	}
	if err := d.cli(ctx, "status", "--socket", d.sock); err != nil {
		return err
	}
	if keep {
		fmt.Fprintf(w, "\nEverything keeps running; try, in another shell:\n  sudo p2sgw connections list --socket %s\n  sudo ip netns exec %s ping %s\nCtrl-C removes it all.\n",
			d.sock, tp.Clients[0].Name, testnet.VNetHostAddr)
		<-ctx.Done()
	}
	fmt.Fprintln(w, "\nCleaning up: stopping the gateway and the clients, removing the namespaces.")
	return nil
}

// waitGateway waits for the gateway's admin socket to answer.
func (d *demo) waitGateway(ctx context.Context, p *testnet.Process) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		var out strings.Builder
		if run(ctx, &cmdEnv{stdout: &out, stderr: &out, getenv: d.env.getenv}, []string{"status", "--socket", d.sock}) == 0 {
			return nil
		}
		select {
		case <-p.Exited():
			return fmt.Errorf("p2sgw serve exited:\n%s", p.Output())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("p2sgw serve did not answer within 15s:\n%s", p.Output())
		}
	}
}

// swan starts a strongSwan client on client host i with user's certificate.
func (d *demo) swan(ctx context.Context, dt *demoT, tp *testnet.Topology, i int, user, gwDir string) (*strongswan.Client, error) {
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			dt.Fatal(err)
		}
		return b
	}
	c := strongswan.Start(dt, tp.Clients[i], filepath.Join(d.dir, user, "strongswan"))
	conn := strongswan.Conn{
		Name: "p2s", Gateway: testnet.GatewayAddr, RemoteID: "vpn.demo.example",
		CACertPEM: read(filepath.Join(gwDir, "pki", "server-root.crt")),
		Auth:      strongswan.AuthPubkey, LocalID: user + "@example.com",
		CertPEM: read(filepath.Join(d.dir, user, "client.crt")), KeyPEM: read(filepath.Join(d.dir, user, "client.key")),
		RemoteTS: []netip.Prefix{testnet.VNetPrefix},
	}
	return c, c.Load(ctx, conn)
}

func indent(s, prefix string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString(prefix + line + "\n")
	}
	return b.String()
}

// demoT lets the demo use the test harness (testnet.T) outside a test: cleanups run in
// reverse at the end, and a fatal error unwinds to runNetwork as a demoFatal panic.
type demoT struct {
	dir      string
	log      io.Writer
	cleanups []func()
	failed   bool
	n        int
}

type demoFatal string

func (t *demoT) Helper()                 {}
func (t *demoT) Cleanup(f func())        { t.cleanups = append(t.cleanups, f) }
func (t *demoT) Failed() bool            { return t.failed }
func (t *demoT) Logf(f string, a ...any) { fmt.Fprintf(t.log, f+"\n", a...) }
func (t *demoT) Error(a ...any)          { t.failed = true; fmt.Fprintln(os.Stderr, a...) }
func (t *demoT) Errorf(f string, a ...any) {
	t.failed = true
	fmt.Fprintf(os.Stderr, f+"\n", a...)
}
func (t *demoT) Fatal(a ...any)            { t.failed = true; panic(demoFatal(fmt.Sprint(a...))) }
func (t *demoT) Fatalf(f string, a ...any) { t.failed = true; panic(demoFatal(fmt.Sprintf(f, a...))) }
func (t *demoT) Skip(a ...any)             { panic(demoFatal(fmt.Sprint(a...))) }

func (t *demoT) TempDir() string {
	t.n++
	d := filepath.Join(t.dir, fmt.Sprint(t.n))
	if err := os.MkdirAll(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

func (t *demoT) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
	t.cleanups = nil
}

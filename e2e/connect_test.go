package e2e

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/internal/testnet"
	"github.com/p2sgw/p2sgw/vpnclient"
)

// restart stops the gateway — with SIGTERM (it deletes its clients' SAs) or SIGKILL (it
// vanishes without a word) — and starts it again on the same configuration and state.
func (g *ikeGateway) restart(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if sig == syscall.SIGKILL {
		syscall.Kill(g.proc.PID(), syscall.SIGKILL)
		g.proc.Wait()
	} else if err := g.proc.Stop(); err != nil {
		t.Fatal(err)
	}
	cmd := g.tp.Gateway.Command(context.Background(), bin, "serve", "--config", g.config)
	g.proc = g.tp.Gateway.StartCmd(t, cmd)
	waitSocket(t, g.socket, g.proc)
}

// TestConnectReconnect: `p2sgw connect` with the VPN client configuration package brings up a TUN with the pool address and the VNet
// route and reaches the VNet; it reconnects by itself — with the same address — after the
// gateway restarts (cleanly, and killed without a word), and tells the gateway of a change of
// its own address (MOBIKE), passing traffic again within 10 s each time; --status tells its state; stopping it
// ends the session on the gateway.
func TestConnectReconnect(t *testing.T) {
	testnet.Require(t, "ip")
	ctx := context.Background()
	tp := testnet.New(t, testnet.Options{Clients: 1, ForwardOnGateway: true})
	g := startIKEGateway(t, tp)
	url := tp.StartVNetHTTP(t)
	g.issueClient(t, "alice@example.com", "ecdsa-p256")
	certDir := filepath.Join(g.dir, "clients", "alice@example.com")
	runDir := t.TempDir()
	// The VPN client configuration package names the gateway and its root; the test network
	// has no DNS, so --server gives the address of vpn.e2e.example.
	pkg := filepath.Join(t.TempDir(), "vpnclient.zip")
	ok(t, "vpn-client", "generate", "--socket", g.socket, "--out", pkg)
	client := tp.Clients[0].Start(t, bin, "connect", pkg, "--server", testnet.GatewayAddr.String(),
		"--cert", filepath.Join(certDir, "client.crt"), "--key", filepath.Join(certDir, "client.key"),
		"--tun", "p2sgwc", "--dns", "off", "--run-dir", runDir, "--dpd-interval", "5s", "--dead-peer-timeout", "3s")
	statusFile := filepath.Join(runDir, "connect-p2sgwc.json")

	// reach fetches the VNet greeting through the tunnel until it works or within is over,
	// and returns how long that took.
	reach := func(t *testing.T, within time.Duration) time.Duration {
		t.Helper()
		began := time.Now()
		var last error
		for time.Since(began) < within {
			resp, err := tp.Clients[0].HTTPClient(time.Second).Get(url)
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if strings.HasPrefix(string(body), testnet.VNetGreeting+" 100.64.0.") {
					return time.Since(began)
				}
				err = errBody(body)
			}
			last = err
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("the VNet not reached through p2sgw connect within %v: %v\nclient:\n%s\ngateway:\n%s", within, last, client.Output(), g.proc.Output())
		return 0
	}
	status := func(t *testing.T) vpnclient.Status {
		t.Helper()
		st, err := vpnclient.ReadStatus(statusFile)
		if err != nil {
			t.Fatalf("status: %v\nclient:\n%s", err, client.Output())
		}
		return st
	}

	reach(t, 15*time.Second)
	first := status(t)
	if first.State != "connected" || !strings.HasPrefix(first.VPNAddress, "100.64.0.") {
		t.Fatalf("status after connecting: %+v", first)
	}
	if len(first.Routes) != 1 || first.Routes[0] != testnet.VNetPrefix.String() || len(first.DNSServers) != 1 {
		t.Errorf("status routes %v, DNS %v: want the VNet and the pushed DNS server", first.Routes, first.DNSServers)
	}
	out := ok(t, "connect", "--status", "--tun", "p2sgwc", "--run-dir", runDir).stdout
	if !strings.Contains(out, "State:") || !strings.Contains(out, "connected") || !strings.Contains(out, first.VPNAddress) {
		t.Errorf("connect --status:\n%s", out)
	}

	// Not subtests: the restarted gateway must outlive them.
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
	}{{"gateway restarted", syscall.SIGTERM}, {"gateway killed and started again", syscall.SIGKILL}} {
		before := status(t).Reconnects
		g.restart(t, tc.sig)
		took := reach(t, 10*time.Second)
		t.Logf("%s: traffic again %v after the gateway was back", tc.name, took.Round(10*time.Millisecond))
		st := status(t)
		if st.Reconnects <= before || st.VPNAddress != first.VPNAddress || st.State != "connected" {
			t.Errorf("%s: status %+v; want more than %d reconnects and %s again\nclient:\n%s", tc.name, st, before, first.VPNAddress, client.Output())
		}
	}

	t.Run("client address changed", func(t *testing.T) {
		// Deleted first: a second address in the same subnet would go with the first.
		for _, args := range [][]string{
			{"ip", "addr", "del", "198.18.1.1/16", "dev", testnet.HostLink},
			{"ip", "addr", "add", "198.18.1.101/16", "dev", testnet.HostLink},
		} {
			if out, err := tp.Clients[0].Run(t, ctx, args[0], args[1:]...); err != nil {
				t.Fatalf("%v: %v\n%s", args, err, out)
			}
		}
		// Before any traffic: the client tells the gateway itself (MOBIKE UPDATE_SA_ADDRESSES).
		deadline := time.Now().Add(5 * time.Second)
		for {
			conns := g.connections(t)
			if len(conns) == 1 && strings.HasPrefix(conns[0].PublicAddress, "198.18.1.101:") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the gateway did not learn the new address within 5 s: %+v\nclient:\n%s\ngateway:\n%s", conns, client.Output(), g.proc.Output())
			}
			time.Sleep(100 * time.Millisecond)
		}
		if !strings.Contains(g.proc.Output(), "client moved (MOBIKE)") {
			t.Errorf("the gateway did not log the MOBIKE move:\n%s", g.proc.Output())
		}
		took := reach(t, 10*time.Second)
		t.Logf("traffic again %v after the address change", took.Round(10*time.Millisecond))
		if st := status(t); !strings.HasPrefix(st.LocalAddress, "198.18.1.101:") {
			t.Errorf("status local address %s after the move", st.LocalAddress)
		}
	})

	t.Run("stopping it ends the session", func(t *testing.T) {
		if err := client.Stop(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for len(g.connections(t)) != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("the gateway still lists the session 5 s after p2sgw connect stopped: %+v", g.connections(t))
			}
			time.Sleep(100 * time.Millisecond)
		}
		if _, err := os.Stat(statusFile); !os.IsNotExist(err) {
			t.Errorf("status file left behind: %v", err)
		}
	})
}

type errBody []byte

func (b errBody) Error() string { return "unexpected answer: " + string(b) }

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/internal/loadgen"
	"github.com/p2sgw/p2sgw/internal/testnet"
)

// TestLoadGenerator: p2sgw bench ikev2, from 8 addresses of one client host, opens 200 IKEv2
// sessions (certificate auth, cookies under load) to p2sgw serve; the gateway lists all 200;
// each session pings the VNet host through its tunnel; the sessions survive a hold across the
// gateway's liveness checks; and the generator's Deletes end them all on the gateway.
func TestLoadGenerator(t *testing.T) {
	testnet.Require(t)
	tp := testnet.New(t, testnet.Options{Clients: 1, ForwardOnGateway: true})
	g := startIKEGatewayWith(t, tp, []string{"--sku", "Custom", "--max-connections", "1000"},
		"client_address_pools: [100.64.0.0/24]", "client_address_pools: [100.64.0.0/22]",
		"dpd_interval: 30s", "dpd_interval: 2s")
	client := tp.Clients[0]
	var batch strings.Builder
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&batch, "addr add 198.18.2.%d/16 dev %s\n", i, testnet.HostLink)
	}
	add := client.Command(context.Background(), "ip", "-batch", "-")
	add.Stdin = strings.NewReader(batch.String())
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("add source addresses: %v: %s", err, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	gen := client.Command(ctx, bin, "bench", "ikev2", "--gateway", testnet.GatewayAddr.String(),
		"--server-name", "vpn.e2e.example", "--server-ca", filepath.Join(g.dir, "etc", "pki", "server-root.crt"),
		"--root", filepath.Join(g.dir, "client-root"), "--sources", "198.18.2.1-198.18.2.8",
		"--sessions", "200", "--concurrency", "32", "--certs", "20",
		"--traffic", "2", "--traffic-to", testnet.VNetHostAddr.String(), "--hold", "5s", "--json")
	var stdout, stderr syncBuffer
	gen.Stdout, gen.Stderr = &stdout, &stderr
	if err := gen.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- gen.Wait() }()

	// During the hold, the gateway lists every session.
	var conns []connJSON
	deadline := time.Now().Add(15 * time.Second)
	for {
		conns = g.connections(t)
		if len(conns) == 200 {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("the generator ended (%v) while the gateway listed %d connections:\n%s\n%s", err, len(conns), stdout.String(), stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway lists %d connections, want 200:\n%s", len(conns), stderr.String())
		}
	}
	for _, c := range conns {
		if !strings.HasPrefix(c.User, "loadgen-") || c.Protocol != "IKEv2" || !strings.HasPrefix(c.PublicAddress, "198.18.2.") {
			t.Fatalf("connection %+v is not one of the generator's", c)
		}
	}

	if err := <-exited; err != nil {
		t.Fatalf("p2sgw bench ikev2: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	var r loadgen.Report
	if err := json.Unmarshal([]byte(stdout.String()), &r); err != nil {
		t.Fatalf("report: %v\n%s", err, stdout.String())
	}
	t.Logf("%d sessions in %.2f s: %.0f handshakes/s, setup p50 %.1f ms, p99 %.1f ms; %d cookies, %d retransmissions",
		r.Established, r.EstablishSeconds, r.Rate, r.Latency.P50, r.Latency.P99, r.Cookies, r.Retransmits)
	if r.Established != 200 || r.Failed != 0 || r.Sources != 8 {
		t.Errorf("established %d, failed %d (%v) from %d sources; want 200, 0 from 8", r.Established, r.Failed, r.Failures, r.Sources)
	}
	if r.Rate <= 0 || r.Latency.P50 <= 0 || r.Latency.P99 < r.Latency.P50 {
		t.Errorf("no rate or latency: %.1f/s, p50 %.1f ms, p99 %.1f ms", r.Rate, r.Latency.P50, r.Latency.P99)
	}
	if tr := r.Traffic; tr == nil || tr.Replies != 400 || tr.Answered != 200 {
		t.Errorf("traffic through the tunnels: %+v", r.Traffic)
	}
	if h := r.Hold; h == nil || h.End != 200 || h.DeletedByGateway != 0 || h.Liveness < 200 {
		t.Errorf("hold across the gateway's liveness checks (every 2 s): %+v", r.Hold)
	}
	if td := r.Teardown; td == nil || td.Acknowledged != 200 {
		t.Errorf("teardown: %+v", r.Teardown)
	}
	deadline = time.Now().Add(5 * time.Second)
	for n := len(g.connections(t)); n != 0; n = len(g.connections(t)) {
		if time.Now().After(deadline) {
			t.Fatalf("after the teardown the gateway still lists %d connections", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/p2sgw/p2sgw/internal/strongswan"
	"github.com/p2sgw/p2sgw/internal/testnet"
)

// TestDemo runs the admin tour in-process: the whole seed procedure must succeed, alice's
// certificate must be accepted and bob's revoked one refused.
func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	env := &cmdEnv{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	if code := run(context.Background(), env, []string{"demo", "--admin-only", "--dir", dir}); code != 0 {
		t.Fatalf("demo exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{
		`(?m)^\s+alice\s+accepted as "alice@example.com" \(root P2SRootCert\)$`,
		`(?m)^\s+bob\s+refused: certificate revoked: client certificate "bob@example.com" .* revoked as "bob-laptop"$`,
		`Added trusted root "P2SRootCert"`,
		`trusted roots:\s+1 \(max 20\), revoked certificates: 1`,
		`No connections\.`,
	} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("demo output lacks %s:\n%s", want, out.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "control.sock")); !os.IsNotExist(err) {
		t.Errorf("the demo gateway's socket is still there after it ended: %v", err)
	}
}

// TestDemoNetwork runs the README's main command, the full tour: namespaces, p2sgw serve on
// the gateway host, strongSwan clients; alice fetches the VNet page through the tunnel and
// bob's revoked certificate is refused. Nothing may be left behind.
func TestDemoNetwork(t *testing.T) {
	testnet.Require(t, strongswan.Tools...)
	t.Setenv("P2SGW_TEST_AS_P2SGW", "1")
	dir := filepath.Join(t.TempDir(), "demo")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	env := &cmdEnv{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	if code := run(context.Background(), env, []string{"demo", "--dir", dir}); code != 0 {
		t.Fatalf("demo exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{
		`ESTABLISHED, IKEv2`,
		`p2sgw-vnet-ok 100\.64\.0\.\d+:\d+`,
		`refused \(AUTHENTICATION_FAILED\)`,
		`revoked as \\"bob-laptop\\"`,
		`IKEv2_[0-9A-F-]{36}\s+alice@example\.com\s+198\.18\.1\.1:4500\s+100\.64\.0\.\d+\s+IKEv2`,
	} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("demo output lacks %s:\n%s", want, out.String())
		}
	}
	// The demo runs in this process, so its namespaces carry this process's id (other tests
	// and benchmarks may have theirs meanwhile).
	if ns, _ := exec.Command("ip", "netns", "list").Output(); strings.Contains(string(ns), fmt.Sprintf("p2t-%d-", os.Getpid())) {
		t.Errorf("namespaces left behind:\n%s", ns)
	}
}

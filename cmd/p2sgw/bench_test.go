package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchIKEv2Refuses: `p2sgw bench ikev2` refuses what it cannot run before it opens any
// socket, with a sentence that says what to fix.
func TestBenchIKEv2Refuses(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	if code := run(context.Background(), &cmdEnv{stdout: new(bytes.Buffer), stderr: new(bytes.Buffer), getenv: func(string) string { return "" }},
		[]string{"pki", "create-root", "--cn", "Bench", "--out", root}); code != 0 {
		t.Fatalf("pki create-root: exit %d", code)
	}
	ok := []string{"bench", "ikev2", "--gateway", "198.18.0.1", "--server-name", "vpn.example", "--server-ca", filepath.Join(root, "root.crt"), "--root", root}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no gateway", []string{"bench", "ikev2", "--root", root}, 2, "--gateway, --server-name, --server-ca and --root are required"},
		{"IPv6 gateway", append(ok[:2:2], "--gateway", "2001:db8::1", "--server-name", "x", "--server-ca", "x", "--root", root), 2, "is not an IPv4 address"},
		{"group", append(ok, "--group", "modp1024"), 2, `--group "modp1024"`},
		{"sources", append(ok, "--sources", "198.18.2.9-198.18.2.1"), 2, "ends before it starts"},
		{"traffic address", append(ok, "--traffic", "1", "--traffic-to", "vnet"), 2, `--traffic-to "vnet"`},
		{"no sessions", append(ok, "--sessions", "0"), 2, "--sessions must be at least 1"},
		{"server CA missing", append(ok[:6:6], "--server-ca", filepath.Join(dir, "none.crt"), "--root", root), 1, "--server-ca"},
		{"root missing", append(ok[:8:8], "--root", filepath.Join(dir, "none")), 1, "--root"},
		{"traffic without address", append(ok, "--traffic", "1"), 2, "--traffic needs --traffic-to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			env := &cmdEnv{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
			if code := run(context.Background(), env, tc.args); code != tc.code || !strings.Contains(errb.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, errb.String(), tc.code, tc.want)
			}
		})
	}
}

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestDemo runs the README's main command in-process: the whole seed procedure must succeed,
// alice's certificate must be accepted and bob's revoked one refused.
func TestDemo(t *testing.T) {
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

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInstallService: the unit runs this binary's serve with the config, as a notify service
// reloaded by SIGHUP; systemd's own checker accepts it where it is installed.
func TestInstallService(t *testing.T) {
	dir := t.TempDir()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	env := &cmdEnv{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	if code := run(context.Background(), env, []string{"install-service", "--unit-dir", dir, "--binary", bin, "--config", "/etc/p2sgw/gateway.yaml"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	unit, err := os.ReadFile(filepath.Join(dir, "p2sgw.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Type=notify\n", "ExecStart=" + bin + " serve --config /etc/p2sgw/gateway.yaml\n",
		"ExecReload=/bin/kill -HUP $MAINPID\n", "StateDirectory=p2sgw\n", "RuntimeDirectory=p2sgw\n", "WantedBy=multi-user.target\n",
	} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("the unit lacks %q:\n%s", want, unit)
		}
	}
	if !strings.Contains(out.String(), "systemctl enable --now p2sgw") {
		t.Errorf("no next step: %s", out.String())
	}
	if code := run(context.Background(), env, []string{"install-service", "--unit-dir", dir, "--config", "/etc/my config.yaml"}); code != 2 {
		t.Errorf("a path with a space: exit %d, want 2 (usage)", code)
	}
	if verify, err := exec.LookPath("systemd-analyze"); err == nil {
		if b, err := exec.Command(verify, "verify", filepath.Join(dir, "p2sgw.service")).CombinedOutput(); err != nil {
			t.Errorf("systemd-analyze verify: %v\n%s", err, b)
		}
	}
}

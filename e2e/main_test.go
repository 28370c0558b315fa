// Package e2e runs p2sgw as users do — the built binary, its CLI and its daemon — and, as the
// protocols land, against real peers (strongSwan, FreeRADIUS, sstpc) in network namespaces
// built by internal/testnet.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bin is the p2sgw binary built once for the package's tests.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "p2sgw-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "p2sgw")
	build := exec.Command("go", "build", "-o", bin, "../cmd/p2sgw")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build p2sgw:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one p2sgw command did.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// p2sgw runs the binary with args and returns what it did.
func p2sgw(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "P2SGW_SOCKET=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("p2sgw %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// ok runs p2sgw and fails the test unless it exits 0.
func ok(t *testing.T, args ...string) result {
	t.Helper()
	r := p2sgw(t, args...)
	if r.code != 0 {
		t.Fatalf("p2sgw %s: %v", strings.Join(args, " "), r)
	}
	return r
}

// fails runs p2sgw, requires a non-zero exit, and requires stderr to contain every want.
func fails(t *testing.T, want []string, args ...string) result {
	t.Helper()
	r := p2sgw(t, args...)
	if r.code == 0 {
		t.Fatalf("p2sgw %s succeeded, want failure: %v", strings.Join(args, " "), r)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("p2sgw %s: stderr lacks %q: %v", strings.Join(args, " "), w, r)
		}
	}
	return r
}

// daemon is a running `p2sgw serve`.
type daemon struct {
	cmd    *exec.Cmd
	log    *syncBuffer
	socket string
	done   chan error
}

// serve starts p2sgw serve --admin-only with the config and waits until its admin socket
// answers: these tests run in the root namespace, where no tunnel listener or TUN device may
// open (the protocols are tested in namespaces of their own). The process is stopped (by its
// PID) when the test ends.
func serve(t *testing.T, config, socket string, extra ...string) *daemon {
	t.Helper()
	d := &daemon{log: new(syncBuffer), socket: socket, done: make(chan error, 1)}
	d.cmd = exec.Command(bin, append([]string{"serve", "--admin-only", "--config", config}, extra...)...)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			t.Logf("p2sgw serve log:\n%s", d.log.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		if c, err := net.Dial("unix", socket); err == nil {
			c.Close()
			return d
		}
		select {
		case err := <-d.done:
			t.Fatalf("p2sgw serve exited early: %v\n%s", err, d.log.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("p2sgw serve did not open %s within 15s:\n%s", socket, d.log.String())
		}
	}
}

// stop sends SIGTERM and requires a clean exit.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		if err != nil {
			t.Fatalf("p2sgw serve exited with %v after SIGTERM:\n%s", err, d.log.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("p2sgw serve did not stop within 15s of SIGTERM:\n%s", d.log.String())
	}
}

// waitLog waits until the daemon's log contains s.
func (d *daemon) waitLog(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(d.log.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("log never showed %q:\n%s", s, d.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for one writer (the process) and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

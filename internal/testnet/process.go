package testnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	stopGrace  = 5 * time.Second // from SIGTERM to SIGKILL
	killWait   = 5 * time.Second // from SIGKILL to giving up
	pollPeriod = 20 * time.Millisecond
	logTail    = 16 << 10 // bytes of a process's log shown when its test failed
)

// Command returns a command that runs name inside the namespace (through ip netns exec),
// in a process group of its own. When ctx is done the whole group gets SIGKILL, so
// children of name do not outlive it.
func (n *Namespace) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return execCommand(ctx, "ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// execCommand is exec.CommandContext with a process group of its own that is killed
// as a whole on cancellation.
func execCommand(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// Signal 0 through the pidfd fails once the leader is reaped: then its group
		// number is no longer ours to signal.
		if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
			return err
		}
		return unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
	}
	cmd.WaitDelay = killWait
	return cmd
}

// Run runs name inside the namespace, logs the command line with t.Logf, and returns
// its combined output; a failure's error includes the output too.
func (n *Namespace) Run(t T, ctx context.Context, name string, args ...string) (string, error) {
	t.Helper()
	t.Logf("%s$ %s %s", n.Name, name, strings.Join(args, " "))
	out, err := n.Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("testnet: %s in %s: %w: %s", name, n.Name, err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// Process is a program started by Namespace.Start, running in a process group of its
// own. Stopping it signals that group, so children it forked stop with it (unless they
// made groups of their own). Its methods may be called concurrently.
type Process struct {
	Cmd     *exec.Cmd
	LogPath string // file with stdout and stderr; empty if the caller set Cmd.Stdout or Cmd.Stderr

	// exited is closed when the group leader has exited. The leader is reaped only by
	// finish, after the rest of its group is gone: until then the zombie keeps its PID,
	// which is also the group's ID, from being reused, so signals never hit a stranger.
	exited chan struct{}

	once    sync.Once
	stopErr error // set by finish
	waitErr error // exit status, set by finish
}

// Start runs name inside the namespace until the test ends or the topology closes,
// whichever comes first. Output goes to a file under t.TempDir(), shown in the test log
// if the test failed. Start calls t.Fatal if the program cannot be started.
func (n *Namespace) Start(t T, name string, args ...string) *Process {
	t.Helper()
	return n.StartCmd(t, n.Command(context.Background(), name, args...))
}

// StartCmd is Start for a command from n.Command that the caller adjusted (Env, Dir,
// Stdin, Stdout). It calls t.Fatal for a command that n.Command did not make.
func (n *Namespace) StartCmd(t T, cmd *exec.Cmd) *Process {
	t.Helper()
	if len(cmd.Args) < 5 || filepath.Base(cmd.Path) != "ip" || cmd.Args[1] != "netns" || cmd.Args[2] != "exec" || cmd.Args[3] != n.Name {
		t.Fatalf("testnet: StartCmd %q: not a command from %s.Command", cmd.Args, n.Name)
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid, cmd.SysProcAttr.Pgid = true, 0 // Stop relies on its own group
	p := &Process{Cmd: cmd, exited: make(chan struct{})}
	if cmd.Stdout == nil && cmd.Stderr == nil {
		f, err := os.CreateTemp(t.TempDir(), n.Name+"-"+filepath.Base(cmd.Args[4])+"-*.log")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close() // the child has its own copy
		cmd.Stdout, cmd.Stderr, p.LogPath = f, f, f.Name()
	}
	if err := n.tp.startTracked(p); err != nil {
		t.Fatalf("testnet: start %q in %s: %v", cmd.Args[4:], n.Name, err)
	}
	go p.watch()
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() && p.LogPath != "" {
			t.Logf("output of %s (pid %d, %s):\n%s", p, p.PID(), p.LogPath, p.tail())
		}
	})
	return p
}

// startTracked starts p and registers it for Close, atomically with respect to Close.
func (tp *Topology) startTracked(p *Process) error {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if tp.closed {
		return ErrClosed
	}
	if err := p.Cmd.Start(); err != nil {
		return err
	}
	tp.procs = append(tp.procs, p)
	return nil
}

// watch closes p.exited when the leader exits, leaving it unreaped (WNOWAIT).
func (p *Process) watch() {
	defer close(p.exited)
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, p.PID(), &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			return
		}
	}
}

func (p *Process) String() string { return strings.Join(p.Cmd.Args[4:], " ") }

// PID returns the process ID, which is also its process group ID.
func (p *Process) PID() int { return p.Cmd.Process.Pid }

// Exited returns a channel that is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Wait waits for the process to exit by itself, stops what remains of its process
// group, and returns the exit status as exec.Cmd.Wait does.
func (p *Process) Wait() error {
	<-p.exited
	p.finish()
	return p.waitErr
}

// Stop sends SIGTERM to the process group, SIGKILL after a grace period, and waits until
// the process and the rest of its group are gone. It returns an error only if they
// could not be stopped; a process that already exited is fine. Stop is idempotent.
func (p *Process) Stop() error {
	p.finish()
	return p.stopErr
}

// Output returns what the process wrote to its log file so far.
func (p *Process) Output() string {
	b, _ := os.ReadFile(p.LogPath)
	return string(b)
}

func (p *Process) tail() string {
	out := p.Output()
	if len(out) > logTail {
		out = "…" + out[len(out)-logTail:]
	}
	return out
}

func (p *Process) finish() {
	p.once.Do(func() {
		p.stopErr = p.stopGroup()
		p.waitErr = p.Cmd.Wait()
	})
}

// stopGroup ends the process group while its leader is not yet reaped.
func (p *Process) stopGroup() error {
	pgid := p.PID()
	for _, step := range []struct {
		sig  unix.Signal
		wait time.Duration
	}{{unix.SIGTERM, stopGrace}, {unix.SIGKILL, killWait}} {
		if p.gone() {
			return nil
		}
		unix.Kill(-pgid, step.sig)
		for deadline := time.Now().Add(step.wait); time.Now().Before(deadline); time.Sleep(pollPeriod) {
			if p.gone() {
				return nil
			}
		}
	}
	return fmt.Errorf("testnet: %s (process group %d) still runs after SIGKILL", p, pgid)
}

// gone reports whether the leader has exited and no other member of its group runs.
func (p *Process) gone() bool {
	select {
	case <-p.exited:
		return !groupHasOthers(p.PID())
	default:
		return false
	}
}

// groupHasOthers reports whether a live process other than pgid itself is in process
// group pgid.
func groupHasOthers(pgid int) bool {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == pgid {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		if group, state, ok := parseStat(stat); ok && group == pgid && state != 'Z' && state != 'X' {
			return true
		}
	}
	return false
}

// parseStat returns the process group and state from the contents of /proc/PID/stat:
// "pid (comm) state ppid pgrp …", where comm may itself contain ") ".
func parseStat(stat []byte) (pgrp int, state byte, ok bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 3 || len(f[0]) != 1 {
		return 0, 0, false
	}
	pgrp, err := strconv.Atoi(f[2])
	if err != nil {
		return 0, 0, false
	}
	return pgrp, f[0][0], true
}

package bolt

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/p2sgw/p2sgw/store"
	"go.etcd.io/bbolt"
)

// The crash test re-executes the test binary as a child that writes records in a loop and
// reports each commit on stdout; the parent SIGKILLs it mid-run and checks the file.
const (
	crashChildEnv = "P2SGW_STORE_CRASH_CHILD" // "1" selects the child role
	crashPathEnv  = "P2SGW_STORE_CRASH_PATH"  // the database the child writes
	crashDERSize  = 2048
	crashMax      = 60000 // records a child writes at most; fits the pool below
	crashRounds   = 3
)

var crashPool = netip.MustParsePrefix("100.64.0.0/16")

// crashRoot is the i-th root the child writes: a distinct, checkable 2 KiB DER.
func crashRoot(i int) store.RootCert {
	der := make([]byte, crashDERSize)
	for j := range der {
		der[j] = byte(i*31 + j*7 + j>>8)
	}
	return store.RootCert{Name: fmt.Sprintf("crash-%06d", i), DER: der, AddedAt: time.Unix(int64(i), int64(i))}
}

// crashLease is the i-th lease the child writes.
func crashLease(i int) store.Lease {
	n := i + 1 // skip the network address
	addr := netip.AddrFrom4([4]byte{100, 64, byte(n >> 8), byte(n)})
	return store.Lease{Pool: crashPool, Addr: addr, Identity: crashRoot(i).Name, SessionID: "IKEv2_" + strconv.Itoa(i)}
}

func TestCrashSafety(t *testing.T) {
	if os.Getenv(crashChildEnv) == "1" {
		crashChild(os.Getenv(crashPathEnv)) // does not return
	}
	if testing.Short() {
		t.Skip("writes and kills a child process")
	}
	path := filepath.Join(t.TempDir(), "state.db")
	committed := 0
	for round := range crashRounds {
		// Let each child write a few more records than the last, from where its predecessor
		// died, so later rounds also recover from a file that has been through a crash.
		reported := runAndKill(t, path, committed+25+10*round)
		committed = checkCrashFile(t, path, reported)
		t.Logf("round %d: child reported %d records committed before SIGKILL; the file holds %d", round, reported, committed)
	}
}

// runAndKill starts a child writing to path, waits until it reports at least target records
// committed, SIGKILLs it and returns the last count it reported.
func runAndKill(t *testing.T, path string, target int) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashSafety$")
	cmd.Env = append(os.Environ(), crashChildEnv+"=1", crashPathEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	// Kill only this child, by its PID, however the parent leaves this function.
	watchdog := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
	defer watchdog.Stop()
	waited := false
	defer func() {
		if !waited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()

	reported := -1
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		n, ok := strings.CutPrefix(lines.Text(), "committed ")
		if !ok {
			continue
		}
		if reported, err = strconv.Atoi(n); err != nil {
			t.Fatalf("child said %q", lines.Text())
		}
		if reported >= target {
			break
		}
	}
	if reported < target {
		cmd.Wait()
		waited = true
		t.Fatalf("child stopped after reporting %d records, want %d; stderr:\n%s", reported, target, stderr.Bytes())
	}
	// The child goes on writing; a random pause moves the kill to a random point of a
	// transaction (encoding, page writes, fdatasync, meta page).
	time.Sleep(rand.N(3 * time.Millisecond))
	must(t, cmd.Process.Signal(syscall.SIGKILL)) // no deferred Close, no flush
	cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Errorf("child ended with %v, want killed; stderr:\n%s", cmd.ProcessState, stderr.Bytes())
	}
	waited = true
	return reported
}

// crashChild writes roots and leases to the database at path, reporting the number of records
// of each kind committed after every pair, until it is killed.
func crashChild(path string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	ctx := context.Background()
	s, err := Open(path)
	if err != nil {
		fail(err)
	}
	// Resume after the last whole pair: a kill between root i and lease i leaves root i
	// written, so adding it again finds it.
	leases, err := s.Leases(ctx, crashPool)
	if err != nil {
		fail(err)
	}
	for i := len(leases); i < crashMax; i++ {
		if err := s.AddRootCert(ctx, crashRoot(i)); err != nil && (i > len(leases) || !errors.Is(err, store.ErrExists)) {
			fail(err)
		}
		if err := s.PutLease(ctx, crashLease(i)); err != nil {
			fail(err)
		}
		fmt.Printf("committed %d\n", i+1)
	}
	fail(fmt.Errorf("wrote %d records and was not killed", crashMax))
}

// checkCrashFile checks that the file at path opens, passes bbolt's consistency check, and
// holds at least reported whole records of each kind, in order, with no gaps. It returns the
// number of roots found.
func checkCrashFile(t *testing.T, path string, reported int) int {
	t.Helper()
	ctx := t.Context()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("open after SIGKILL: %v", err)
	}
	defer s.Close()
	roots, err := s.RootCerts(ctx)
	if err != nil {
		t.Fatalf("roots after SIGKILL: %v", err)
	}
	leases, err := s.Leases(ctx, crashPool)
	if err != nil {
		t.Fatalf("leases after SIGKILL: %v", err)
	}
	if len(roots) < reported || len(leases) < reported {
		t.Fatalf("found %d roots and %d leases, but the child reported %d committed", len(roots), len(leases), reported)
	}
	// The child writes root i, then lease i: a kill between them leaves one lease fewer.
	if n := len(leases); n != len(roots) && n != len(roots)-1 {
		t.Errorf("found %d roots and %d leases, want equal or one lease fewer", len(roots), n)
	}
	for i, r := range roots {
		if want := crashRoot(i); r.Name != want.Name || !bytes.Equal(r.DER, want.DER) || !r.AddedAt.Equal(want.AddedAt) {
			t.Fatalf("root %d is %q with %d bytes of DER, want %q whole", i, r.Name, len(r.DER), want.Name)
		}
	}
	for i, l := range leases {
		if l != crashLease(i) {
			t.Fatalf("lease %d = %+v, want %+v", i, l, crashLease(i))
		}
	}
	must(t, s.Close())

	db, err := bbolt.Open(path, fileMode, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
	must(t, err)
	defer db.Close()
	must(t, db.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("bbolt check: %v", err)
		}
		return nil
	}))
	return len(roots)
}

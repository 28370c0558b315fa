package testnet

import (
	"errors"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// removeStale deletes the namespaces that testnet made in test processes that no longer
// run: names p2t-<pid>-<seq>-<role> whose pid does not exist (a test binary that was
// killed never ran its cleanups). It never touches a namespace with another name, nor
// one whose pid runs, whatever that process is. Processes still inside a stale namespace
// are left alone: testnet did not start them in this run. It returns what it removed and
// what it failed to remove.
func removeStale() (removed []string, errs []error) {
	entries, err := os.ReadDir(netnsDir)
	if err != nil {
		return nil, nil // no namespaces at all
	}
	for _, e := range entries {
		pid, ok := ownerPID(e.Name())
		if !ok || pid == os.Getpid() || alive(pid) {
			continue
		}
		if err := ip("netns", "del", e.Name()); err != nil {
			if _, serr := os.Stat(netnsDir + "/" + e.Name()); !errors.Is(serr, os.ErrNotExist) {
				errs = append(errs, err) // not merely removed by a concurrent test process
			}
			continue
		}
		removed = append(removed, e.Name())
	}
	return removed, errs
}

// ownerPID returns the pid in a name of the form p2t-<pid>-<seq>-<role>, where role is
// lowercase letters and digits; ok is false for every other name.
func ownerPID(name string) (pid int, ok bool) {
	rest, ok := strings.CutPrefix(name, namePrefix)
	if !ok {
		return 0, false
	}
	f := strings.Split(rest, "-")
	if len(f) != 3 || !isDigits(f[0]) || !isDigits(f[1]) || f[2] == "" {
		return 0, false
	}
	for _, c := range f[2] {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return 0, false
		}
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, true
}

func isDigits(s string) bool {
	if s == "" || len(s) > 10 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// alive reports whether a process with this pid exists.
func alive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

package testnet

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// Require returns if the test can build topologies and run the named tools: root (euid 0
// with CAP_NET_ADMIN and CAP_SYS_ADMIN), ip from iproute2 and every tool on PATH.
// Otherwise it skips the test with the reason, or fails it when CI=true, so that a CI
// runner that lost a tool does not pass by skipping.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	switch v, reason := decide(hostEnvironment(), tools); v {
	case verdictSkip:
		t.Skip(reason)
	case verdictFail:
		t.Fatal(reason)
	}
}

// verdict is Require's decision.
type verdict int

const (
	verdictRun verdict = iota
	verdictSkip
	verdictFail
)

func (v verdict) String() string {
	switch v {
	case verdictRun:
		return "run"
	case verdictSkip:
		return "skip"
	case verdictFail:
		return "fail"
	}
	return "verdict(" + strconv.Itoa(int(v)) + ")"
}

// environment is what decide looks at, gathered by hostEnvironment.
type environment struct {
	euid     int
	capEff   uint64 // effective capabilities; meaningful only if capKnown
	capKnown bool
	lookPath func(file string) (string, error)
	ci       bool // CI=true
}

// Capability bits (linux/capability.h).
const (
	capNetAdmin = 12
	capSysAdmin = 21
)

// packages names the Debian package of tools whose name differs from it.
var packages = map[string]string{
	"ip":        "iproute2",
	"swanctl":   "strongswan-swanctl",
	"pki":       "strongswan-pki",
	"radclient": "freeradius-utils",
	"radtest":   "freeradius-utils",
	"sstpc":     "sstp-client",
	"pppd":      "ppp",
	"linux.uml": "user-mode-linux",
}

// decide returns whether a test that needs tools can run in env and, if not, why.
func decide(env environment, tools []string) (verdict, string) {
	var missing []string
	if env.euid != 0 {
		missing = append(missing, fmt.Sprintf("root (running as uid %d; try go test -exec sudo)", env.euid))
	} else if env.capKnown && (env.capEff&(1<<capNetAdmin) == 0 || env.capEff&(1<<capSysAdmin) == 0) {
		missing = append(missing, "CAP_NET_ADMIN and CAP_SYS_ADMIN (an unprivileged container?)")
	}
	var absent []string
	for _, tool := range append([]string{"ip"}, tools...) {
		if _, err := env.lookPath(tool); err != nil {
			if pkg, ok := packages[tool]; ok {
				tool += " (package " + pkg + ")"
			}
			absent = append(absent, tool)
		}
	}
	if len(absent) > 0 {
		missing = append(missing, strings.Join(absent, ", ")+" on PATH")
	}
	if len(missing) == 0 {
		return verdictRun, ""
	}
	reason := "testnet: needs " + strings.Join(missing, "; ")
	if env.ci {
		return verdictFail, reason + " (CI=true, so this fails instead of skipping)"
	}
	return verdictSkip, reason
}

func hostEnvironment() environment {
	env := environment{euid: os.Geteuid(), lookPath: exec.LookPath, ci: os.Getenv("CI") == "true"}
	env.capEff, env.capKnown = effectiveCaps()
	return env
}

// effectiveCaps reads CapEff from /proc/self/status.
func effectiveCaps() (uint64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return caps, err == nil
		}
	}
	return 0, false
}

package testnet

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestDecide(t *testing.T) {
	const allCaps = 1<<capNetAdmin | 1<<capSysAdmin
	onPath := func(tools ...string) func(string) (string, error) {
		return func(file string) (string, error) {
			if slices.Contains(tools, file) {
				return "/usr/bin/" + file, nil
			}
			return "", exec.ErrNotFound
		}
	}
	for _, tc := range []struct {
		name     string
		env      environment
		tools    []string
		want     verdict
		reasonIn []string
	}{
		{"root with tools", environment{euid: 0, capEff: allCaps, capKnown: true, lookPath: onPath("ip", "swanctl")}, []string{"swanctl"}, verdictRun, nil},
		{"caps unknown", environment{euid: 0, lookPath: onPath("ip")}, nil, verdictRun, nil},
		{"not root", environment{euid: 1000, lookPath: onPath("ip")}, nil, verdictSkip, []string{"root", "uid 1000"}},
		{"no capabilities", environment{euid: 0, capEff: 1 << capNetAdmin, capKnown: true, lookPath: onPath("ip")}, nil, verdictSkip, []string{"CAP_SYS_ADMIN"}},
		{"missing ip", environment{euid: 0, lookPath: onPath()}, nil, verdictSkip, []string{"ip (package iproute2) on PATH"}},
		{"missing tools", environment{euid: 0, lookPath: onPath("ip")}, []string{"swanctl", "frob"}, verdictSkip, []string{"swanctl (package strongswan-swanctl), frob on PATH"}},
		{"missing tool in CI", environment{euid: 0, lookPath: onPath("ip"), ci: true}, []string{"sstpc"}, verdictFail, []string{"sstpc (package sstp-client)", "CI=true"}},
		{"not root in CI", environment{euid: 1000, lookPath: onPath("ip"), ci: true}, nil, verdictFail, []string{"root", "CI=true"}},
		{"everything missing", environment{euid: 1000, lookPath: onPath()}, []string{"sh"}, verdictSkip, []string{"root", "ip (package iproute2), sh on PATH"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, reason := decide(tc.env, tc.tools)
			if got != tc.want {
				t.Errorf("verdict %v (%q), want %v", got, reason, tc.want)
			}
			if tc.want == verdictRun && reason != "" {
				t.Errorf("reason %q for a test that runs", reason)
			}
			for _, s := range tc.reasonIn {
				if !strings.Contains(reason, s) {
					t.Errorf("reason %q does not mention %q", reason, s)
				}
			}
		})
	}
}

func TestVerdictString(t *testing.T) {
	for v, want := range map[verdict]string{verdictRun: "run", verdictSkip: "skip", verdictFail: "fail", 7: "verdict(7)"} {
		if got := v.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(v), got, want)
		}
	}
}

func TestEffectiveCaps(t *testing.T) {
	if _, ok := effectiveCaps(); !ok {
		t.Error("CapEff not found in /proc/self/status")
	}
}

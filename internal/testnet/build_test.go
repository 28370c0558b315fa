package testnet

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestBuildFailureCleansUp makes New's build fail halfway, at the VNet namespace whose name
// is taken, and checks that Close removes what was built and nothing else.
func TestBuildFailureCleansUp(t *testing.T) {
	Require(t)
	t.Parallel()
	tp := newTopology(Options{Clients: 1})
	taken := tp.id + "vnet"
	if err := ip("netns", "add", taken); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ip("netns", "del", taken) })

	if err := tp.build(); err == nil {
		tp.Close()
		t.Fatal("build succeeded although the VNet namespace name was taken")
	}
	built := []string{tp.id + "inet", tp.id + "gw"}
	if got := names(tp.Namespaces()); !slices.Equal(got, built) {
		t.Errorf("built %v before failing, want %v", got, built)
	}
	if err := tp.Close(); err != nil {
		t.Fatal(err)
	}
	list := netnsList(t)
	for _, name := range built {
		if slices.Contains(list, name) {
			t.Errorf("%s left behind", name)
		}
	}
	if !slices.Contains(list, taken) {
		t.Errorf("Close deleted %s, which it did not create", taken)
	}
}

func names(ns []*Namespace) []string {
	var s []string
	for _, n := range ns {
		s = append(s, n.Name)
	}
	return s
}

func netnsList(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	var list []string
	for l := range strings.Lines(string(out)) {
		if f := strings.Fields(l); len(f) > 0 {
			list = append(list, f[0])
		}
	}
	return list
}

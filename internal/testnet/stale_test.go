package testnet

import "testing"

func TestOwnerPID(t *testing.T) {
	for _, tc := range []struct {
		name string
		pid  int
		ok   bool
	}{
		{"p2t-4711-1-gw", 4711, true},
		{"p2t-4711-12-c254", 4711, true},
		{"p2t-4711-1-inet", 4711, true},
		{"p2t-4711-1-GW", 0, false},
		{"p2t-4711-1-", 0, false},
		{"p2t-4711-x-gw", 0, false},
		{"p2t--1-gw", 0, false},
		{"p2t-0-1-gw", 0, false},
		{"p2t-4711-1-gw-extra", 0, false},
		{"p2tx-4711-1-gw", 0, false},
		{"x-p2t-4711-1-gw", 0, false},
		{"p2t-99999999999-1-gw", 0, false},
		{"docker-netns", 0, false},
		{"", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pid, ok := ownerPID(tc.name)
			if pid != tc.pid || ok != tc.ok {
				t.Errorf("ownerPID(%q) = %d, %v; want %d, %v", tc.name, pid, ok, tc.pid, tc.ok)
			}
		})
	}
}

package testnet

import "testing"

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		stat  string
		pgrp  int
		state byte
		ok    bool
	}{
		{"4711 (sleep) S 4700 4711 4700 0 -1 4194304", 4711, 'S', true},
		{"4712 (a) b) (c) Z 4711 4711 4700 0", 4711, 'Z', true},
		{"4713 (sh) R 1", 0, 0, false},
		{"4714 sh R 1 2 3", 0, 0, false},
		{"4715 (sh) R 1 x 3", 0, 0, false},
		{"", 0, 0, false},
	} {
		pgrp, state, ok := parseStat([]byte(tc.stat))
		if pgrp != tc.pgrp || state != tc.state || ok != tc.ok {
			t.Errorf("parseStat(%q) = %d, %q, %v; want %d, %q, %v", tc.stat, pgrp, state, ok, tc.pgrp, tc.state, tc.ok)
		}
	}
}

package loadgen

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
)

func TestParseSources(t *testing.T) {
	addrs := func(ss ...string) []netip.Addr {
		var out []netip.Addr
		for _, s := range ss {
			out = append(out, netip.MustParseAddr(s))
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		specs []string
		want  []netip.Addr
	}{
		{"none", nil, nil},
		{"empty", []string{"", " , "}, nil},
		{"address", []string{"198.18.2.1"}, addrs("198.18.2.1")},
		{"range", []string{"198.18.2.254-198.18.3.1"}, addrs("198.18.2.254", "198.18.2.255", "198.18.3.0", "198.18.3.1")},
		{"range of one", []string{"198.18.2.7-198.18.2.7"}, addrs("198.18.2.7")},
		{"prefix without network and broadcast", []string{"198.18.2.0/30"}, addrs("198.18.2.1", "198.18.2.2")},
		{"prefix not masked", []string{"198.18.2.5/30"}, addrs("198.18.2.5", "198.18.2.6")},
		{"/31 whole", []string{"198.18.2.0/31"}, addrs("198.18.2.0", "198.18.2.1")},
		{"/32", []string{"198.18.2.9/32"}, addrs("198.18.2.9")},
		{"list and repeats", []string{"198.18.2.1, 198.18.2.3-198.18.2.4", "198.18.9.9"},
			addrs("198.18.2.1", "198.18.2.3", "198.18.2.4", "198.18.9.9")},
		{"top of the space", []string{"255.255.255.254-255.255.255.255"}, addrs("255.255.255.254", "255.255.255.255")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSources(tc.specs...)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("ParseSources(%q) = %v, want %v", tc.specs, got, tc.want)
			}
		})
	}
}

func TestParseSourcesRefuses(t *testing.T) {
	for _, tc := range []struct{ name, spec string }{
		{"not an address", "gateway"},
		{"IPv6", "2001:db8::1"},
		{"IPv6 prefix", "2001:db8::/126"},
		{"backwards range", "198.18.2.9-198.18.2.1"},
		{"half a range", "198.18.2.1-"},
		{"bad prefix", "198.18.2.0/33"},
		{"twice", "198.18.2.1,198.18.2.0/30"},
		{"too many", "10.0.0.0/8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := ParseSources(tc.spec); !errors.Is(err, ErrBadSources) {
				t.Fatalf("ParseSources(%q) = %d addresses, %v; want ErrBadSources", tc.spec, len(got), err)
			}
		})
	}
}

package loadgen

import (
	"fmt"
	"net/netip"
	"strings"
)

// MaxSources is the most source addresses a generator takes: far more than the gateway's
// half-open limits need, few enough that one socket each stays cheap.
const MaxSources = 65536

// ParseSources turns source address specifications into the addresses, in order. Each spec is
// a comma-separated list of IPv4 addresses ("198.18.2.1"), inclusive ranges
// ("198.18.2.1-198.18.9.254") and prefixes ("198.18.2.0/24": its host addresses, without the
// network and broadcast addresses unless it is a /31 or /32). An address may appear once.
// No specs, or only empty ones, give no addresses and no error.
func ParseSources(specs ...string) ([]netip.Addr, error) {
	var out []netip.Addr
	seen := map[netip.Addr]bool{}
	add := func(a netip.Addr) error {
		if seen[a] {
			return fmt.Errorf("%w: %s appears twice", ErrBadSources, a)
		}
		if len(out) == MaxSources {
			return fmt.Errorf("%w: more than %d addresses", ErrBadSources, MaxSources)
		}
		seen[a] = true
		out = append(out, a)
		return nil
	}
	for _, spec := range specs {
		for _, item := range strings.Split(spec, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			first, last, err := parseSource(item)
			if err != nil {
				return nil, err
			}
			for a := first; ; a = a.Next() {
				if err := add(a); err != nil {
					return nil, err
				}
				if a == last {
					break
				}
			}
		}
	}
	return out, nil
}

// parseSource returns the first and last address of one address, range or prefix.
func parseSource(item string) (first, last netip.Addr, err error) {
	switch {
	case strings.Contains(item, "/"):
		p, err := netip.ParsePrefix(item)
		if err != nil || !p.Addr().Is4() {
			return first, last, fmt.Errorf("%w: %q is not an IPv4 prefix", ErrBadSources, item)
		}
		p = p.Masked()
		first, last = p.Addr(), lastOf(p)
		if p.Bits() <= 30 {
			first, last = first.Next(), last.Prev()
		}
		return first, last, nil
	case strings.Contains(item, "-"):
		lo, hi, _ := strings.Cut(item, "-")
		first, err1 := netip.ParseAddr(strings.TrimSpace(lo))
		last, err2 := netip.ParseAddr(strings.TrimSpace(hi))
		if err1 != nil || err2 != nil || !first.Is4() || !last.Is4() {
			return first, last, fmt.Errorf("%w: %q is not a range of IPv4 addresses like 198.18.2.1-198.18.9.254", ErrBadSources, item)
		}
		if last.Less(first) {
			return first, last, fmt.Errorf("%w: range %q ends before it starts", ErrBadSources, item)
		}
		return first, last, nil
	default:
		a, err := netip.ParseAddr(item)
		if err != nil || !a.Is4() {
			return first, last, fmt.Errorf("%w: %q is not an IPv4 address", ErrBadSources, item)
		}
		return a, a, nil
	}
}

// lastOf returns the last address of an IPv4 prefix.
func lastOf(p netip.Prefix) netip.Addr {
	b := p.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= ^uint32(0) >> p.Bits()
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

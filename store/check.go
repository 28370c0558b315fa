package store

import (
	"fmt"
	"net/netip"
	"unicode/utf8"
)

// Every backend refuses the same bad input with these checks, so a test double refuses what
// the durable backends refuse.

// CheckKey reports why s cannot be the name or id (what) of a record, or nil if it can. JSON
// would turn invalid UTF-8 into U+FFFD, so such a record could not be found again under its key.
func CheckKey(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: empty %s", ErrInvalid, what)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s %q is not valid UTF-8", ErrInvalid, what, s)
	}
	return nil
}

// CheckLease reports why pool and addr cannot name a stored lease, or nil if they can.
func CheckLease(pool netip.Prefix, addr netip.Addr) error {
	switch {
	case !pool.IsValid():
		return fmt.Errorf("%w: invalid pool prefix", ErrInvalid)
	case !addr.IsValid():
		return fmt.Errorf("%w: invalid address", ErrInvalid)
	case !pool.Contains(addr):
		return fmt.Errorf("%w: address %s is not in pool %s", ErrInvalid, addr, pool)
	}
	return nil
}

package memstore

import (
	"errors"
	"fmt"
	"net/netip"
	"unicode/utf8"
)

// These checks match the durable backends' (store/bolt), so the double refuses what they refuse.

// checkKey reports why s cannot be the name or id (what) of a record, or nil if it can. JSON
// would turn invalid UTF-8 into U+FFFD, so such a record could not be found again under its key.
func checkKey(what, s string) error {
	switch {
	case s == "":
		return errors.New("empty " + what)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s %q is not valid UTF-8", what, s)
	}
	return nil
}

// checkLease reports why pool and addr cannot name a stored lease, or nil if they can. It
// matches the durable backends' check, so a double accepts what they accept.
func checkLease(pool netip.Prefix, addr netip.Addr) error {
	switch {
	case !pool.IsValid():
		return errors.New("invalid pool prefix")
	case !addr.IsValid():
		return errors.New("invalid address")
	case !pool.Contains(addr):
		return fmt.Errorf("address %s is not in pool %s", addr, pool)
	}
	return nil
}

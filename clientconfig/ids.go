package clientconfig

import (
	"crypto/sha1"
	"fmt"
	"strings"
)

// uuidNamespace is the name-based UUID namespace of p2sgw client packages (itself a
// version 5 UUID of "p2sgw.clientconfig" in the URL namespace; any fixed value would do).
var uuidNamespace = [16]byte{0x6b, 0x2f, 0x1d, 0x8a, 0x4c, 0x37, 0x5e, 0x01, 0x9b, 0x62, 0x0d, 0x54, 0xe3, 0x7a, 0xc8, 0x19}

// nameUUID returns the RFC 9562 version 5 (SHA-1, name-based) UUID of the parts joined
// by NUL: the same profile always gets the same UUIDs, so golden files are stable and a
// regenerated Apple profile replaces the installed one instead of adding a second.
func nameUUID(parts ...string) string {
	h := sha1.New()
	h.Write(uuidNamespace[:])
	h.Write([]byte(strings.Join(parts, "\x00")))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return fmt.Sprintf("%X-%X-%X-%X-%X", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// profileUUID names one object of p's package (purpose is "vpn", "root", …). The user
// is part of it, so two users' profiles on one device do not replace each other.
func profileUUID(p *profile, purpose string) string {
	return nameUUID(p.server, p.name, p.user, purpose)
}

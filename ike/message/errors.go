package message

import (
	"errors"
	"fmt"
)

// Every error this package returns is prefixed "ike/message: ", names the payload or structure
// it concerns, and wraps one of the sentinels below (test with errors.Is). All of them except
// ErrUnsupportedVersion and ErrUnsupportedCritical mean "malformed": a responder answers a
// protected request that fails with them with INVALID_SYNTAX, and drops an unprotected one.
var (
	// ErrTruncated: the bytes end before a field, or before the end of a structure whose length
	// field promised more.
	ErrTruncated = errors.New("truncated")
	// ErrBadLength: a length field is smaller than its structure's fixed part, disagrees with the
	// structure that encloses it or with the datagram, or a value's length is outside what the
	// RFC allows (a nonce of 8 bytes, an IPv4 identity of 5).
	ErrBadLength = errors.New("bad length")
	// ErrUnsupportedVersion: the IKE header's major version is not 2. DecodeHeader still returns
	// the header it read, so the caller can answer INVALID_MAJOR_VERSION (RFC 7296 §1.5).
	ErrUnsupportedVersion = errors.New("unsupported IKE major version")
	// ErrUnsupportedCritical: a payload of a type this package does not know has the critical
	// bit set (RFC 7296 §2.5). The error is an *UnsupportedCriticalError carrying the type,
	// which is the one-byte data of the UNSUPPORTED_CRITICAL_PAYLOAD notify.
	ErrUnsupportedCritical = errors.New("unsupported critical payload")
	// ErrSyntax: a field holds a value the RFC forbids where it stands (a wrong last-substructure
	// marker, an SPI size that does not fit the protocol, an SK payload that is not last), or a
	// message's set of payloads breaks the exchange rules (see Check and RuleError).
	ErrSyntax = errors.New("invalid syntax")
	// ErrTooMany: more payloads, proposals, transforms, attributes or selectors than the limits
	// in limits.go, which keep a hostile packet from making us allocate much.
	ErrTooMany = errors.New("too many elements")
	// ErrTooLarge: a message longer than MaxMessageLen, or a payload or substructure whose length
	// does not fit its 16-bit length field.
	ErrTooLarge = errors.New("too large")
	// ErrNotSealed: DecodeSealed was given a message that has no SK or SKF payload.
	ErrNotSealed = errors.New("no SK or SKF payload")
)

// UnsupportedCriticalError reports a payload of unknown type with the critical bit set. It
// matches ErrUnsupportedCritical under errors.Is.
type UnsupportedCriticalError struct {
	// Type is the unknown payload type, to be sent back as the data of an
	// UNSUPPORTED_CRITICAL_PAYLOAD notify.
	Type PayloadType
}

func (e *UnsupportedCriticalError) Error() string {
	return fmt.Sprintf("ike/message: unsupported critical payload of type %d", uint8(e.Type))
}

// Is reports whether target is ErrUnsupportedCritical.
func (e *UnsupportedCriticalError) Is(target error) bool { return target == ErrUnsupportedCritical }

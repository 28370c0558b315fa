package ike

import (
	"errors"
	"fmt"

	"github.com/p2sgw/p2sgw/ike/message"
)

var (
	// ErrBadSignature: an AUTH payload's signature does not verify.
	ErrBadSignature = errors.New("ike: AUTH signature does not verify")
	// ErrAuthMismatch: the AUTH method does not fit the certificate's key.
	ErrAuthMismatch = errors.New("ike: AUTH method does not match the key")
	// ErrAuthMethodUnsupported: an AUTH method or signature algorithm we do not accept.
	ErrAuthMethodUnsupported = errors.New("ike: AUTH method not supported")
)

var (
	// ErrUnsupported: the peer used a feature this implementation does not have yet.
	ErrUnsupported = errors.New("ike: not supported")
	// ErrUnexpected: a message the SA's state does not allow.
	ErrUnexpected = errors.New("ike: unexpected message")
	// ErrAuthFailed: the peer did not authenticate (its certificate, identity or AUTH).
	ErrAuthFailed = errors.New("ike: authentication failed")
	// ErrRefused: the peer refused us with an error notify.
	ErrRefused = errors.New("ike: refused by the peer")
	// ErrCollision: the peer's request collides with one of ours (RFC 7296 §2.25); it was
	// answered with TEMPORARY_FAILURE and the peer tries again later.
	ErrCollision = errors.New("ike: collides with an exchange of ours")
)

// NotifyError is a refusal carrying the notify type to answer with (or that the peer sent).
type NotifyError struct {
	Type message.NotifyType
	Err  error
}

func (e *NotifyError) Error() string { return fmt.Sprintf("%s: %v", e.Type, e.Err) }
func (e *NotifyError) Unwrap() error { return e.Err }

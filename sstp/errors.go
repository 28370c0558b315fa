package sstp

import (
	"errors"
	"fmt"
)

// Every error this package returns is prefixed "sstp: " and wraps one of the sentinels below
// (test with errors.Is), or is an error from the underlying connection.
var (
	// ErrMalformed: bytes that are not a valid SSTP packet, control message or attribute. On a
	// stream this means delineation failed, so the connection is closed without an answer
	// (§3.1.5.1).
	ErrMalformed = errors.New("malformed")
	// ErrTooLarge: a packet that would be longer than MaxPacketLen.
	ErrTooLarge = errors.New("packet too large")
	// ErrHTTP: the HTTP handshake failed. Errors from Accept that wrap it are *HTTPError and
	// carry the status the server answered.
	ErrHTTP = errors.New("HTTP handshake failed")
	// ErrProtocol: the peer sent a message that is invalid or unacceptable in the call's state,
	// so this side aborted the call (or, in Dial, could not go on).
	ErrProtocol = errors.New("protocol violation")
	// ErrBinding: the CALL_CONNECTED crypto binding did not verify (wrong nonce, certificate
	// hash, hash protocol or Compound MAC); the server aborted the call.
	ErrBinding = errors.New("crypto binding failed")
	// ErrAborted: the peer aborted the call with CALL_ABORT.
	ErrAborted = errors.New("call aborted by peer")
	// ErrDisconnected: the call ended with the CALL_DISCONNECT exchange, started by either
	// side. When the peer started it the error also matches io.EOF.
	ErrDisconnected = errors.New("call disconnected")
	// ErrTimeout: the negotiation timer expired before the call was connected, or the peer
	// stopped answering echo requests.
	ErrTimeout = errors.New("timeout")
)

// HTTPError is the HTTP handshake refusal Accept answered, or the non-200 answer Dial got.
// It matches ErrHTTP under errors.Is.
type HTTPError struct {
	Status int    // the HTTP status code sent or received
	Reason string // why, for logs
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("sstp: HTTP handshake failed: %d: %s", e.Status, e.Reason)
}

// Is reports whether target is ErrHTTP.
func (e *HTTPError) Is(target error) bool { return target == ErrHTTP }

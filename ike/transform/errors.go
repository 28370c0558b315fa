package transform

import (
	"errors"
	"fmt"
)

// Sentinel errors. Functions wrap them with short context; use errors.Is to tell the cases
// apart.
var (
	// ErrUnsupported is returned for an algorithm, key length or group that p2sgw does not
	// implement, or a Suite that combines algorithms in a way IKEv2 does not allow.
	ErrUnsupported = errors.New("transform: unsupported algorithm")
	// ErrNoProposalChosen is returned by Select when no offered proposal is acceptable.
	// Answer with a NO_PROPOSAL_CHOSEN notification (type 14).
	ErrNoProposalChosen = errors.New("transform: no proposal chosen")
	// ErrInvalidKE is matched by every *InvalidKEError.
	ErrInvalidKE = errors.New("transform: invalid KE payload")
	// ErrInvalidPublicKey is returned when a peer's key exchange value has the wrong length or
	// is not a valid element of the group (RFC 6989). The peer's message must be rejected.
	ErrInvalidPublicKey = errors.New("transform: invalid peer key exchange value")
	// ErrAuthentication is returned by Open when the integrity check fails. RFC 7296 §2.21.1:
	// such a message is dropped without any answer.
	ErrAuthentication = errors.New("transform: integrity check failed")
	// ErrMalformed is returned by Open for an Encrypted payload body with an impossible length
	// or, after a successful integrity check, an impossible Pad Length.
	ErrMalformed = errors.New("transform: malformed encrypted payload")
	// ErrKeyLength is returned when a key handed in does not have the length the suite needs.
	ErrKeyLength = errors.New("transform: wrong key length")
	// ErrKeyMaterialTooLong is returned when more than 255 blocks of prf+ output are asked for
	// (RFC 7296 §2.13).
	ErrKeyMaterialTooLong = errors.New("transform: prf+ output too long")
)

// InvalidKEError is returned by Select when the acceptable proposal needs a key exchange in a
// group other than the one the peer's KE payload used (or needs one and the peer sent none).
// Answer with an INVALID_KE_PAYLOAD notification (type 17) whose data is Group as two octets
// (RFC 7296 §1.2, §1.3); the peer retries with a KE payload in Group.
type InvalidKEError struct {
	// Group is the group to ask the peer for.
	Group DHGroup
}

func (e *InvalidKEError) Error() string {
	return fmt.Sprintf("transform: invalid KE payload: want group %s", e.Group)
}

// Is makes errors.Is(err, ErrInvalidKE) true.
func (e *InvalidKEError) Is(target error) bool { return target == ErrInvalidKE }

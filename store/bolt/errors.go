package bolt

import "errors"

var (
	// ErrLocked is returned by Open when another process holds the database file: most often
	// a second `p2sgw serve` on the same state directory.
	ErrLocked = errors.New("bolt: state database is locked by another process")
	// ErrSchemaTooNew is returned by Open for a file written by a newer p2sgw, whose layout this
	// one does not know; it refuses rather than misreading or rewriting it.
	ErrSchemaTooNew = errors.New("bolt: state database schema is newer than this p2sgw")
	// ErrCorrupt is returned for a stored record or key that does not decode, or that
	// disagrees with the key it is stored under. The error names the key.
	ErrCorrupt = errors.New("bolt: corrupt record")
)

// userError is an error whose message is a sentence for the admin, wrapping a sentinel that
// callers test with errors.Is.
type userError struct {
	msg string
	err error
}

func (e *userError) Error() string { return e.msg }
func (e *userError) Unwrap() error { return e.err }

package session

import "errors"

var (
	// ErrNotFound: no live session has that id.
	ErrNotFound = errors.New("session: no such connection")
	// ErrDuplicate: a session with that id is registered already.
	ErrDuplicate = errors.New("session: duplicate connection id")
)

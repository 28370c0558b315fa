package store

import "errors"

var (
	// ErrNotFound is returned for a name, id or address the store does not hold.
	ErrNotFound = errors.New("store: not found")
	// ErrExists is returned when adding a name the store already holds.
	ErrExists = errors.New("store: already exists")
	// ErrInvalid is returned for a name, id, pool or address no record can have.
	ErrInvalid = errors.New("store: invalid key")
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("store: closed")
)

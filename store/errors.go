package store

import "errors"

var (
	// ErrNotFound is returned for a name, id or address the store does not hold.
	ErrNotFound = errors.New("store: not found")
	// ErrExists is returned when adding a name the store already holds.
	ErrExists = errors.New("store: already exists")
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("store: closed")
)

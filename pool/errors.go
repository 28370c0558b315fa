package pool

import "errors"

var (
	// ErrExhausted: every address of the pool is held by a live session.
	ErrExhausted = errors.New("pool: no free address")
	// ErrInUse: the requested address is held by a live session.
	ErrInUse = errors.New("pool: address in use")
	// ErrOutside: the requested address is not one the pool leases.
	ErrOutside = errors.New("pool: address outside the pool")
)

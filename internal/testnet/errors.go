package testnet

import "errors"

// ErrClosed is returned when a test uses a topology that Close has begun to remove.
var ErrClosed = errors.New("testnet: topology closed")

package loadgen

import "errors"

var (
	// ErrBadSources: a source address specification that is not an address, a range or a
	// prefix.
	ErrBadSources = errors.New("loadgen: bad source addresses")
	// ErrConfig: a Config that cannot run.
	ErrConfig = errors.New("loadgen: bad configuration")
)

package logcat

import "errors"

// ErrUnknownLevel is wrapped by ParseLevel's error for a name that is not a level.
var ErrUnknownLevel = errors.New("logcat: unknown level")

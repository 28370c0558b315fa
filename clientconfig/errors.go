package clientconfig

import "errors"

// Errors returned by Generate, wrapped with a sentence that names the offending setting.
var (
	// ErrSettings means a Settings field is missing or malformed.
	ErrSettings = errors.New("clientconfig: invalid settings")
	// ErrClient means the Client's certificate, key or PKCS#12 file is unusable.
	ErrClient = errors.New("clientconfig: invalid client identity")
	// ErrPath means Zip was given a file name that is not a clean relative path.
	ErrPath = errors.New("clientconfig: invalid file name")
)

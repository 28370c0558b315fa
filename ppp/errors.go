package ppp

import "errors"

var (
	// ErrMalformed: a frame or control packet that cannot be decoded. It concerns that frame
	// only; the link goes on.
	ErrMalformed = errors.New("ppp: malformed")
	// ErrNotUp: an IPv4 packet to send before IPCP is opened or after the link ended.
	ErrNotUp = errors.New("ppp: the link is not up")
	// ErrTooBig: an IPv4 packet to send that is larger than the peer's MRU.
	ErrTooBig = errors.New("ppp: packet larger than the peer's MRU")
	// ErrConfig: a Config the server cannot run with.
	ErrConfig = errors.New("ppp: bad configuration")
)

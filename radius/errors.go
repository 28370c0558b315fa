package radius

import "errors"

// Every error this package returns is prefixed "radius: " and wraps one of the sentinels below
// or, when the caller's context is done, the context's error (test with errors.Is).
var (
	// ErrConfig: New or Reconfigure was given a configuration it cannot work with; the
	// message says which field and why.
	ErrConfig = errors.New("radius: invalid configuration")
	// ErrRequest: Exchange was given a Request that cannot be sent (no credentials, both EAP
	// and a password, a value too long for its attribute, a packet over 4096 octets). The
	// accounting worker drops a Record that cannot be encoded for the same reasons, with an
	// Error log.
	ErrRequest = errors.New("radius: invalid request")
	// ErrNoAnswer: a server sent no authentic answer within its tries, or could not be reached
	// at all. With several servers, Exchange joins one such error per server.
	ErrNoAnswer = errors.New("radius: server did not answer")
	// ErrMalformed: an authentic answer carries attributes that do not make sense: an
	// MS-MPPE key that does not decrypt to a well-formed key, one MS-MPPE key without the
	// other, EAP-Message attributes that do not join into one EAP packet.
	ErrMalformed = errors.New("radius: malformed answer")
	// ErrConversationEnded: Exchange was called on a Conversation that already received its
	// Access-Accept or Access-Reject. Start a new Conversation.
	ErrConversationEnded = errors.New("radius: conversation has ended")
	// ErrClosed: Close could not flush the accounting queue before its context was done; the
	// message says how many records were not sent.
	ErrClosed = errors.New("radius: accounting records not sent")
)

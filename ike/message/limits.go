package message

// Limits on what a decoder accepts and an encoder writes. They are far above what any client
// sends (strongSwan's default IKE proposal, the largest we know, has 4 proposals of up to 40
// transforms) and low enough that a hostile datagram cannot make us allocate much.
const (
	// MaxMessageLen is the longest IKE message accepted or built, header included.
	MaxMessageLen = 64 << 10
	// MaxPayloads is the most payloads in one chain: the unencrypted payloads of a message, or
	// the inner payloads of one SK payload.
	MaxPayloads = 64
	// MaxProposals is the most proposals in one SA payload.
	MaxProposals = 32
	// MaxTransforms is the most transforms in one proposal.
	MaxTransforms = 64
	// MaxTransformAttributes is the most attributes in one transform (RFC 7296 defines one).
	MaxTransformAttributes = 16
	// MaxSelectors is the most traffic selectors in one TS payload; its count field is one
	// octet, so this is also the format's own limit.
	MaxSelectors = 255
	// MaxCPAttributes is the most configuration attributes in one CP payload.
	MaxCPAttributes = 128
)

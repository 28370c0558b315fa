package ike

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/netip"
	"time"

	"github.com/p2sgw/p2sgw/ike/transform"
)

// Identity is one side's credentials: its certificate chain (leaf first, without the root)
// and the leaf's private key.
type Identity struct {
	Chain []*x509.Certificate
	Key   crypto.Signer
}

// Lease is what the responder gives an authenticated client: its address and the
// configuration pushed in the CP payload.
type Lease struct {
	// Session is the connection id the gateway gave the session this lease is for.
	Session string
	Addr    netip.Addr
	DNS     []netip.Addr
	Subnets []netip.Prefix // the VNet prefixes: INTERNAL_IP4_SUBNET and the narrowed TSr
}

// EAPRelay carries one client's EAP conversation to an authentication server and back.
type EAPRelay interface {
	// Exchange sends the client's EAP packet (its Response/Identity first) and returns the
	// server's answer. It blocks for the server's timeouts and failover; the SA's goroutine
	// waits, and the client's retransmissions wait in its mailbox.
	Exchange(packet []byte) (EAPAnswer, error)
}

// EAPVerdict is where an authentication server's answer leaves the conversation.
type EAPVerdict int

// Verdicts.
const (
	EAPContinue EAPVerdict = iota // Packet is the next EAP request for the client
	EAPAccept                     // the client is in: MSK and Grant are set
	EAPReject                     // the client is refused; Reason says why, if the server said
)

// EAPAnswer is an authentication server's answer to one EAP packet.
type EAPAnswer struct {
	Verdict EAPVerdict
	// Packet is the EAP packet for the client: a Request, or the Success or Failure that ends
	// the conversation (nil: the gateway makes one).
	Packet []byte
	// MSK is the EAP Master Session Key (accept): it keys both AUTH payloads (RFC 7296 §2.16).
	MSK []byte
	// Grant is what the server granted the client (accept).
	Grant *Grant
	// Reason is the server's word on a refusal (RADIUS Reply-Message), for the log.
	Reason string
}

// Grant is what an authentication server granted a client with its acceptance (RADIUS
// attributes), for the gateway to apply to the session.
type Grant struct {
	// Server names the server that accepted the client.
	Server string
	// Addr, if valid, is the client's VPN address instead of one from the pool
	// (Framed-IP-Address).
	Addr netip.Addr
	// SessionTimeout, if not zero, is how long the session may last (Session-Timeout).
	SessionTimeout time.Duration
	// Class is echoed in accounting.
	Class [][]byte
	// Messages are the server's messages for the user (Reply-Message), logged.
	Messages []string
}

// ResponderConfig is what a responder SA needs from the gateway. The functions are called
// from the SA's goroutine and may block briefly (a store write); they must be safe for
// concurrent use by many SAs.
type ResponderConfig struct {
	Identity     Identity
	IKEProposals []transform.Proposal
	ESPProposals []transform.Proposal
	// Legacy allows the legacy Windows proposals (MODP-1024, SHA1).
	Legacy bool
	// CARequests returns the CERTREQ hashes: SHA-1 of each trusted root's
	// SubjectPublicKeyInfo, so a client with several certificates picks the right one.
	CARequests func() [][]byte
	// Authenticate verifies the client's certificate and chain (trusted root, EKU, validity,
	// revocation) and returns the client's name. Its error text goes to the log; the client
	// gets AUTHENTICATION_FAILED.
	Authenticate func(leaf *x509.Certificate, intermediates []*x509.Certificate) (string, error)
	// Assign leases the client an address: the one its authentication server granted, if
	// grant has one, else one from the pool. On a later failure of the same exchange the SA
	// reports the lease in its error so the caller releases it.
	Assign func(name string, grant *Grant) (*Lease, error)
	// AllocateSPI returns a fresh inbound ESP SPI, unique on this gateway.
	AllocateSPI func() (uint32, error)
	// EAPTLS, if set, lets clients that send no AUTH authenticate with EAP-TLS terminated by the
	// gateway (Windows' certificate profile): the gateway's certificate and key for TLS. The
	// client's certificate goes through Authenticate as in certificate authentication.
	EAPTLS *tls.Config
	// RelayEAP, if set, relays EAP to an authentication server (RADIUS): every method when
	// EAPTLS is nil, else the ones a client asks for by refusing EAP-TLS with a Nak (EAP-
	// MSCHAPv2 with organisation credentials, say). It starts one client's conversation: user
	// is its EAP identity, remote its public address.
	RelayEAP func(user string, remote netip.AddrPort) EAPRelay
	// Rand is the randomness (nonces, DH keys, IVs); nil means crypto/rand.
	Rand io.Reader
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// InitiatorConfig is what an initiator SA needs: our tests' client and `p2sgw connect`.
type InitiatorConfig struct {
	Identity     Identity
	IKEProposals []transform.Proposal
	ESPProposals []transform.Proposal
	// Group is the DH group of the first KE payload; the responder may ask for another.
	Group transform.DHGroup
	// LocalID is our identity as sent in IDi; empty means the leaf's first email or DNS name,
	// else its subject DN.
	LocalID string
	// ServerName is the gateway's name: its certificate must carry it, and IDr asks for it.
	ServerName string
	// Roots verify the gateway's certificate.
	Roots *x509.CertPool
	// RemoteTS are the prefixes we ask to reach (TSr).
	RemoteTS []netip.Prefix
	// AllocateSPI returns our inbound ESP SPI.
	AllocateSPI func() (uint32, error)
	Rand        io.Reader
	Now         func() time.Time
}

// Package radius is the gateway's RADIUS client: it relays a client's authentication (EAP
// passthrough, or PAP) to the configured RADIUS servers with failover, and sends accounting
// records (RFC 2866) for every session. It sits on layeh.com/radius for the attribute
// dictionaries and the packet layout, but does its own transport, its own authenticators and
// its own key decryption, because the library computes and checks too little for a gateway
// that hands network access out on the strength of a server's answer.
//
// # Blast-RADIUS
//
// RADIUS/UDP authenticates a response with MD5 over the request authenticator and the shared
// secret; the Blast-RADIUS attack (CVE-2024-3596) forges an Access-Accept from an
// Access-Reject by an MD5 chosen-prefix collision on attributes the attacker controls. The
// defence, which this package applies without an option to turn it off:
//
//   - every Access-Request carries a Message-Authenticator (RFC 3579 §3.2, HMAC-MD5 keyed with
//     the secret), placed as the first attribute so no attacker-chosen prefix precedes it;
//   - every Access-Accept, Access-Reject and Access-Challenge must carry a Message-Authenticator
//     that verifies and a Response Authenticator that verifies; anything else is dropped as if
//     it never arrived (counted, logged at Warn) and the client keeps waiting for a genuine
//     answer until the try times out;
//   - an Accounting-Response must carry a valid Response Authenticator, and a valid
//     Message-Authenticator if it has one.
//
// Comparisons of authenticators are constant-time; the Request Authenticator comes from
// crypto/rand. Nothing here makes RADIUS/UDP confidential: the secret must be long and random,
// and the path to the servers trusted (the Azure gateway, too, reaches its servers over the
// VNet or a Site-to-Site tunnel only).
//
// # Access
//
// One client's authentication is a Conversation. Its first Access-Request goes to the servers
// in priority order; each server gets 1+Retries transmissions of Timeout each (identical
// retransmissions, so the server can detect duplicates, RFC 5080 §2.2.1) before the next one
// is tried. Every later request of the conversation echoes the State of the last
// Access-Challenge and goes to the server that answered the first, since only that server knows
// the State. On an Access-Accept the MS-MPPE keys are decrypted (RFC 2548 §2.4.2) into the MSK.
//
// # Accounting
//
// Account queues a record and returns at once; one worker sends the queue in order, with
// failover, until each record gets an authentic Accounting-Response. Close flushes it.
//
// # Reconfiguration
//
// Reconfigure swaps the servers, NAS-Identifier, Timeout and Retries of a running client, as
// one immutable snapshot that every request loads once. A server whose address and secret
// stay keeps its health and counters; conversations under way finish with the server they
// started on; the accounting queue goes on to the new servers.
//
// # What it is not
//
// It does not speak EAP (package eap and the IKE and SSTP servers do), decide what a Reply
// means for a session, serve Dynamic Authorization (RFC 5176), or do RADIUS over TLS.
package radius

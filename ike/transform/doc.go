// Package transform is the cryptography of IKEv2 (RFC 7296): the transform identifiers and
// the registry of the ones p2sgw implements, the default proposals and responder proposal
// selection, Diffie-Hellman key exchange (MODP, NIST ECP, Curve25519), the PRF and prf+, the
// derivation of IKE SA and CHILD SA keys, the protection of the Encrypted (SK) payload with
// AES-GCM-16 or AES-CBC with HMAC-SHA1/SHA2, and the octets that AUTH payloads sign.
//
// It is pure: no sockets, no clock, no global state that changes; randomness always comes in
// as an io.Reader (crypto/rand.Reader in production, a fixed stream in tests). Key exchanges,
// PRFs and protectors hold no per-call state and are safe to use from several goroutines.
//
// It is not the wire codec (package ike/message turns payload bytes into values and back; the
// Proposal and Transform types here mirror the wire so the two convert field by field), not
// the IKE state machine (which decides when to call what), and not ESP (which uses the CHILD SA
// keys derived here but does its own per-packet work).
//
// RFC map:
//   - RFC 7296 §2.13 prf+, §2.14 IKE SA keys, §2.17 CHILD SA keys, §2.18 IKE SA rekey,
//     §2.15 AUTH signed octets, §3.3 proposals and transforms, §3.14 the Encrypted payload.
//   - RFC 5282 AES-GCM in the Encrypted payload; RFC 4106 AES-GCM keying for ESP.
//   - RFC 4868 HMAC-SHA2 PRFs and truncated integrity checks; RFC 2404 HMAC-SHA1-96.
//   - RFC 2409 §6.2 and RFC 3526 MODP groups; RFC 5903 ECP groups; RFC 8031 Curve25519;
//     RFC 6989 checks on peer key exchange values.
package transform

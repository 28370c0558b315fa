// Package esp is the gateway's user-space IPsec data path: it seals inner IP packets into ESP
// (RFC 4303) and opens them again, with the anti-replay window, and it frames ESP and IKE on
// UDP port 4500 (RFC 3948). The gateway never hands ESP to the kernel: every client sends ESP
// inside UDP, and this package works on the UDP payloads.
//
// It is not IKE: it negotiates nothing and derives no keys. The IKE layer picks a Transform,
// takes the keys from KEYMAT and builds one Outbound and one Inbound per CHILD_SA. It does no
// I/O, keeps no clock and draws randomness only when an SA is built. Only tunnel mode is
// supported: the payload is always a whole IPv4 or IPv6 packet.
//
// # Packet layout
//
// An ESP packet as Seal writes it and Open reads it (RFC 4303 §2, Figures 1 and 2; RFC 4106
// §3 for AES-GCM; RFC 3602 §3 for AES-CBC):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|               Security Parameters Index (SPI)                 |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|      Sequence Number (the low 32 bits of a 64-bit counter)    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|      IV: 8 octets for AES-GCM, 16 octets for AES-CBC          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ <- off: the inner packet
//	~            Inner IP packet (encrypted from here)              ~
//	+               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|               |    Padding 1, 2, 3, ... (0-255 octets)        |
//	+-+-+-+-+-+-+-+-+               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                               |  Pad Length   | Next Header   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|      Integrity Check Value (12 to 32 octets)                  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Seal works in place: the caller reads the inner packet into a buffer at an offset of at
// least Transform.HeaderLen (Headroom covers every transform) and leaves Transform.TrailerLen
// bytes free after it (Tailroom covers every transform); Seal fills both sides and returns the
// ESP packet as a slice of the same buffer. Open decrypts in place and returns the inner packet
// as a slice of the ESP packet.
//
// # Pipeline
//
// Outbound, for each inner packet:
//  1. reserve the next sequence numbers (one atomic step per batch; never wraps);
//  2. write the header, the IV (GCM: the 64-bit sequence number; CBC: see below), the padding,
//     pad length and next header;
//  3. encrypt and compute the ICV (GCM: one AEAD seal; CBC: encrypt, then HMAC).
//
// Inbound, for each ESP packet (RFC 4303 §3.4):
//  1. check the length and the SPI;
//  2. check the sequence number against the replay window, recovering the high 32 bits first
//     when ESN is on, without recording it;
//  3. verify the ICV (constant time) and decrypt;
//  4. record the sequence number in the window (only authenticated packets move it);
//  5. check the padding and the next header, and return the inner packet.
//
// Failures on the inbound path are Drop reasons, counted per SA, never allocated errors.
//
// # IVs
//
// AES-GCM (RFC 4106 §3.1) needs an IV that never repeats under a key; it need not be
// unpredictable. The IV is the 64-bit sequence number, which the SA never reuses and never
// lets wrap, so a nonce (salt || IV) is used at most once per key.
//
// AES-CBC (RFC 3602 §2.4) needs an IV the attacker cannot predict. Each Outbound draws a fresh
// 256-bit AES key of its own from Config.Rand when it is built — not derived from, and never
// used with, the ESP keys — and takes IV = AES(ivKey, seq || 0^64). The inputs are distinct
// (seq never repeats), and the attacker never sees that key used for anything but the IVs, so
// the IVs are outputs of a pseudorandom permutation on distinct inputs: unpredictable without
// the key, like random ones, but with no per-packet call into the system's random source and no
// shared state between goroutines. The IV key is deliberately independent of the ESP key.
// NIST SP 800-38A Appendix C encrypts a nonce under the data key itself, but then the IVs and
// the CBC blocks come from one permutation and the argument above no longer holds as stated;
// with an independent key it is the plain PRP argument (the variant Rogaway, "Nonce-Based
// Symmetric Encryption", FSE 2004, recommends over the same-key one).
//
// # Concurrency
//
// Outbound.Seal and Inbound.Open may be called from many goroutines at once, also on the same
// SA: sequence numbers are taken atomically, per-call state comes from a pool, and the replay
// window is held under a lock only to check and to record.
package esp

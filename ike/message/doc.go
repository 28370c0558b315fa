// Package message encodes and decodes IKEv2 messages (RFC 7296): the IKE header, every payload
// a remote-access responder meets (one file per payload, the RFC's bit diagram beside its
// codec), the SKF fragment payload (RFC 7383), and a data table of which payloads each exchange
// may carry (rules.go).
//
// It is a pure codec: no cryptography, no sockets, no clock. It does not decide what a message
// means; the IKE SA state machines do that. It does not open or seal SK payloads either;
// package ike/transform does, on bytes this package lays out for it.
//
// # Decoding
//
// Decode reads a whole datagram (after the non-ESP marker is stripped on port 4500). An SK or
// SKF payload, which RFC 7296 §3.14 requires to be last, becomes an *SK or *SKF holding the
// still-encrypted body. DecodeSealed reads the same datagram without copying it and reports the
// offsets ike/transform needs:
//
//	datagram[:s.BodyOffset]  IKE header ‖ payloads before SK ‖ SK (or SKF) payload header:
//	                         the AEAD associated data (RFC 5282 §5.1, RFC 7383 §2.5)
//	s.Body                   datagram[s.BodyOffset:] = IV ‖ ciphertext ‖ ICV, aliased, so it
//	                         can be decrypted in place
//	datagram[:len-icvLen]    what a non-AEAD integrity transform covers (RFC 7296 §3.14)
//	s.Inner                  the SK header's Next Payload: the type of the first inner payload
//
// After decryption, DecodePayloads(s.Inner, plaintext) reads the inner chain; plaintext is the
// inner payloads only, with IV, padding, pad length and ICV removed.
//
// # Encoding
//
// AppendPayloads appends an inner chain (the plaintext to encrypt). AppendSKHeader and
// AppendSKFHeader append the IKE header and the SK (SKF) payload header for a body of a known
// length, with both length fields right. Because they only append, they can also fill a
// prefix reserved earlier, so a message is built and encrypted in one buffer, with no copy:
//
//	buf := make([]byte, message.SKBodyOffset, size) // reserve header ‖ SK header
//	buf = append(buf, iv...)
//	buf, _ = message.AppendPayloads(buf, inner)     // plaintext, in place
//	buf = append(buf, padding...)                   // padding ‖ pad length
//	buf = buf[:len(buf)+icvLen]                     // room for the ICV
//	message.AppendSKHeader(buf[:0], hdr, first, len(buf)-message.SKBodyOffset)
//	// buf[:SKBodyOffset] is now final: use it as the associated data, encrypt
//	// buf[SKBodyOffset+ivLen:len(buf)-icvLen] in place, write the ICV at the end.
//
// # Ownership and limits
//
// Decode and DecodePayloads copy their input once, so what they return never aliases the
// caller's buffer; DecodeSealed aliases it on purpose. Encoders append to the caller's buffer
// and never keep it. Nothing here is safe for concurrent mutation, but decoded values may be
// read from several goroutines. Decoders never panic, whatever the bytes, and bound every count
// (limits.go), so what they allocate is a small multiple (under 10×) of the datagram's size,
// itself at most MaxMessageLen.
package message

package message_test

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"

	"github.com/p2sgw/p2sgw/ike/message"
)

// This is the round ike/transform and the state machines make for every protected message,
// here with AES-GCM-16 (RFC 5282: 4-byte salt from the keys, 8-byte IV in the message,
// 16-byte ICV) standing in for whatever transform the IKE SA negotiated.
func ExampleAppendSKHeader() {
	block, _ := aes.NewCipher(make([]byte, 16))
	aead, _ := cipher.NewGCM(block)
	salt, iv := []byte{1, 2, 3, 4}, []byte{0, 0, 0, 0, 0, 0, 0, 1}

	// Seal: reserve the header, put IV and plaintext after it, fill the header in place.
	inner := message.Payloads{&message.Delete{Protocol: message.ProtocolESP, SPIs: []uint32{0xc0ffee01}}}
	buf := make([]byte, message.SKBodyOffset, 256)
	buf = append(buf, iv...)
	buf, _ = message.AppendPayloads(buf, inner)
	buf = append(buf, 0) // pad length: GCM needs no padding
	bodyLen := len(buf) - message.SKBodyOffset + aead.Overhead()
	hdr := message.Header{SPIi: 0x1111, SPIr: 0x2222, Exchange: message.ExchangeInformational,
		Flags: message.FlagInitiator, MessageID: 7}
	if _, err := message.AppendSKHeader(buf[:0], hdr, inner.First(), bodyLen); err != nil {
		fmt.Println(err)
		return
	}
	aad := buf[:message.SKBodyOffset]
	plain := buf[message.SKBodyOffset+len(iv):]
	datagram := aead.Seal(buf[:message.SKBodyOffset+len(iv)], append(salt, iv...), plain, aad)

	// Open: locate the body, decrypt it in place, decode the inner chain.
	s, err := message.DecodeSealed(datagram)
	if err != nil {
		fmt.Println(err)
		return
	}
	body := s.Body[len(iv):]
	opened, err := aead.Open(body[:0], append(salt, s.Body[:len(iv)]...), body, datagram[:s.BodyOffset])
	if err != nil {
		fmt.Println(err)
		return
	}
	padLen := int(opened[len(opened)-1])
	ps, err := message.DecodePayloads(s.Inner, opened[:len(opened)-1-padLen])
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%v message %d, %d bytes: %v\n", s.Exchange, s.MessageID, len(datagram), ps)
	fmt.Println(message.Check(s.Exchange, s.IsResponse(), true, ps))
	// Output:
	// INFORMATIONAL message 7, 69 bytes: D
	// <nil>
}

package radius

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"

	"layeh.com/radius"
	"layeh.com/radius/rfc2869"
)

// Packet layout (RFC 2865 §3):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Code      |  Identifier   |            Length             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                                                               |
//	|                         Authenticator                         |
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Attributes ...
//	+-+-+-+-+-+-+-+-+-+-+-+-+-
const (
	headerLen     = 20                     // Code, Identifier, Length, Authenticator
	offLength     = 2                      // the Length field
	offAuth       = 4                      // the Authenticator field
	authLen       = 16                     // an Authenticator, and a Message-Authenticator value
	attrHeaderLen = 2                      // an attribute's Type and Length
	maxAttrValue  = 253                    // the longest attribute value
	maxPacketLen  = radius.MaxPacketLength // 4096 (RFC 2865 §3)

	// offFirstMA is where the value of a Message-Authenticator placed first begins.
	offFirstMA = headerLen + attrHeaderLen
)

// dropReason says why a datagram that arrived while waiting for an answer was not taken as
// the answer. Each is counted in ServerStatus.BadResponses and logged at Warn.
type dropReason uint8

const (
	dropNone          dropReason = iota
	dropTruncated                // shorter than the header or than its Length field
	dropBadLength                // Length under 20 or over 4096
	dropCode                     // a Code that does not answer the request
	dropIdentifier               // an Identifier of no outstanding request
	dropAttributes               // the attributes do not parse
	dropNoMA                     // an Access-Accept/Reject/Challenge without Message-Authenticator
	dropManyMA                   // more than one Message-Authenticator
	dropMA                       // the Message-Authenticator does not verify
	dropResponseAuth             // the Response Authenticator does not verify
	dropForeignSource            // from another address than the server's
)

var dropReasons = [...]string{
	dropNone:          "none",
	dropTruncated:     "truncated packet",
	dropBadLength:     "invalid Length field",
	dropCode:          "unexpected Code",
	dropIdentifier:    "wrong Identifier",
	dropAttributes:    "malformed attributes",
	dropNoMA:          "no Message-Authenticator",
	dropManyMA:        "more than one Message-Authenticator",
	dropMA:            "Message-Authenticator does not verify",
	dropResponseAuth:  "Response Authenticator does not verify",
	dropForeignSource: "from another address than the server's",
}

func (r dropReason) String() string {
	if int(r) < len(dropReasons) {
		return dropReasons[r]
	}
	return "unknown"
}

// sent is what a response is checked against: one transmitted request.
type sent struct {
	id   byte
	auth [authLen]byte // the Request Authenticator
}

// newAuthenticator returns a Request Authenticator from crypto/rand (RFC 2865 §3: "unpredictable
// and unique over the lifetime of a secret").
func newAuthenticator() [authLen]byte {
	var a [authLen]byte
	rand.Read(a[:]) // never fails since Go 1.24; it crashes the program instead
	return a
}

// randomByte returns a random octet, for the first Identifier on a socket.
func randomByte() byte {
	var b [1]byte
	rand.Read(b[:])
	return b[0]
}

// messageAuthenticator computes the Message-Authenticator of packet b (RFC 3579 §3.2) whose
// value starts at offset ma: HMAC-MD5 keyed with the secret over the packet with auth in the
// Authenticator field and the Message-Authenticator value zeroed. auth is the packet's own
// Authenticator for an Access-Request, and the request's for a response. b is not modified.
func messageAuthenticator(b []byte, ma int, auth *[authLen]byte, secret []byte) [authLen]byte {
	var zero, sum [authLen]byte
	h := hmac.New(md5.New, secret)
	h.Write(b[:offAuth])
	h.Write(auth[:])
	h.Write(b[headerLen:ma])
	h.Write(zero[:])
	h.Write(b[ma+authLen:])
	h.Sum(sum[:0])
	return sum
}

// responseAuthenticator computes MD5(Code+ID+Length+RequestAuth+Attributes+Secret), the
// Response Authenticator of an answer (RFC 2865 §3) and the Request Authenticator of an
// Accounting-Request (RFC 2866 §3, where auth is 16 zero octets).
func responseAuthenticator(b []byte, auth *[authLen]byte, secret []byte) [authLen]byte {
	var sum [authLen]byte
	h := md5.New()
	h.Write(b[:offAuth])
	h.Write(auth[:])
	h.Write(b[headerLen:])
	h.Write(secret)
	h.Sum(sum[:0])
	return sum
}

// findMA walks the attributes of packet b and returns the offset of the Message-Authenticator
// value, or -1 if there is none. It checks every attribute's length.
func findMA(b []byte) (int, dropReason) {
	ma := -1
	for i := headerLen; i < len(b); {
		if len(b)-i < attrHeaderLen {
			return -1, dropAttributes
		}
		n := int(b[i+1])
		if n < attrHeaderLen || n > len(b)-i {
			return -1, dropAttributes
		}
		if radius.Type(b[i]) == rfc2869.MessageAuthenticator_Type {
			if n != attrHeaderLen+authLen {
				return -1, dropMA
			}
			if ma >= 0 {
				return -1, dropManyMA
			}
			ma = i + attrHeaderLen
		}
		i += n
	}
	return ma, dropNone
}

// packetLength checks the header of datagram b and returns the packet it holds: octets past
// the Length field are padding and ignored (RFC 2865 §3).
func packetLength(b []byte) ([]byte, dropReason) {
	if len(b) < headerLen {
		return nil, dropTruncated
	}
	n := int(binary.BigEndian.Uint16(b[offLength:]))
	if n < headerLen || n > maxPacketLen {
		return nil, dropBadLength
	}
	if n > len(b) {
		return nil, dropTruncated
	}
	return b[:n], dropNone
}

// verify checks an answer to one of the outstanding requests. It returns the packet (b without
// padding), the request it answers, or why it must be dropped. needMA says the answer must
// carry a Message-Authenticator (every answer to an Access-Request); without it one is still
// verified if present. codes lists the acceptable Codes. verify never panics.
func verify(b []byte, out []sent, codes []radius.Code, needMA bool, secret []byte) ([]byte, *sent, dropReason) {
	b, why := packetLength(b)
	if why != dropNone {
		return nil, nil, why
	}
	if !codeIn(radius.Code(b[0]), codes) {
		return nil, nil, dropCode
	}
	var req *sent
	for i := range out {
		if out[i].id == b[1] {
			req = &out[i]
		}
	}
	if req == nil {
		return nil, nil, dropIdentifier
	}
	ma, why := findMA(b)
	if why != dropNone {
		return nil, nil, why
	}
	if ma < 0 && needMA {
		return nil, nil, dropNoMA
	}
	if ma >= 0 {
		want := messageAuthenticator(b, ma, &req.auth, secret)
		if !hmac.Equal(want[:], b[ma:ma+authLen]) {
			return nil, nil, dropMA
		}
	}
	want := responseAuthenticator(b, &req.auth, secret)
	if subtle.ConstantTimeCompare(want[:], b[offAuth:headerLen]) != 1 {
		return nil, nil, dropResponseAuth
	}
	return b, req, dropNone
}

func codeIn(c radius.Code, codes []radius.Code) bool {
	for _, x := range codes {
		if c == x {
			return true
		}
	}
	return false
}

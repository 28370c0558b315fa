package freeradius

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/p2sgw/p2sgw/internal/testnet"
)

// A minimal RADIUS client (RFC 2865, RFC 3579 §3.2, RFC 5997), independent of radclient, to
// check what FreeRADIUS puts on the wire: above all that every reply carries a valid
// Message-Authenticator.

// RADIUS codes and attribute types used by the tests.
const (
	codeAccessRequest   = 1
	codeAccessAccept    = 2
	codeAccessReject    = 3
	codeAccessChallenge = 11
	codeStatusServer    = 12

	attrUserName             = 1
	attrUserPassword         = 2
	attrReplyMessage         = 18
	attrClass                = 25
	attrEAPMessage           = 79
	attrMessageAuthenticator = 80

	radiusHeaderLen  = 20
	authenticatorLen = 16
)

// attr is one attribute, as it is on the wire without type and length.
type attr struct {
	typ   byte
	value []byte
}

// reply is a verified response.
type reply struct {
	code  byte
	attrs []attr
	// hasMessageAuthenticator says whether it carried one; exchange has checked its value.
	hasMessageAuthenticator bool
}

func (r reply) get(typ byte) []byte {
	for _, a := range r.attrs {
		if a.typ == typ {
			return a.value
		}
	}
	return nil
}

// exchange sends one request from ns to addr with a Message-Authenticator (the harness's
// clients require it) and returns the reply after checking its Response Authenticator and,
// if present, its Message-Authenticator. A plaintext User-Password is encrypted here.
func exchange(ns *testnet.Namespace, addr, secret string, code byte, attrs []attr) (reply, error) {
	return send(ns, addr, secret, code, attrs, true)
}

// send is exchange with the Message-Authenticator optional. It waits a second for the reply:
// FreeRADIUS answers within milliseconds in a test network.
func send(ns *testnet.Namespace, addr, secret string, code byte, attrs []attr, withMA bool) (reply, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var reqAuth [authenticatorLen]byte
	rand.Read(reqAuth[:])
	id := reqAuth[0]
	pkt := []byte{code, id, 0, 0}
	pkt = append(pkt, reqAuth[:]...)
	for _, a := range attrs {
		v := a.value
		if a.typ == attrUserPassword {
			v = hidePassword(secret, reqAuth[:], v)
		}
		pkt = append(pkt, a.typ, byte(2+len(v)))
		pkt = append(pkt, v...)
	}
	maAt := len(pkt) + 2
	if withMA {
		pkt = append(pkt, attrMessageAuthenticator, 2+authenticatorLen)
		pkt = append(pkt, make([]byte, authenticatorLen)...)
	}
	binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
	if withMA {
		copy(pkt[maAt:], hmacMD5(secret, pkt))
	}

	c, err := ns.DialContext(ctx, "udp", addr)
	if err != nil {
		return reply{}, err
	}
	defer c.Close()
	deadline, _ := ctx.Deadline()
	c.SetDeadline(deadline)
	if _, err := c.Write(pkt); err != nil {
		return reply{}, err
	}
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		return reply{}, err
	}
	return verifyReply(buf[:n], id, reqAuth[:], secret)
}

// verifyReply decodes resp and checks it against the request it answers.
func verifyReply(resp []byte, id byte, reqAuth []byte, secret string) (reply, error) {
	if len(resp) < radiusHeaderLen || int(binary.BigEndian.Uint16(resp[2:])) != len(resp) {
		return reply{}, fmt.Errorf("radius: bad reply length %d", len(resp))
	}
	if resp[1] != id {
		return reply{}, fmt.Errorf("radius: reply has id %d, want %d", resp[1], id)
	}
	// Response Authenticator: MD5(Code ID Length RequestAuth Attributes Secret).
	h := md5.New()
	h.Write(resp[:4])
	h.Write(reqAuth)
	h.Write(resp[radiusHeaderLen:])
	h.Write([]byte(secret))
	if !bytes.Equal(h.Sum(nil), resp[4:radiusHeaderLen]) {
		return reply{}, fmt.Errorf("radius: bad Response Authenticator")
	}
	r := reply{code: resp[0]}
	for b := resp[radiusHeaderLen:]; len(b) > 0; {
		if len(b) < 2 || int(b[1]) < 2 || int(b[1]) > len(b) {
			return reply{}, fmt.Errorf("radius: malformed attribute")
		}
		a := attr{typ: b[0], value: b[2:b[1]]}
		if a.typ == attrMessageAuthenticator {
			if err := checkMessageAuthenticator(resp, len(resp)-len(b)+2, reqAuth, secret); err != nil {
				return reply{}, err
			}
			r.hasMessageAuthenticator = true
		}
		r.attrs = append(r.attrs, a)
		b = b[b[1]:]
	}
	return r, nil
}

// checkMessageAuthenticator checks the Message-Authenticator whose value starts at off:
// HMAC-MD5 over the reply with the Request Authenticator in place of the Response
// Authenticator and the Message-Authenticator zeroed (RFC 3579 §3.2).
func checkMessageAuthenticator(resp []byte, off int, reqAuth []byte, secret string) error {
	if len(resp)-off < authenticatorLen || resp[off-1] != 2+authenticatorLen {
		return fmt.Errorf("radius: Message-Authenticator has the wrong length")
	}
	m := bytes.Clone(resp)
	copy(m[4:], reqAuth)
	clear(m[off : off+authenticatorLen])
	if !hmac.Equal(hmacMD5(secret, m), resp[off:off+authenticatorLen]) {
		return fmt.Errorf("radius: bad Message-Authenticator")
	}
	return nil
}

func hmacMD5(secret string, msg []byte) []byte {
	h := hmac.New(md5.New, []byte(secret))
	h.Write(msg)
	return h.Sum(nil)
}

// hidePassword encrypts a User-Password (RFC 2865 §5.2).
func hidePassword(secret string, reqAuth, pw []byte) []byte {
	p := append(bytes.Clone(pw), make([]byte, (16-len(pw)%16)%16)...)
	if len(p) == 0 {
		p = make([]byte, 16)
	}
	prev := reqAuth
	for i := 0; i < len(p); i += 16 {
		b := md5.Sum(append([]byte(secret), prev...))
		for j := range 16 {
			p[i+j] ^= b[j]
		}
		prev = p[i : i+16]
	}
	return p
}

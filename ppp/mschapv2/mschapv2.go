// Package mschapv2 is the arithmetic of MS-CHAPv2 (RFC 2759) and of the MPPE master keys it
// derives (RFC 3079 §3), as a PPP server or a RADIUS-less gateway checks a password with it. It
// is not the CHAP packet exchange (package ppp does that) and not RADIUS's attribute encoding.
//
// Passwords are Unicode strings, hashed as UTF-16LE, so non-ASCII passwords give the same hash
// Windows computes.
package mschapv2

import (
	"crypto/des"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strings"
	"unicode/utf16"

	"golang.org/x/crypto/md4"
)

// Sizes of the MS-CHAPv2 values.
const (
	ChallengeLen  = 16 // the authenticator's and the peer's challenge
	NTResponseLen = 24
	KeyLen        = 16 // an MPPE master key (128-bit)
	// AuthResponseLen is the length of "S=" and 40 hexadecimal digits.
	AuthResponseLen = 2 + 2*sha1.Size
)

// ErrLength is returned for a challenge or NT-Response of the wrong size.
var ErrLength = errors.New("mschapv2: challenge or response of the wrong length")

var (
	magic1    = []byte("Magic server to client signing constant")
	magic2    = []byte("Pad to make it do more than one iteration")
	masterMag = []byte("This is the MPPE Master Key")
	keyMagic2 = []byte("On the client side, this is the send key; on the server side, it is the receive key.")
	keyMagic3 = []byte("On the client side, this is the receive key; on the server side, it is the send key.")
	shsPad1   = make([]byte, 40)
	shsPad2   = []byte(strings.Repeat("\xf2", 40))
)

// ErrWrongPassword is Verify's error for a response that does not match the password.
var ErrWrongPassword = errors.New("mschapv2: wrong password")

// UserName is the name as ChallengeHash uses it: without a "DOMAIN\" prefix (RFC 2759 §4).
func UserName(user string) string {
	if i := strings.LastIndexByte(user, '\\'); i >= 0 {
		return user[i+1:]
	}
	return user
}

// PasswordHash is MD4 of the password in UTF-16LE (NtPasswordHash).
func PasswordHash(password string) []byte {
	u := utf16.Encode([]rune(password))
	b := make([]byte, 0, 2*len(u))
	for _, c := range u {
		b = append(b, byte(c), byte(c>>8))
	}
	return md4Sum(b)
}

func md4Sum(b []byte) []byte {
	h := md4.New()
	h.Write(b)
	return h.Sum(nil)
}

// ChallengeHash is the 8-octet hash of both challenges and the user name (which UserName
// should have stripped of its domain).
func ChallengeHash(peerChallenge, authChallenge []byte, user string) []byte {
	h := sha1.New()
	h.Write(peerChallenge)
	h.Write(authChallenge)
	h.Write([]byte(user))
	return h.Sum(nil)[:8]
}

// NTResponse is the peer's 24-octet response (GenerateNTResponse) for user, whose domain, if
// any, it strips.
func NTResponse(authChallenge, peerChallenge []byte, user, password string) ([]byte, error) {
	if len(authChallenge) != ChallengeLen || len(peerChallenge) != ChallengeLen {
		return nil, ErrLength
	}
	return challengeResponse(ChallengeHash(peerChallenge, authChallenge, UserName(user)), PasswordHash(password)), nil
}

// challengeResponse is three DES encryptions of the challenge hash, keyed with 7-octet slices
// of the password hash padded to 21 octets.
func challengeResponse(challenge, passwordHash []byte) []byte {
	var key [21]byte
	copy(key[:], passwordHash)
	out := make([]byte, 0, NTResponseLen)
	for i := 0; i < 3; i++ {
		c, _ := des.NewCipher(desKey(key[7*i : 7*i+7])) // an 8-octet key never fails
		var block [8]byte
		c.Encrypt(block[:], challenge)
		out = append(out, block[:]...)
	}
	return out
}

// desKey spreads 56 key bits over 8 octets; DES ignores the parity bits.
func desKey(k []byte) []byte {
	var v uint64
	for _, b := range k {
		v = v<<8 | uint64(b)
	}
	out := make([]byte, 8)
	for i := range out {
		out[i] = byte(v>>(49-7*uint(i))) << 1
	}
	return out
}

// AuthenticatorResponse is the server's proof that it knows the password too:
// "S=" and 40 uppercase hexadecimal digits (GenerateAuthenticatorResponse).
func AuthenticatorResponse(authChallenge, peerChallenge, ntResponse []byte, user, password string) (string, error) {
	if len(authChallenge) != ChallengeLen || len(peerChallenge) != ChallengeLen || len(ntResponse) != NTResponseLen {
		return "", ErrLength
	}
	return authResponse(md4Sum(PasswordHash(password)), ntResponse, ChallengeHash(peerChallenge, authChallenge, UserName(user))), nil
}

func authResponse(hashHash, ntResponse, challenge []byte) string {
	h := sha1.New()
	h.Write(hashHash)
	h.Write(ntResponse)
	h.Write(magic1)
	digest := h.Sum(nil)
	h.Reset()
	h.Write(digest)
	h.Write(challenge)
	h.Write(magic2)
	return "S=" + strings.ToUpper(hex.EncodeToString(h.Sum(nil)))
}

// MasterKey is the 16-octet MPPE master key (RFC 3079 §3.4 GetMasterKey).
func MasterKey(passwordHashHash, ntResponse []byte) []byte {
	h := sha1.New()
	h.Write(passwordHashHash)
	h.Write(ntResponse)
	h.Write(masterMag)
	return h.Sum(nil)[:KeyLen]
}

// StartKey is a 128-bit asymmetric start key (GetAsymmetricStartKey): serverSend selects the
// server's send key (the client's receive key); otherwise the server's receive key (the
// client's send key).
func StartKey(masterKey []byte, serverSend bool) []byte {
	h := sha1.New()
	h.Write(masterKey)
	h.Write(shsPad1)
	if serverSend {
		h.Write(keyMagic3)
	} else {
		h.Write(keyMagic2)
	}
	h.Write(shsPad2)
	return h.Sum(nil)[:KeyLen]
}

// Verified is what a successful Verify yields.
type Verified struct {
	AuthResponse     string // "S=..."
	SendKey, RecvKey []byte // the server's MPPE master keys
}

// Verify checks a peer's NT-Response against the password, as a server does, and returns the
// authenticator response and the server's keys; the error says the password was wrong or a
// value has the wrong size.
func Verify(user, password string, authChallenge, peerChallenge, ntResponse []byte) (Verified, error) {
	want, err := NTResponse(authChallenge, peerChallenge, user, password)
	if err != nil {
		return Verified{}, err
	}
	if len(ntResponse) != NTResponseLen {
		return Verified{}, ErrLength
	}
	if subtle.ConstantTimeCompare(want, ntResponse) != 1 {
		return Verified{}, ErrWrongPassword
	}
	send, recv := Keys(password, ntResponse)
	resp, _ := AuthenticatorResponse(authChallenge, peerChallenge, ntResponse, user, password)
	return Verified{AuthResponse: resp, SendKey: send, RecvKey: recv}, nil
}

// Keys are the server's MPPE master keys for a password and the NT-Response it verified (the
// peer's keys are the same two, swapped).
func Keys(password string, ntResponse []byte) (serverSend, serverRecv []byte) {
	mk := MasterKey(md4Sum(PasswordHash(password)), ntResponse)
	return StartKey(mk, true), StartKey(mk, false)
}

package ike

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"sync"
	"time"

	"github.com/p2sgw/p2sgw/ike/message"
)

// Denial-of-service defences for IKE_SA_INIT (RFC 7296 §2.6), as strongSwan does them:
//   - a source address may hold at most Limits.HalfOpenPerSource half-open SAs; more IKE_SA_INIT
//     requests from it are dropped without any work;
//   - once the gateway holds Limits.CookieThreshold half-open SAs, a request must carry a
//     COOKIE notify that the gateway handed out, statelessly, to that source for that SPI and
//     nonce; without one it gets only the cookie, which costs an HMAC, not a key exchange.

// Limits bound the half-open SAs.
type Limits struct {
	// CookieThreshold is how many half-open SAs make the server demand cookies; 0: always.
	CookieThreshold int
	// HalfOpenPerSource is how many half-open SAs one source address may have.
	HalfOpenPerSource int
}

// DefaultLimits are strongSwan's defaults (charon.cookie_threshold, charon.block_threshold).
var DefaultLimits = Limits{CookieThreshold: 10, HalfOpenPerSource: 5}

const (
	cookieSecretLife = 2 * time.Minute // a cookie stays valid for one to two lifetimes
	cookieVersionLen = 4
	cookieLen        = cookieVersionLen + sha256.Size
)

// cookieJar makes and checks cookies: version ‖ HMAC-SHA-256(secret, Ni ‖ IPi ‖ SPIi). The
// secret changes every cookieSecretLife; the previous one still verifies.
type cookieJar struct {
	mu      sync.Mutex // guards the fields below
	version uint32
	secret  [32]byte
	prev    [32]byte
	rotated time.Time
}

func (j *cookieJar) rotate(now time.Time) {
	if !j.rotated.IsZero() && now.Sub(j.rotated) < cookieSecretLife {
		return
	}
	j.prev = j.secret
	rand.Read(j.secret[:])
	j.version++
	j.rotated = now
}

// make returns the cookie for a request.
func (j *cookieJar) make(ni []byte, src netip.Addr, spiI uint64, now time.Time) []byte {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.rotate(now)
	return cookieFor(j.secret[:], j.version, ni, src, spiI)
}

// valid reports whether cookie is one we made for this request, with the current or the
// previous secret.
func (j *cookieJar) valid(cookie, ni []byte, src netip.Addr, spiI uint64, now time.Time) bool {
	if len(cookie) != cookieLen {
		return false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.rotate(now)
	v := binary.BigEndian.Uint32(cookie)
	switch v {
	case j.version:
		return hmac.Equal(cookie, cookieFor(j.secret[:], v, ni, src, spiI))
	case j.version - 1:
		return hmac.Equal(cookie, cookieFor(j.prev[:], v, ni, src, spiI))
	}
	return false
}

func cookieFor(secret []byte, version uint32, ni []byte, src netip.Addr, spiI uint64) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(ni)
	m.Write(src.Unmap().AsSlice())
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], spiI)
	m.Write(b[:])
	return m.Sum(binary.BigEndian.AppendUint32(make([]byte, 0, cookieLen), version))
}

// cookieResponse is the stateless IKE_SA_INIT answer that asks for a cookie.
func cookieResponse(req message.Header, cookie []byte) []byte {
	h := message.Header{SPIi: req.SPIi, Exchange: message.ExchangeIKESAInit, Flags: message.FlagResponse}
	b, _ := (&message.Message{Header: h, Payloads: []message.Payload{&message.Notify{NotifyType: message.NotifyCookie, Data: cookie}}}).Append(nil)
	return b
}

// requestCookie returns the nonce and the COOKIE notify's data of an IKE_SA_INIT request
// (RFC 7296 §2.6: the notify comes first); ok is false for a request we cannot read.
func requestCookie(datagram []byte) (ni, cookie []byte, ok bool) {
	m, err := message.Decode(datagram)
	if err != nil {
		return nil, nil, false
	}
	n, _ := m.Payloads.Find(message.PayloadNonce).(*message.Nonce)
	if n == nil {
		return nil, nil, false
	}
	if len(m.Payloads) > 0 {
		if c, isN := m.Payloads[0].(*message.Notify); isN && c.NotifyType == message.NotifyCookie {
			cookie = c.Data
		}
	}
	return n.Data, cookie, true
}

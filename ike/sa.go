// Package ike is IKEv2 (RFC 7296): the IKE SA and its first CHILD SA, as a pure state
// machine in both roles. An SA takes datagrams and returns the datagrams to send and what
// happened; it opens no socket, reads no clock and draws no randomness of its own (they come
// from its config). The codecs are in ike/message, the algorithms in ike/transform; package
// gateway owns the sockets, one goroutine per SA, and the wiring to sessions, pools and ESP.
//
// Error contract: an error from Handle with a nil response means the datagram was dropped
// (undecodable, not authentic, unexpected) and the SA is unchanged, so the caller may feed it
// the next one. An SA whose State is StateFailed or StateDeleted must be abandoned after the
// response (if any) is sent.
package ike

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/p2sgw/p2sgw/ike/message"
	"github.com/p2sgw/p2sgw/ike/transform"
)

// State is where an IKE SA is in its life.
type State int

// States.
const (
	StateInitSent    State = iota // initiator: IKE_SA_INIT request sent
	StateAuthWait                 // responder: IKE_SA_INIT answered; initiator: IKE_AUTH sent
	StateEstablished              // IKE_AUTH done; the CHILD SA exists
	StateDeleting                 // we sent a Delete and wait for its answer
	StateDeleted                  // the IKE SA is gone (by either side)
	StateFailed                   // the handshake failed
	StateEAP                      // responder: IKE_AUTH goes on with EAP rounds
)

var stateNames = [...]string{"INIT_SENT", "AUTH_WAIT", "ESTABLISHED", "DELETING", "DELETED", "FAILED", "EAP"}

func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("State(%d)", int(s))
	}
	return stateNames[s]
}

// Event is what a datagram caused.
type Event int

// Events.
const (
	EventNone            Event = iota // nothing the caller must act on
	EventEstablished                  // the IKE SA and its CHILD SA are up: install the ESP SAs
	EventDeleted                      // the IKE SA ended (Delete either way); remove it
	EventChildDeleted                 // the peer deleted the CHILD SA; the IKE SA stays
	EventFailed                       // the handshake failed; send the response, then abandon the SA
	EventChildRekeyed                 // a CHILD SA rekey was answered: install Rekeyed, keep the old inbound SA
	EventOldChildDeleted              // the peer deleted the CHILD SA a rekey replaced: remove its inbound SA
	EventIKERekeyed                   // the IKE SA was rekeyed: RekeyedIKE carries on, this SA awaits its Delete
	EventAddressUpdate                // the client moved (MOBIKE UPDATE_SA_ADDRESSES): send to where its request came from
)

var eventNames = [...]string{"none", "established", "deleted", "child_deleted", "failed", "child_rekeyed", "old_child_deleted", "ike_rekeyed", "address_update"}

func (e Event) String() string {
	if e < 0 || int(e) >= len(eventNames) {
		return fmt.Sprintf("Event(%d)", int(e))
	}
	return eventNames[e]
}

// ChildSA is the negotiated CHILD SA: what the caller needs to build the two ESP SAs.
type ChildSA struct {
	Suite  transform.Suite
	InSPI  uint32 // the SPI of packets we receive (ours)
	OutSPI uint32 // the SPI of packets we send (the peer's)
	// In and Out are the keys of the inbound and outbound ESP SAs.
	In, Out transform.DirectionKeys
	TSi     []message.Selector
	TSr     []message.Selector
}

// SA is one IKE SA. It is not safe for concurrent use: one goroutine owns it.
type SA struct {
	initiator bool
	resp      *ResponderConfig
	init      *InitiatorConfig
	rand      io.Reader
	now       func() time.Time

	state      State
	spiI, spiR uint64
	suite      transform.Suite
	prf        transform.PRF
	keys       *transform.IKEKeys
	send, recv transform.Protector
	ni, nr     []byte
	initReq    []byte // the IKE_SA_INIT request, for the initiator's AUTH
	initResp   []byte // the IKE_SA_INIT response, for the responder's AUTH
	peerHashes []message.HashAlgorithm

	nextOwnID  uint32 // message ID of our next request
	awaiting   bool   // our last request has no answer yet
	nextPeerID uint32 // message ID the peer's next request must have
	lastResp   []byte // our response to the peer's last request, sent again on a retransmit
	lastExtra  [][]byte
	extra      [][]byte // the fragments after the first of the datagram Handle just returned

	// Peer is the authenticated peer's name (certificate identity), set once established.
	Peer string
	// Lease is what the responder gave the client (nil for an initiator until established:
	// then it is what the gateway pushed).
	Lease *Lease
	// Child is the CHILD SA, set once established.
	Child *ChildSA
	// Rekeyed is the CHILD SA a rekey just created, until InstallRekeyed; OldChild is the one it
	// replaces, until the peer deletes it.
	Rekeyed, OldChild *ChildSA
	// RekeyedIKE is the IKE SA that replaced this one (EventIKERekeyed): it carries the CHILD SAs
	// on; this one only waits for the peer's Delete.
	RekeyedIKE *SA
	// Established is when the SA came up.
	Established time.Time
	// PeerCerts are the certificates the peer authenticated with, its own first, in DER (copies
	// of their exact size: an SA lives for hours, and a parsed certificate is several times
	// larger): the gateway checks them again when a revocation or a root removal may have made
	// them invalid.
	PeerCerts [][]byte
	// AuthMethod is how the peer authenticated: "certificate" (IKEv2 signature), "eap-tls"
	// (terminated by the gateway) or "radius" (EAP relayed to a RADIUS server).
	AuthMethod string
	// Grant is what the RADIUS server granted with its acceptance ("radius" only).
	Grant *Grant
	// Err is why the SA failed, for the log.
	Err error

	// initiator-only handshake state
	ke       transform.KeyExchange
	childSPI uint32
	cookie   []byte
	idi      *message.IDi
	local    netip.AddrPort
	remote   netip.AddrPort

	claimed      string           // the identity the client claimed (IDi, then its EAP identity)
	authSent     bool             // a refused IKE_AUTH still carried our AUTH (see Abandon)
	pendingRekey *pendingRekey    // our CHILD SA rekey request, until its answer
	pendingIKE   *pendingIKERekey // our IKE SA rekey request, until its answer

	eap *eapState // the EAP rounds of IKE_AUTH (responder)

	fragmentation bool        // both sides announced IKEV2_FRAGMENTATION_SUPPORTED
	mobike        bool        // both sides announced MOBIKE_SUPPORTED (RFC 4555)
	reasm         *reassembly // the fragmented message being reassembled
}

// Awaiting reports whether our last request (a liveness check, a Delete) is unanswered.
func (sa *SA) Awaiting() bool { return sa.awaiting }

// State returns the SA's state.
func (sa *SA) State() State { return sa.state }

// SPIs returns the initiator's and the responder's SPI.
func (sa *SA) SPIs() (spiI, spiR uint64) { return sa.spiI, sa.spiR }

// IsInitiator reports whether we are the original initiator of this IKE SA: we started the
// handshake, or the rekey that created it (RFC 7296 §2.8).
func (sa *SA) IsInitiator() bool { return sa.initiator }

// isGateway reports whether we are the gateway (the responder of the handshake), whichever
// side started the rekey that made this SA.
func (sa *SA) isGateway() bool { return sa.resp != nil }

// LocalSPI returns our SPI of the SA: the one the peer's messages carry for us.
func (sa *SA) LocalSPI() uint64 {
	if sa.initiator {
		return sa.spiI
	}
	return sa.spiR
}

// LocalSPIOf returns the SPI that identifies our SA in a message from the peer: the responder's
// SPI of a message the original initiator sent, the initiator's SPI of one the responder sent.
func LocalSPIOf(h message.Header) uint64 {
	if h.IsInitiator() {
		return h.SPIr
	}
	return h.SPIi
}

// Suite returns the IKE SA's algorithms.
func (sa *SA) Suite() transform.Suite { return sa.suite }

// deriveKeys computes the IKE SA's keys once the nonces, SPIs and the shared secret are known.
func (sa *SA) deriveKeys(gir []byte) error {
	keys, err := transform.DeriveIKEKeys(sa.suite, sa.ni, sa.nr, gir, sa.spiI, sa.spiR)
	if err != nil {
		return err
	}
	return sa.setKeys(keys)
}

// setKeys makes keys the SA's keys.
func (sa *SA) setKeys(keys *transform.IKEKeys) error {
	// Checks the keys and the suite; the protectors are then made per message (onDemand).
	if _, _, err := keys.Protectors(sa.suite, sa.initiator); err != nil {
		return err
	}
	prf, err := transform.NewPRF(sa.suite.PRF)
	if err != nil {
		return err
	}
	keys.SKEYSEED = nil // derived from; not needed again (a rekey starts from SK_d)
	iToR := &onDemand{suite: sa.suite, enc: keys.SKei, integ: keys.SKai}
	rToI := &onDemand{suite: sa.suite, enc: keys.SKer, integ: keys.SKar}
	if sa.initiator {
		sa.send, sa.recv = iToR, rToI
	} else {
		sa.send, sa.recv = rToI, iToR
	}
	sa.keys, sa.prf = keys, prf
	return nil
}

// onDemand is an IKE SA's Protector for one direction, made afresh for each message from the
// keys: an IKE SA protects a message every few seconds at most, while a cipher kept ready (AES
// round keys, GHASH tables) is half a kilobyte per direction for the hours the SA lives, in a
// gateway with an SA per client. Making one is a key expansion, well under a microsecond.
type onDemand struct {
	suite      transform.Suite
	enc, integ []byte
}

func (p *onDemand) protector() transform.Protector {
	pr, err := transform.NewProtector(p.suite, p.enc, p.integ)
	if err != nil {
		panic("ike: keys that setKeys accepted no longer make a protector: " + err.Error())
	}
	return pr
}

func (p *onDemand) SealedLen(n int) int { return p.protector().SealedLen(n) }

func (p *onDemand) Seal(dst, plaintext, aad []byte, rand io.Reader) ([]byte, error) {
	return p.protector().Seal(dst, plaintext, aad, rand)
}

func (p *onDemand) Open(dst, body, aad []byte) ([]byte, error) {
	return p.protector().Open(dst, body, aad)
}

// header returns the IKE header of a message of ours.
func (sa *SA) header(ex message.ExchangeType, response bool, id uint32) message.Header {
	h := message.Header{SPIi: sa.spiI, SPIr: sa.spiR, Exchange: ex, MessageID: id}
	if sa.initiator {
		h.Flags |= message.FlagInitiator
	}
	if response {
		h.Flags |= message.FlagResponse
	}
	return h
}

// seal builds an encrypted message: header, SK payload, the payloads encrypted.
func (sa *SA) seal(h message.Header, ps []message.Payload) ([]byte, error) {
	if len(ps) == 0 {
		return sa.sealPlain(h, message.PayloadNone, nil)
	}
	plain, err := message.AppendPayloads(nil, ps)
	if err != nil {
		return nil, err
	}
	return sa.sealPlain(h, ps[0].Type(), plain)
}

// fragmentLimit is the largest IKE message we send unfragmented to a peer that negotiated
// fragmentation: with IPv4, UDP and the non-ESP marker it fits a 1280-octet path.
const fragmentLimit = 1200

// maxFragmentPlain is the plaintext one of our fragments carries: the limit less the SKF
// header, and the IV, padding and ICV of the largest transform.
const maxFragmentPlain = fragmentLimit - message.SKFBodyOffset - 16 - 16 - 16

// Extra returns the datagrams that follow the one Handle just returned: the other fragments of
// a fragmented answer (RFC 7383). Send them after it, in order.
func (sa *SA) Extra() [][]byte { return sa.extra }

func (sa *SA) sealPlain(h message.Header, first message.PayloadType, plain []byte) ([]byte, error) {
	if sa.fragmentation && h.IsResponse() && message.SKBodyOffset+sa.send.SealedLen(len(plain)) > fragmentLimit {
		ps, err := message.DecodePayloads(first, plain)
		if err != nil {
			return nil, err
		}
		frags, err := sa.sealFragments(h, ps, maxFragmentPlain)
		if err != nil {
			return nil, err
		}
		sa.extra = frags[1:]
		return frags[0], nil
	}
	msg, err := message.AppendSKHeader(nil, h, first, sa.send.SealedLen(len(plain)))
	if err != nil {
		return nil, err
	}
	return sa.send.Seal(msg, plain, msg, sa.rand)
}

// open decrypts an encrypted message and decodes its payloads.
func (sa *SA) open(datagram []byte) (message.Header, message.Payloads, error) {
	s, err := message.DecodeSealed(datagram)
	if err != nil {
		return message.Header{}, nil, err
	}
	if s.Fragment {
		ps, err := sa.addFragment(s, datagram)
		return s.Header, ps, err
	}
	if len(s.Outer) > 0 {
		return s.Header, nil, fmt.Errorf("%w: unencrypted payloads before SK", ErrUnexpected)
	}
	plain, err := sa.recv.Open(nil, s.Body, datagram[:s.BodyOffset])
	if err != nil {
		return s.Header, nil, fmt.Errorf("ike: decrypt %s message %d: %w", s.Header.Exchange, s.Header.MessageID, err)
	}
	ps, err := message.DecodePayloads(s.Inner, plain)
	if err != nil {
		return s.Header, nil, &malformedError{err}
	}
	return s.Header, ps, nil
}

// malformedError is an authentic message (it decrypted) whose payloads do not decode: the
// peer gets an answer (RFC 7296 §2.21.2), unlike for a message that fails to authenticate.
type malformedError struct{ err error }

func (e *malformedError) Error() string { return e.err.Error() }
func (e *malformedError) Unwrap() error { return e.err }

// natHash is the NAT_DETECTION_*_IP data: SHA-1(SPIi | SPIr | IP | port) (RFC 7296 §2.23).
func natHash(spiI, spiR uint64, ap netip.AddrPort) []byte {
	h := sha1.New()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], spiI)
	h.Write(b[:])
	binary.BigEndian.PutUint64(b[:], spiR)
	h.Write(b[:])
	h.Write(ap.Addr().Unmap().AsSlice())
	binary.BigEndian.PutUint16(b[:2], ap.Port())
	h.Write(b[:2])
	return h.Sum(nil)
}

// nonceLen is the length of our nonces: at least half the PRF's key size and 16 octets
// (RFC 7296 §2.10); 32 covers every PRF we offer.
const nonceLen = 32

func randomBytes(r io.Reader, n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

func randomSPI(r io.Reader) (uint64, error) {
	for {
		b, err := randomBytes(r, 8)
		if err != nil {
			return 0, err
		}
		if v := binary.BigEndian.Uint64(b); v != 0 {
			return v, nil
		}
	}
}

func orRand(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}

func orNow(f func() time.Time) func() time.Time {
	if f == nil {
		return time.Now
	}
	return f
}

// ClaimedIdentity is who the client said it was — its IKE identity, then its EAP identity once
// it gave one — whether or not it proved it: for logging a refusal. It is "" before IKE_AUTH.
func (sa *SA) ClaimedIdentity() string { return sa.claimed }

// certDER returns copies of the DER of leaf and then inter.
func certDER(leaf *x509.Certificate, inter []*x509.Certificate) [][]byte {
	out := make([][]byte, 0, 1+len(inter))
	for _, c := range append([]*x509.Certificate{leaf}, inter...) {
		out = append(out, bytes.Clone(c.Raw))
	}
	return out
}

package radius

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"layeh.com/radius"
)

// The Codes of an answer to an Access-Request, re-exported so callers need not import
// layeh.com/radius under another name.
const (
	CodeAccessAccept    = radius.CodeAccessAccept
	CodeAccessReject    = radius.CodeAccessReject
	CodeAccessChallenge = radius.CodeAccessChallenge
)

// Attribute defaults (RFC 2865 §5.6, §5.41).
const (
	NASPortTypeVirtual = 5 // NAS-Port-Type Virtual
	ServiceTypeFramed  = 2 // Service-Type Framed
)

const maxPassword = 128 // the longest User-Password (RFC 2865 §5.2)

var accessAnswers = []radius.Code{radius.CodeAccessAccept, radius.CodeAccessReject, radius.CodeAccessChallenge}

// Request is one Access-Request's content. Exactly one credential is set: EAPMessage,
// Password, or MS-CHAPv2 (MSCHAPChallenge with MSCHAP2Response).
type Request struct {
	UserName   string
	EAPMessage []byte // one EAP packet; split into EAP-Message attributes of ≤253 octets
	Password   []byte // PAP User-Password (RFC 2865 §5.2 hiding), when no EAPMessage
	// MSCHAPChallenge (16 octets, our authenticator challenge) and MSCHAP2Response (50 octets:
	// Ident, Flags, Peer-Challenge 16, Reserved 8, NT-Response 24) relay a PPP MS-CHAPv2 response
	// (RFC 2548); the answer's MSCHAP2Success or MSCHAPError says how it went.
	MSCHAPChallenge, MSCHAP2Response []byte
	CallingStationID                 string // the client's public address, e.g. "198.18.1.1"
	NASPortType                      uint32 // 0 → NASPortTypeVirtual
	ServiceType                      uint32 // 0 → ServiceTypeFramed
	// State is not here: the Conversation echoes the State of the last Access-Challenge.
}

// Response is an authentic answer to an Access-Request. It shares no memory with the
// datagram or the Request.
type Response struct {
	Code       radius.Code // CodeAccessAccept, CodeAccessReject or CodeAccessChallenge
	Server     string      // the Address that answered
	EAPMessage []byte      // the EAP-Message attributes joined; nil if none
	// MSK is MS-MPPE-Recv-Key ‖ MS-MPPE-Send-Key, decrypted (RFC 2548 §2.4.2), on an Accept
	// that carries both; nil otherwise. After EAP each key is 32 octets; the caller checks the
	// length it needs.
	MSK      []byte
	FramedIP netip.Addr // Framed-IP-Address; invalid if absent or "NAS/user chooses"
	// SessionTimeout is Session-Timeout, 0 if absent: on an Accept, the session's maximum
	// length; on a Challenge, how long to wait for the client's reply (RFC 3579 §2.6.1).
	SessionTimeout time.Duration
	Class          [][]byte // every Class attribute, in order (echo them in accounting)
	ReplyMessage   []string // every Reply-Message
	// MSCHAP2Success is MS-CHAP2-Success on an Accept to MS-CHAPv2: Ident, then "S=<40 hex>";
	// MSCHAPError is MS-CHAP-Error on a Reject: Ident, then "E=691 R=0 …".
	MSCHAP2Success, MSCHAPError []byte
}

// Conversation is one client's authentication, which may take several Access-Request /
// Access-Challenge rounds (an EAP relay). Its first request goes to the servers in priority
// order; every later one echoes the State of the last Access-Challenge and goes to the server
// that answered the first, with no failover (only that server knows the State), even after a
// Reconfigure has dropped that server.
//
// A Conversation is not safe for concurrent use; its rounds are sequential anyway. It ends
// with an Access-Accept or Access-Reject. After an error it may be tried again: the next
// Exchange resends to the same server (or, if no server ever answered, to all of them again).
type Conversation struct {
	c      *Client
	server *server // nil until a server answers
	state  []byte  // the State of the last Access-Challenge
	ended  bool
}

// NewConversation starts a client's authentication.
func (c *Client) NewConversation() *Conversation { return &Conversation{c: c} }

// Exchange sends req and returns the authentic answer, which may be a Reject. It fails with
// ErrRequest or ErrConversationEnded before sending anything; in the first round, when no
// server gives a usable answer, with errors.Join of each server's ErrNoAnswer or ErrMalformed;
// in later rounds with the one server's; and with ctx's error, wrapped, when ctx is done.
func (cv *Conversation) Exchange(ctx context.Context, req Request) (*Response, error) {
	if cv.ended {
		return nil, ErrConversationEnded
	}
	if err := req.check(); err != nil {
		return nil, err
	}
	st := cv.c.settings()
	var resp *Response
	var state []byte
	var err error
	if cv.server != nil {
		resp, state, err = cv.c.access(ctx, st, cv.server, req, cv.state)
	} else {
		resp, state, err = cv.first(ctx, st, req)
	}
	if err != nil {
		return nil, err
	}
	// A Challenge without State makes the next request carry none (RFC 2865 §5.24).
	cv.state = state
	cv.ended = resp.Code != radius.CodeAccessChallenge
	return resp, nil
}

// holdOff is how long a server that just failed waits at the back of the line: while it is
// down, new conversations try the others first instead of each waiting out its timeouts. It is
// still tried, last, and its first answer brings it back to its place.
const holdOff = 30 * time.Second

// accessOrder is the order a new conversation tries st's servers: by priority, with the ones
// that failed within holdOff moved to the end (in priority order among themselves).
func accessOrder(st *settings) []*server {
	now := time.Now()
	out := make([]*server, 0, len(st.servers))
	var held []*server
	for _, s := range st.servers {
		if s.heldOff(now) {
			held = append(held, s)
		} else {
			out = append(out, s)
		}
	}
	return append(out, held...)
}

// first sends the first request of a conversation to st's servers in turn.
func (cv *Conversation) first(ctx context.Context, st *settings, req Request) (*Response, []byte, error) {
	var errs []error
	servers := accessOrder(st)
	for i, s := range servers {
		resp, state, err := cv.c.access(ctx, st, s, req, nil)
		if err == nil {
			cv.server = s
			return resp, state, nil
		}
		if ctx.Err() != nil || errors.Is(err, ErrRequest) {
			return nil, nil, err
		}
		errs = append(errs, err)
		if i+1 < len(servers) {
			cv.c.log.Info("RADIUS failover", "from", s.Address, "to", servers[i+1].Address)
		}
	}
	return nil, nil, errors.Join(errs...)
}

// access sends one Access-Request to s, carrying state if not nil, and decodes its answer
// and the State it carries.
func (c *Client) access(ctx context.Context, st *settings, s *server, req Request, state []byte) (*Response, []byte, error) {
	x := exchange{
		addr:   s.Address,
		kind:   kindAccess,
		codes:  accessAnswers,
		needMA: true,
		build: func(id byte) ([]byte, sent, error) {
			r := sent{id: id, auth: newAuthenticator()}
			b, err := buildAccessRequest(r, s.Secret, st.nasID, req, state)
			return b, r, err
		},
	}
	r, err := c.roundTrip(ctx, st, s, x)
	if err != nil {
		return nil, nil, err
	}
	resp, newState, err := decodeAccess(r.b, &r.req.auth, s.Secret)
	if err != nil {
		s.failed(err.Error(), false, true)
		c.log.Warn("RADIUS answer malformed", "server", s.Address, "err", err)
		return nil, nil, fmt.Errorf("%w (from %s)", err, s.Address)
	}
	resp.Server = s.Address
	return resp, newState, nil
}

func (r *Request) check() error {
	creds := 0
	for _, set := range []bool{len(r.EAPMessage) > 0, len(r.Password) > 0, len(r.MSCHAPChallenge) > 0 || len(r.MSCHAP2Response) > 0} {
		if set {
			creds++
		}
	}
	switch {
	case creds > 1:
		return fmt.Errorf("%w: more than one of an EAP message, a password and an MS-CHAPv2 response", ErrRequest)
	case creds == 0:
		return fmt.Errorf("%w: neither an EAP message nor a password nor an MS-CHAPv2 response", ErrRequest)
	case (len(r.MSCHAPChallenge) > 0 || len(r.MSCHAP2Response) > 0) && (len(r.MSCHAPChallenge) != 16 || len(r.MSCHAP2Response) != 50):
		return fmt.Errorf("%w: MS-CHAPv2 needs a 16-octet challenge and a 50-octet response (got %d and %d)", ErrRequest, len(r.MSCHAPChallenge), len(r.MSCHAP2Response))
	case len(r.Password) > maxPassword:
		return fmt.Errorf("%w: password longer than %d octets", ErrRequest, maxPassword)
	case len(r.UserName) > maxAttrValue || len(r.CallingStationID) > maxAttrValue:
		return fmt.Errorf("%w: user name or calling station id longer than %d octets", ErrRequest, maxAttrValue)
	}
	return nil
}

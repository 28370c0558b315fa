package radius

import (
	"sync"
	"time"
)

// health is what the client last saw of a server.
type health uint8

const (
	healthUnknown health = iota // never asked
	healthUp                    // the last request got an authentic answer
	healthDown                  // the last request went unanswered, or was answered wrongly
)

func (h health) String() string {
	switch h {
	case healthUp:
		return "up"
	case healthDown:
		return "down"
	}
	return "unknown"
}

// ServerStatus is one server's health and counters, for `p2sgw status`. Accounting requests
// count alongside access requests.
type ServerStatus struct {
	Address, AcctAddress string
	Priority             int
	State                string    // "unknown" (never asked), "up" or "down"
	LastError            string    // the most recent failure or dropped answer, even if up since
	LastOK               time.Time // when the last authentic answer arrived; zero if none has
	// Requests counts requests sent (a retransmission is not another request); Timeouts the
	// requests that got no authentic answer within their tries; BadResponses the datagrams
	// dropped as not authentic, and authentic answers with malformed attributes.
	Requests, Timeouts, BadResponses uint64
}

// Status returns every server's status, in the order servers are tried. It is safe to call at
// any time, also after Close.
func (c *Client) Status() []ServerStatus {
	out := make([]ServerStatus, 0, len(c.servers))
	for _, s := range c.servers {
		out = append(out, s.status())
	}
	return out
}

// server is one configured server and what the client saw of it.
type server struct {
	Server // immutable after New

	mu           sync.Mutex // guards the fields below
	health       health
	failedAt     time.Time // when health last went down
	lastErr      string
	lastOK       time.Time
	requests     uint64
	timeouts     uint64
	badResponses uint64
}

func (s *server) status() ServerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ServerStatus{
		Address:      s.Address,
		AcctAddress:  s.AcctAddress,
		Priority:     s.Priority,
		State:        s.health.String(),
		LastError:    s.lastErr,
		LastOK:       s.lastOK,
		Requests:     s.requests,
		Timeouts:     s.timeouts,
		BadResponses: s.badResponses,
	}
}

// heldOff reports whether the server failed within holdOff of now.
func (s *server) heldOff(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.health == healthDown && now.Sub(s.failedAt) < holdOff
}

// sentRequest counts a request about to be sent.
func (s *server) sentRequest() {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()
}

// answered records an authentic answer.
func (s *server) answered(now time.Time) {
	s.mu.Lock()
	s.health = healthUp
	s.lastOK = now
	s.mu.Unlock()
}

// dropped records a datagram dropped while waiting; the request goes on waiting, so the
// health is left to how it ends.
func (s *server) dropped(why string) {
	s.mu.Lock()
	s.badResponses++
	s.lastErr = why
	s.mu.Unlock()
}

// failed records a request that ended without a usable answer. timeout says no authentic
// answer came within the tries; otherwise the server could not be reached, or its authentic
// answer was malformed (and counted as a bad response).
func (s *server) failed(why string, timeout, malformed bool) {
	s.mu.Lock()
	s.health = healthDown
	s.failedAt = time.Now()
	s.lastErr = why
	if timeout {
		s.timeouts++
	}
	if malformed {
		s.badResponses++
	}
	s.mu.Unlock()
}

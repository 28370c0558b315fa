package radius

import (
	"bytes"
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

// Status returns the status of every server of the current configuration, in the order they
// are tried. It is safe to call at any time, also after Close.
func (c *Client) Status() []ServerStatus {
	st := c.settings()
	out := make([]ServerStatus, 0, len(st.servers))
	for i, s := range st.servers {
		ss := s.status()
		ss.Priority = st.priority[i]
		out = append(out, ss)
	}
	return out
}

// endpoint is where a server is and the secret it shares: what Reconfigure compares to decide
// whether a configured server is one already running.
type endpoint struct {
	Address, AcctAddress string
	Secret               []byte
}

// server is one configured server and what the client saw of it. Its priority is not here but
// in the settings, since a Reconfigure may change it.
type server struct {
	endpoint // immutable

	mu           sync.Mutex // guards the fields below
	health       health
	failedAt     time.Time // when health last went down
	lastErr      string
	lastOK       time.Time
	requests     uint64
	timeouts     uint64
	badResponses uint64
}

// newServer returns a server that was never asked, with its own copy of the secret.
func newServer(srv Server) *server {
	return &server{endpoint: endpoint{Address: srv.Address, AcctAddress: srv.AcctAddress, Secret: bytes.Clone(srv.Secret)}}
}

// status is s's ServerStatus but for the Priority, which is the settings'.
func (s *server) status() ServerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ServerStatus{
		Address:      s.Address,
		AcctAddress:  s.AcctAddress,
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

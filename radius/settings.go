package radius

import (
	"bytes"
	"cmp"
	"slices"
	"time"
)

// settings is one configuration of a running Client: New makes the first, each Reconfigure
// the next. Nothing in it changes once it is published (the servers' health does, under
// their own lock), so a request that loads it once sees one consistent configuration however
// many Reconfigures run meanwhile.
type settings struct {
	servers  []*server // in the order they are tried
	priority []int     // the configured Priority of servers[i], for Status
	acct     []*server // the servers with an AcctAddress, in the order they are tried
	nasID    string
	timeout  time.Duration
	retries  int

	// replaced is closed when Reconfigure replaces these settings, so that the accounting
	// worker, waiting between rounds, goes on to the new servers at once.
	replaced chan struct{}
}

// newSettings builds the settings of a valid cfg. A server of old (nil for New) with the same
// endpoint as one of cfg's is taken over rather than made afresh, each at most once; kept
// counts those.
func newSettings(cfg *Config, old *settings) (st *settings, kept int) {
	type slot struct {
		s        *server
		priority int
	}
	slots := make([]slot, 0, len(cfg.Servers))
	var taken []bool // by index in old.servers
	if old != nil {
		taken = make([]bool, len(old.servers))
	}
	for _, srv := range cfg.Servers {
		s := old.take(srv, taken)
		if s != nil {
			kept++
		} else {
			s = newServer(srv)
		}
		slots = append(slots, slot{s, srv.Priority})
	}
	slices.SortStableFunc(slots, func(a, b slot) int { return cmp.Compare(a.priority, b.priority) })

	st = &settings{
		nasID:    cmp.Or(cfg.NASIdentifier, DefaultNASIdentifier),
		timeout:  cmp.Or(cfg.Timeout, DefaultTimeout),
		retries:  cfg.Retries,
		servers:  make([]*server, 0, len(slots)),
		priority: make([]int, 0, len(slots)),
		replaced: make(chan struct{}),
	}
	for _, sl := range slots {
		st.servers = append(st.servers, sl.s)
		st.priority = append(st.priority, sl.priority)
		if sl.s.AcctAddress != "" {
			st.acct = append(st.acct, sl.s)
		}
	}
	return st, kept
}

// take returns the first server of st not yet taken whose endpoint is srv's, and marks it
// taken; nil if there is none (or st is nil).
func (st *settings) take(srv Server, taken []bool) *server {
	if st == nil {
		return nil
	}
	for i, s := range st.servers {
		if !taken[i] && s.Address == srv.Address && s.AcctAddress == srv.AcctAddress && bytes.Equal(s.Secret, srv.Secret) {
			taken[i] = true
			return s
		}
	}
	return nil
}

// Reconfigure validates cfg as New does, failing with the same ErrConfig errors and changing
// nothing when it is invalid, and otherwise applies cfg's Servers, NASIdentifier, Timeout and
// Retries to the running client. cfg's Log, Dial and Observe are ignored: the ones New was
// given stay. The Servers are copied, Secrets included.
//
// A server of cfg with the same Address, AcctAddress and Secret as a running one is that
// server still: its health, hold-off and counters carry over, and only its Priority may
// change. The others start afresh; running servers that cfg does not list disappear from
// Status.
//
// A request under way finishes with the configuration it started with, and a Conversation
// that has its server keeps it for its later rounds even if cfg drops it, since only that
// server knows the State (those rounds take cfg's NASIdentifier, Timeout and Retries). New
// Conversations use cfg's servers. Accounting records, queued or in flight, go on to cfg's
// accounting servers: one in flight to a server that cfg drops is abandoned there and sent to
// the new ones at once. If cfg has no accounting server, the queued records wait for a later
// Reconfigure that brings one (or for Close to give up on them), and Account discards new
// ones meanwhile.
//
// Reconfigure is safe to call concurrently with every other method, also after Close.
func (c *Client) Reconfigure(cfg Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	c.reconfMu.Lock()
	defer c.reconfMu.Unlock()
	old := c.settings()
	next, kept := newSettings(&cfg, old)
	c.cur.Store(next)
	close(old.replaced)
	c.acct.reconfigured(next)
	c.log.Info("RADIUS configuration applied", "servers", len(next.servers), "kept", kept,
		"added", len(next.servers)-kept, "removed", len(old.servers)-kept)
	return nil
}

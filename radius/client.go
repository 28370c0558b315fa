package radius

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults and bounds of Config.
const (
	DefaultTimeout       = 5 * time.Second
	DefaultNASIdentifier = "p2sgw"
	maxRetries           = 100 // keeps the Identifiers of one socket's tries distinct
)

// Server is one RADIUS server.
type Server struct {
	Address     string // host:port for Access-Request (auth), e.g. "10.1.0.4:1812"
	AcctAddress string // host:port for Accounting-Request; empty: not used for accounting
	Secret      []byte // the shared secret; must not be empty
	Priority    int    // lower is tried first; equal priorities keep config order
}

// Config configures a Client.
type Config struct {
	Servers       []Server
	NASIdentifier string        // sent in every request; empty → DefaultNASIdentifier
	Timeout       time.Duration // per try; 0 → DefaultTimeout
	Retries       int           // tries after the first on the same server (0 to 100); 0: one try
	Log           *slog.Logger  // nil → discard

	// Dial opens the UDP "connection" to a server; nil → net.Dialer.DialContext with "udp".
	// Each request to a server gets its own connection, closed when the request is done. If
	// the connection has a ReadFrom method (as *net.UDPConn has), answers from any other
	// address than its RemoteAddr are dropped.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)

	// Observe, if not nil, is called once per authentic answer with the address the request
	// went to (the Server's Address or AcctAddress), the kind of request ("access" or
	// "accounting"), and the time from the request's first transmission to the answer,
	// retransmissions included. An answer whose attributes turn out malformed is observed
	// too; a request that gets no authentic answer is not (Status counts it as a timeout).
	// It runs on the goroutine that made the request, before the request returns, possibly
	// on several goroutines at once: it must be safe for concurrent use, and quick.
	Observe func(server string, kind string, d time.Duration)
}

// Client talks to the configured RADIUS servers. Its methods are safe for concurrent use.
type Client struct {
	log     *slog.Logger
	dial    func(ctx context.Context, network, address string) (net.Conn, error)
	observe func(server string, kind string, d time.Duration) // nil: nothing to call
	acct    *accounting

	// cur is the current configuration, replaced whole by Reconfigure. A request loads it
	// once and uses that snapshot throughout.
	cur atomic.Pointer[settings]

	reconfMu sync.Mutex // serializes Reconfigure, so each builds on the settings it replaces
}

// New validates cfg and returns a Client whose accounting worker is running; call Close to stop
// it. The Servers are copied, Secrets included. Reconfigure changes the Servers,
// NASIdentifier, Timeout and Retries later; Log, Dial and Observe stay as given here.
func New(cfg Config) (*Client, error) {
	return newClient(cfg, defaultQueueLen)
}

// newClient is New with an accounting queue of queueLen records.
func newClient(cfg Config, queueLen int) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Client{
		log:     cfg.Log,
		dial:    cfg.Dial,
		observe: cfg.Observe,
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.dial == nil {
		var d net.Dialer
		c.dial = d.DialContext
	}
	st, _ := newSettings(&cfg, nil)
	c.cur.Store(st)
	c.acct = newAccounting(c, queueLen)
	return c, nil
}

// settings returns the current configuration; see Client.cur.
func (c *Client) settings() *settings { return c.cur.Load() }

func (cfg *Config) validate() error {
	if len(cfg.Servers) == 0 {
		return fmt.Errorf("%w: no RADIUS server configured", ErrConfig)
	}
	if cfg.Timeout < 0 {
		return fmt.Errorf("%w: timeout %v is negative", ErrConfig, cfg.Timeout)
	}
	if cfg.Retries < 0 || cfg.Retries > maxRetries {
		return fmt.Errorf("%w: retries %d: want 0 to %d", ErrConfig, cfg.Retries, maxRetries)
	}
	if len(cfg.NASIdentifier) > maxAttrValue {
		return fmt.Errorf("%w: NAS identifier longer than %d octets", ErrConfig, maxAttrValue)
	}
	for i, s := range cfg.Servers {
		if err := checkHostPort(s.Address); err != nil {
			return fmt.Errorf("%w: RADIUS server %d: address %q: %v", ErrConfig, i+1, s.Address, err)
		}
		if s.AcctAddress != "" {
			if err := checkHostPort(s.AcctAddress); err != nil {
				return fmt.Errorf("%w: RADIUS server %s: accounting address %q: %v", ErrConfig, s.Address, s.AcctAddress, err)
			}
		}
		if len(s.Secret) == 0 {
			return fmt.Errorf("%w: RADIUS server %s has no shared secret", ErrConfig, s.Address)
		}
	}
	return nil
}

// checkHostPort accepts host:port with a non-empty host and a port from 1 to 65535.
func checkHostPort(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return err
	}
	if host == "" {
		return errors.New("no host")
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return nil
}

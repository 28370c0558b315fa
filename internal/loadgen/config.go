package loadgen

import (
	"crypto/x509"
	"fmt"
	"net/netip"
	"time"

	"github.com/p2sgw/p2sgw/ike"
	"github.com/p2sgw/p2sgw/ike/transform"
	"github.com/p2sgw/p2sgw/netio"
	"github.com/p2sgw/p2sgw/pki"
)

// Defaults for the zero fields of a Config.
const (
	DefaultConcurrency = 64
	// DefaultPerSource stays under the gateway's half-open limit per source address (5, as
	// strongSwan's block_threshold): one handshake that the gateway still counts for a moment
	// after we saw its answer must not get the next one dropped.
	DefaultPerSource    = 4
	DefaultTrafficWait  = 3 * time.Second
	DefaultTeardownRate = 5000
)

// DefaultRetransmit are the waits after each transmission of a request: it is sent at 0, 1, 3
// and 7 s and given up at 15 s.
var DefaultRetransmit = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}

// Config is one run of the generator. The zero values of the optional fields take the
// defaults above.
type Config struct {
	// Gateway is the gateway's address; IKEPort (500) and NATTPort (4500) its ports.
	Gateway           netip.Addr
	IKEPort, NATTPort uint16
	// ServerName is the identity the gateway's certificate must carry; Roots verify it.
	ServerName string
	Roots      *x509.CertPool
	// Identities are the client credentials, used round-robin (see MintIdentities).
	Identities []ike.Identity
	// Group is the key exchange offered (and sent in KEi): DHCurve25519 or DHECP256, say.
	Group transform.DHGroup

	// Sources are the addresses to send from, one socket each; none means one socket on any
	// address. They must be configured on an interface of the host.
	Sources []netip.Addr
	// Sessions is how many sessions to open.
	Sessions int
	// Concurrency is the most handshakes in flight; PerSource the most per source address.
	// Workers beyond len(Sources)·PerSource are not started.
	Concurrency, PerSource int
	// Rate, if positive, is the most handshakes started per second.
	Rate float64
	// Retransmit are the waits after each transmission of a request; the last ends the
	// handshake.
	Retransmit []time.Duration

	// Traffic is how many ICMP echo requests each session sends through its CHILD SA to
	// TrafficTo once the ramp is done (0: none); replies are awaited TrafficWait.
	Traffic     int
	TrafficTo   netip.Addr
	TrafficWait time.Duration
	// Hold is how long to keep the sessions open after the ramp, answering the gateway's
	// liveness checks.
	Hold time.Duration
	// Teardown deletes the sessions at the end, at most TeardownRate per second.
	Teardown     bool
	TeardownRate float64

	// Listen opens the socket of a source address; nil means netio.Listen.
	Listen func(local netip.AddrPort) (netio.Conn, error)
	// Progress, if set, is called about once a second from one goroutine while the generator
	// runs.
	Progress func(Progress)
}

// Progress is where a run is, for a progress line.
type Progress struct {
	Phase       Phase
	Elapsed     time.Duration // since the phase began
	Established int64         // sessions up now
	Failed      int64         // handshakes failed so far
	InFlight    int64         // handshakes under way
	Liveness    int64         // the gateway's liveness checks answered so far
}

// Phase is a stage of a run.
type Phase int

// Phases.
const (
	PhaseRamp Phase = iota
	PhaseTraffic
	PhaseHold
	PhaseTeardown
)

var phaseNames = [...]string{"ramp", "traffic", "hold", "teardown"}

func (p Phase) String() string {
	if p < 0 || int(p) >= len(phaseNames) {
		return fmt.Sprintf("Phase(%d)", int(p))
	}
	return phaseNames[p]
}

// withDefaults returns c with the defaults filled in, or why it cannot run.
func (c Config) withDefaults() (Config, error) {
	switch {
	case !c.Gateway.Is4():
		return c, fmt.Errorf("%w: the gateway needs an IPv4 address", ErrConfig)
	case c.Sessions < 1:
		return c, fmt.Errorf("%w: at least one session", ErrConfig)
	case len(c.Identities) == 0:
		return c, fmt.Errorf("%w: no client certificate", ErrConfig)
	case c.Roots == nil:
		return c, fmt.Errorf("%w: no root to verify the gateway's certificate", ErrConfig)
	case c.Traffic > 0 && !c.TrafficTo.Is4():
		return c, fmt.Errorf("%w: traffic needs an IPv4 address to ping", ErrConfig)
	case c.Concurrency < 0 || c.PerSource < 0 || c.Traffic < 0 || c.Rate < 0:
		return c, fmt.Errorf("%w: negative concurrency, rate or traffic", ErrConfig)
	}
	if _, err := transform.NewKeyExchange(c.Group, nil); err != nil {
		return c, fmt.Errorf("%w: group %s: %v", ErrConfig, c.Group, err)
	}
	if c.IKEPort == 0 {
		c.IKEPort = 500
	}
	if c.NATTPort == 0 {
		c.NATTPort = 4500
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.PerSource == 0 {
		c.PerSource = DefaultPerSource
	}
	if len(c.Retransmit) == 0 {
		c.Retransmit = DefaultRetransmit
	}
	if c.TrafficWait == 0 {
		c.TrafficWait = DefaultTrafficWait
	}
	if c.TeardownRate <= 0 {
		c.TeardownRate = DefaultTeardownRate
	}
	if c.Listen == nil {
		c.Listen = func(local netip.AddrPort) (netio.Conn, error) { return netio.Listen(local.String(), readBatch) }
	}
	return c, nil
}

// proposals are what the generator offers: AES-GCM-16-256 with PRF-HMAC-SHA2-256 and group
// for the IKE SA, AES-GCM-16-256 without ESN for the CHILD SA.
func proposals(group transform.DHGroup) (ikeP, espP []transform.Proposal) {
	ikeP = []transform.Proposal{{Number: 1, Protocol: transform.ProtocolIKE, Transforms: []transform.Transform{
		transform.EncrAESGCM16.Transform(256), transform.PRFHMACSHA256.Transform(), group.Transform(),
	}}}
	espP = []transform.Proposal{{Number: 1, Protocol: transform.ProtocolESP, Transforms: []transform.Transform{
		transform.EncrAESGCM16.Transform(256), transform.ESNNo.Transform(),
	}}}
	return ikeP, espP
}

// MintIdentities issues n client certificates (ECDSA P-256) from root, named
// "<prefix>-<i>@loadgen.invalid" for i = 1 … n.
func MintIdentities(root *pki.CA, n int, prefix string) ([]ike.Identity, error) {
	out := make([]ike.Identity, 0, n)
	for i := 1; i <= n; i++ {
		c, err := root.IssueClient(fmt.Sprintf("%s-%d@loadgen.invalid", prefix, i), pki.Options{Key: pki.KeyECDSAP256})
		if err != nil {
			return nil, err
		}
		out = append(out, ike.Identity{Chain: []*x509.Certificate{c.Cert}, Key: c.Key})
	}
	return out, nil
}
